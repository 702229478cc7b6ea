#pragma once
// Pairwise-sum metrics on cell sets already replicated on every rank of `comm` (internal; the
// public functions in metrics.hpp gather rank-local slices first). Pair work is split by
// global row blocks; results are bit-identical for any number of ranks (detail/distributed.hpp).
#include <mpi.h>

#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::metrics::detail {

// mean_{i,j} exp(-gamma ||a_i - b_j||^2) for each gamma (V-statistic, diagonal included when
// a and b are the same set: pass same = true to exploit symmetry).
std::vector<double> rbf_means(const Matrix& a, const Matrix& b, bool same, const std::vector<double>& gammas,
                              MPI_Comm comm);

// mean_{i,j} ||a_i - b_j|| (V-statistic).
double mean_distance(const Matrix& a, const Matrix& b, bool same, MPI_Comm comm);

double mmd_replicated(const Matrix& x, const Matrix& y, const std::vector<double>& gammas, MPI_Comm comm);
double energy_replicated(const Matrix& x, const Matrix& y, MPI_Comm comm);

}  // namespace cellot::metrics::detail
