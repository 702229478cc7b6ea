#pragma once
// The validation metric that selects a trained model's iterate (training.select_metric), lower
// is better. The reference selects with MMD at fixed RBF bandwidths, which saturates when the
// features are not at unit scale (every cross-kernel value ~0, so every iterate scores the
// same); the energy distance is scale-equivariant and cannot saturate, and MMD with
// median-heuristic bandwidths adapts its kernels to the data.
#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"

namespace cellot::metrics {

using SelectionMetric = std::function<double(const Matrix& predicted, const Matrix& observed)>;

// The metric of cfg.training.select_metric, collective over comm (the group training the
// model): energy (energy distance), mmd_median (MMD with gammas {1/4, 1/2, 1, 2, 4} / m, m the
// median squared distance between `reference` cells: the training cells in the model's space),
// mmd (cfg.metrics.mmd_gammas).
SelectionMetric selection_metric(const Config& cfg, const Matrix& reference, MPI_Comm comm);

// Median of the squared distances between pairs of (at most 512 evenly spaced) rows.
double median_squared_distance(const Matrix& cells);

}  // namespace cellot::metrics
