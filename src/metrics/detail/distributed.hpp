#pragma once
// How metric work is spread over a communicator (internal).
//
// Public metric functions take rank-local slices: the global set is the concatenation of the
// slices in rank order. Pairwise metrics first gather the (small, O((N + M) d)) cell sets on
// every rank, then split the O(N M) pair work by global row blocks of kTile cells, assigned
// round-robin. Each block's partial sums are computed by exactly one rank; combining them with
// MPI_SUM over buffers that are zero elsewhere is exact (x + 0 = x), and the blocks are then
// summed in block order on every rank. The result is therefore bit-identical for any number of
// ranks, and identical on all ranks.
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/metrics/metrics.hpp"

namespace cellot::metrics::detail {

int comm_rank(MPI_Comm comm);
int comm_size(MPI_Comm comm);

// Rows of every rank's slice, concatenated in rank order (columns must agree; InputError if not).
Matrix allgather_rows(const Matrix& local, MPI_Comm comm);

// The complete set on every rank: gathered (sliced) or checked and copied (replicated).
Matrix arrange(const Matrix& m, MPI_Comm comm, Layout layout, const char* what);

// Global row counts of every rank's slice, and the offset of this rank's slice.
std::vector<std::int64_t> gather_counts(std::int64_t local_rows, MPI_Comm comm);

// Row blocks (of `block` rows) assigned to this rank: b = rank, rank + size, ...
std::vector<std::int64_t> my_blocks(std::int64_t n_blocks, MPI_Comm comm);

// partials: n_blocks x n_out, row b filled by the rank that owns block b and zero elsewhere.
// Returns the n_out totals, summed over blocks in block order (identical on every rank).
std::vector<double> combine_block_partials(std::vector<double> partials, std::int64_t n_out, MPI_Comm comm);

// Sum of one value per rank, in rank order (identical on every rank).
double ordered_sum(double local, MPI_Comm comm);
// Element-wise sum of one vector per rank, in rank order (identical on every rank).
std::vector<double> ordered_sum(const std::vector<double>& local, MPI_Comm comm);

}  // namespace cellot::metrics::detail
