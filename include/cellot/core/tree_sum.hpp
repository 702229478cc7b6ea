#pragma once
// The fixed reduction tree of DESIGN.md 'Distribution': m leaves (micro-batches, row blocks) are
// summed in one binary tree over the leaf index, node [lo, hi) = [lo, mid) + [mid, hi) with
// mid - lo the largest power of two below hi - lo. Ranks own contiguous runs of leaves; a rank
// sums the largest subtrees inside its run itself and the others receive only those, so each
// node is one addition of the same two operands wherever it is computed and the total has the
// same bits for every number of ranks (nn/micro_batches.hpp uses it for gradients in float,
// data/pca.hpp for the moments of row blocks in double).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace cellot {

// A tree node: leaves [lo, hi).
struct TreeNode {
  std::int64_t lo = 0, hi = 0;
  bool operator==(const TreeNode& o) const { return lo == o.lo && hi == o.hi; }
};
// The split point of a node with more than one leaf.
std::int64_t tree_mid(const TreeNode& node);
// The largest subtrees of the tree over [0, m) that lie inside [begin, end), left to right.
std::vector<TreeNode> tree_cover(std::int64_t m, std::int64_t begin, std::int64_t end);

// [begin, end) of rank `rank`'s contiguous share of n leaves among `size` ranks (near-equal, the
// first n % size ranks one more).
std::pair<std::int64_t, std::int64_t> leaf_share(std::int64_t n, int rank, int size);

// Fills out[0, width) with leaf k's values (out is zeroed before the call).
using TreeLeaf = std::function<void(std::int64_t k, double* out)>;
// Element-wise a[i] += b[i] for i in [0, n) (the caller may split it over threads: each element
// is one addition, so the split does not change a bit).
using TreeAdd = std::function<void(double* a, const double* b, std::int64_t n)>;

// The tree sum of m leaves of `width` doubles, identical on every rank of comm for every number of
// ranks (MPI_COMM_NULL: one process computes every leaf). Each rank computes the leaves of its
// leaf_share only, holding one buffer per tree level. Collective: every rank calls it with the
// same m and width. When a leaf throws on some rank, every rank throws (that rank its own error,
// the others an InputError naming it) and no rank is left waiting.
std::vector<double> tree_sum(std::int64_t m, std::int64_t width, const TreeLeaf& leaf, MPI_Comm comm,
                             const TreeAdd& add = {});

}  // namespace cellot
