#pragma once
// Deterministic data parallelism (DESIGN.md 'Distribution'): a step's gradient is the same bits
// whatever the number of ranks in the group and threads per rank.
//
//  * Layout: a global batch of b rows is cut into M micro-batches, M fixed by the config
//    (training.micro_batches), micro-batch k holding rows share(b, k, M). The cut depends on b
//    and M only.
//  * Each micro-batch's gradient is computed by one thread with single-threaded kernels, so it
//    is the same bits on any rank or thread.
//  * Micro-gradients are summed in one fixed binary tree over k: node [lo, hi) = [lo, mid) +
//    [mid, hi) with mid - lo the largest power of two below hi - lo. Ranks own contiguous runs of
//    micro-batches (share(M, r, R)); a rank sums the largest subtrees inside its run itself and
//    sends only those, one MPI_Allgatherv per step, and every rank completes the same tree from
//    them. Each node is one float addition of the same two operands wherever it is computed, so
//    the total is identical for every R (ranks beyond M own nothing and only receive).
#include <mpi.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "cellot/core/tree_sum.hpp"

namespace cellot::nn {

// Rows [begin, end) of micro-batch k of a b-row batch cut into m micro-batches.
std::pair<std::int64_t, std::int64_t> micro_rows(std::int64_t b, std::int64_t m, std::int64_t k);

// The tree (core/tree_sum.hpp), over micro-batches.
using cellot::TreeNode;
using cellot::tree_cover;
using cellot::tree_mid;

// The per-step reduction of M micro-gradients of `width` floats over a rank group.
class MicroBatchReducer {
 public:
  MicroBatchReducer(std::int64_t n_micro, std::int64_t width, MPI_Comm comm);

  std::int64_t n_micro() const { return m_; }
  std::int64_t width() const { return width_; }
  // This rank's micro-batches [first, last).
  std::int64_t first() const { return first_; }
  std::int64_t last() const { return last_; }
  std::int64_t owned() const { return last_ - first_; }
  // Buffer for owned micro-batch k (width floats; the caller fills every entry).
  float* slot(std::int64_t k);

  // Sums the owned slots in tree order (slot contents are consumed), exchanges the subtree sums
  // and returns the total of all M micro-gradients, identical on every rank. `vote` (e.g. a stop
  // request) is summed over the ranks into *votes when votes != nullptr; it travels in the same
  // message. Collective over the communicator.
  const float* reduce(int vote = 0, int* votes = nullptr);

 private:
  // Sums node's micro-batches from their slots into slot(node.lo).
  void sum_local(const TreeNode& node);
  // Value of `node` from the received subtree sums; the result lives in scratch at `depth`.
  const float* complete(const TreeNode& node, int depth);

  std::int64_t m_, width_;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::int64_t first_ = 0, last_ = 0;
  std::vector<float> slots_;             // owned() x width
  std::vector<float> send_, recv_;       // [vote | subtree sums] of this rank / of all ranks
  std::vector<int> counts_, displs_;     // per rank, in floats
  std::vector<std::vector<TreeNode>> covers_;  // per rank
  std::vector<std::int64_t> cover_offset_;     // per (rank, subtree): float offset in recv_, flattened
  std::vector<std::vector<float>> scratch_;    // per tree depth
  std::vector<float> total_;
};

}  // namespace cellot::nn
