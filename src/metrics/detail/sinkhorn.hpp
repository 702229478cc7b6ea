#pragma once
// Sinkhorn on cell sets replicated on every rank (internal; see sinkhorn.cpp).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/metrics/metrics.hpp"

namespace cellot::metrics::detail {

struct SinkhornSettings {
  double epsilon = 0.5;
  double tol = 1e-9;
  int max_iter = 10000;
  std::int64_t cache_bytes = kSinkhornCacheBytes;
};

SinkhornResult sinkhorn_replicated(const Matrix& x, const Matrix& y, const SinkhornSettings& s, MPI_Comm comm,
                                   const std::vector<double>* f0 = nullptr, const std::vector<double>* g0 = nullptr);

struct SinkhornDivergence {
  double value = 0;
  SinkhornResult xy, xx, yy;
};
SinkhornDivergence sinkhorn_divergence_replicated(const Matrix& x, const Matrix& y, const SinkhornSettings& s,
                                                  MPI_Comm comm);

}  // namespace cellot::metrics::detail
