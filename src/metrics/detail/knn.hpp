#pragma once
// k-nearest-neighbour mixing (internal; streaming tile kernel in knn.cpp).
#include <mpi.h>

#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::metrics::detail {

// For each predicted cell, among its k nearest neighbours (squared Euclidean, ties broken by
// joint index: predicted cells first, then observed) in the joint set predicted + observed,
// itself excluded, the fraction that are predicted. Returns per k the mean over predicted
// cells; k is capped at N + M - 1. `per_cell` (optional): n_pred x ks.size(), row-major.
// Replicated inputs; rows split over comm by blocks, combined exactly.
std::vector<double> knn_mix(const Matrix& pred, const Matrix& obs, const std::vector<int>& ks, MPI_Comm comm,
                            std::vector<double>* per_cell = nullptr);

}  // namespace cellot::metrics::detail
