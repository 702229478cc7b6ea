#pragma once
// Marker features of a perturbation: the features ranked by |standardised mean difference|
// between treated and control *training* cells. pearson_delta@k and direction_acc@k score a
// prediction on the first k of them. Torch-free and Kokkos-free header.
//
// With an embedding (data.embedding), markers live in the decoded feature (gene) space: call
// rank_markers on the decoded (or original) training cells, and metrics::compute with the
// predictions decoded to that space and these markers in Input::markers.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/metrics/metrics.hpp"

namespace cellot::metrics {

// SMD_k = (mean_t[k] - mean_c[k]) / sqrt((var_t[k] + var_c[k]) / 2), variances with ddof 1
// (Cohen's d with the average of the two variances). A feature with zero pooled variance has
// |SMD| = inf when its means differ and 0 when they agree. Collective over comm (layout as in
// metrics::Options); every rank gets the same values.
std::vector<double> standardised_mean_difference(const Matrix& control, const Matrix& treated,
                                                 MPI_Comm comm = MPI_COMM_SELF, Layout layout = Layout::replicated);

// All feature indices by decreasing |SMD| (ties: lower index first), as
// numpy.argsort(-abs(smd), kind="stable"). Needs at least one cell in each set.
std::vector<std::int64_t> rank_markers(const Matrix& control, const Matrix& treated, MPI_Comm comm = MPI_COMM_SELF,
                                       Layout layout = Layout::replicated);

// Per-feature means of a set of cells (the moments kernel compute() uses, so a mean change
// formed here is the one pearson_delta scores). Replicated input; at least one cell.
std::vector<double> feature_means(const Matrix& cells);

// mean(cells) - reference, per feature: a perturbation's effect (mean change from control).
std::vector<double> mean_change(const Matrix& cells, const std::vector<double>& reference);

}  // namespace cellot::metrics
