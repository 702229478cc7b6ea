#pragma once
// Data-parallel helpers for a rank group: the global batch is split into contiguous shares,
// each rank computes gradient *sums scaled by 1/global_batch* over its share, and one
// MPI_Allreduce(SUM) on the flat gradient buffer yields the exact global mean on every rank.
#include <mpi.h>

#include <cstdint>
#include <utility>

namespace cellot::nn {

// [begin, end) of rank `rank`'s share of `global` items among `size` ranks (near-equal, the
// first `global % size` ranks get one more).
std::pair<std::int64_t, std::int64_t> share(std::int64_t global, int rank, int size);

// In-place sum over comm (no-op on a single rank). One MPI_Allreduce per call.
void allreduce_sum(float* buffer, std::int64_t n, MPI_Comm comm);
void allreduce_sum(double* buffer, std::int64_t n, MPI_Comm comm);

// Parameters from the group root to every rank (at start and after loading a checkpoint).
void broadcast(float* buffer, std::int64_t n, MPI_Comm comm, int root = 0);

}  // namespace cellot::nn
