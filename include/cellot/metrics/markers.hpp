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

// Per-feature mean and standard deviation (ddof 1) of a set of cells: what the SMD takes from
// each set, each feature's from that feature's column alone (two passes over the cells in
// order), so one set's moments can be computed once and paired with many others.
struct FeatureMoments {
  std::vector<double> mean, sd;
};
FeatureMoments feature_moments(const Matrix& cells);  // replicated input; at least one cell
// rank_markers of (control, treated) with the control's moments given: the same bits as
// rank_markers(control cells, treated) on one process.
std::vector<std::int64_t> rank_markers(const FeatureMoments& control, const Matrix& treated);

// Per-feature means of a set of cells (the moments kernel compute() uses, so a mean change
// formed here is the one pearson_delta scores). Replicated input; at least one cell.
std::vector<double> feature_means(const Matrix& cells);

// The "genes:" metrics (names.hpp marker_metric_names) of predictions decoded to the file's
// features, on the top-k marker genes. `genes` holds gene-space cells: predicted (decoded
// predictions, or the observed baseline's real cells), observed, optionally control (paired with
// the predictions) or control_mean, and markers ranking every gene (rank_markers on the training
// split's gene-space cells). For each k: the columns markers[0..k) of every matrix (and of the
// control mean) are taken, and "genes:<base>@k" is metrics::compute's <base> on that
// submatrix — pearson_delta over the k columns (= pearson_delta@k of the genes), direction_acc@k,
// r2_means, e_distance and energy of the k marker genes. Changes are measured from the control
// mean in gene space (as a user who loads the decoded predictions into scanpy measures them).
// k above the number of genes: unavailable (NaN). opts.names must be "genes:" names; opts' seed
// resamples as compute() does (the same cells for every k). Collective over opts.comm.
std::vector<Value> compute_on_markers(const Input& genes, const Options& opts);

// mean(cells) - reference, per feature: a perturbation's effect (mean change from control).
std::vector<double> mean_change(const Matrix& cells, const std::vector<double>& reference);

}  // namespace cellot::metrics
