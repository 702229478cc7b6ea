#include "cellot/core/tree_sum.hpp"

#include <algorithm>
#include <climits>
#include <exception>
#include <string>

#include "cellot/core/error.hpp"

namespace cellot {

std::int64_t tree_mid(const TreeNode& node) {
  const std::int64_t n = node.hi - node.lo;
  CELLOT_CHECK(n >= 2, "a leaf has no split");
  std::int64_t p = 1;
  while (2 * p < n) p *= 2;
  return node.lo + p;
}

namespace {

void cover(const TreeNode& node, std::int64_t begin, std::int64_t end, std::vector<TreeNode>& out) {
  if (node.hi <= begin || node.lo >= end) return;
  if (node.lo >= begin && node.hi <= end) {
    out.push_back(node);
    return;
  }
  const std::int64_t mid = tree_mid(node);
  cover({node.lo, mid}, begin, end, out);
  cover({mid, node.hi}, begin, end, out);
}

void serial_add(double* a, const double* b, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) a[i] += b[i];
}

// One scratch buffer per tree level: a node's sum is made in the buffer of its depth, its right
// child's in the next one.
class TreeSummer {
 public:
  TreeSummer(std::int64_t width, const TreeLeaf& leaf, const TreeAdd& add) : width_(width), leaf_(leaf), add_(add) {}

  double* buffer(std::size_t depth) {
    if (levels_.size() <= depth) levels_.resize(depth + 1);
    auto& v = levels_[depth];
    if (v.empty()) v.assign(static_cast<std::size_t>(width_), 0.0);
    return v.data();
  }

  // The sum of node's leaves, computed here, in buffer(depth).
  double* sum(const TreeNode& node, std::size_t depth) {
    double* out = buffer(depth);
    if (node.hi - node.lo == 1) {
      std::fill(out, out + width_, 0.0);
      leaf_(node.lo, out);
      return out;
    }
    const std::int64_t mid = tree_mid(node);
    sum({node.lo, mid}, depth);
    add_(out, sum({mid, node.hi}, depth + 1), width_);
    return out;
  }

  // The sum of node completed from the subtree sums of every rank (each broadcast by its owner,
  // in the same left-to-right order on every rank) in buffer(depth).
  double* complete(const TreeNode& node, std::size_t depth, const std::vector<std::vector<TreeNode>>& covers,
                   const std::vector<std::vector<double>>& mine, int rank, MPI_Comm comm) {
    double* out = buffer(depth);
    for (std::size_t r = 0; r < covers.size(); ++r)
      for (std::size_t i = 0; i < covers[r].size(); ++i) {
        if (!(covers[r][i] == node)) continue;
        if (static_cast<int>(r) == rank) std::copy(mine[i].begin(), mine[i].end(), out);
        constexpr std::int64_t kChunk = std::int64_t{1} << 27;
        // Bound: every rank walks the same tree in the same order and reaches each subtree's
        // broadcast (its owner computed it before the agreement in tree_sum).
        for (std::int64_t off = 0; off < width_; off += kChunk)
          MPI_Bcast(out + off, static_cast<int>(std::min(kChunk, width_ - off)), MPI_DOUBLE, static_cast<int>(r), comm);
        return out;
      }
    const std::int64_t mid = tree_mid(node);
    complete({node.lo, mid}, depth, covers, mine, rank, comm);
    add_(out, complete({mid, node.hi}, depth + 1, covers, mine, rank, comm), width_);
    return out;
  }

 private:
  std::int64_t width_;
  const TreeLeaf& leaf_;
  const TreeAdd& add_;
  std::vector<std::vector<double>> levels_;
};

}  // namespace

std::vector<TreeNode> tree_cover(std::int64_t m, std::int64_t begin, std::int64_t end) {
  std::vector<TreeNode> out;
  if (m > 0 && begin < end) cover({0, m}, begin, end, out);
  return out;
}

std::pair<std::int64_t, std::int64_t> leaf_share(std::int64_t n, int rank, int size) {
  CELLOT_CHECK(size > 0 && rank >= 0 && rank < size, "bad rank/size");
  const std::int64_t base = n / size, extra = n % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::vector<double> tree_sum(std::int64_t m, std::int64_t width, const TreeLeaf& leaf, MPI_Comm comm,
                             const TreeAdd& add) {
  CELLOT_CHECK(m >= 0 && width >= 0, "tree_sum sizes");
  const TreeAdd plus = add ? add : TreeAdd(serial_add);
  int rank = 0, size = 1;
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  std::vector<std::vector<TreeNode>> covers(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) {
    const auto [b, e] = leaf_share(m, r, size);
    covers[static_cast<std::size_t>(r)] = tree_cover(m, b, e);
  }
  TreeSummer summer(width, leaf, plus);
  std::vector<std::vector<double>> mine;
  std::exception_ptr failure;
  try {
    for (const TreeNode& node : covers[static_cast<std::size_t>(rank)]) {
      const double* s = summer.sum(node, 0);
      mine.emplace_back(s, s + width);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (comm == MPI_COMM_NULL || size == 1) {
    if (failure) std::rethrow_exception(failure);
    return mine.empty() ? std::vector<double>(static_cast<std::size_t>(width), 0.0) : std::move(mine.front());
  }
  // The first rank whose leaves failed (size when none did).
  int failed = failure ? rank : size;
  // Bound: every rank reaches this agreement after its own finite leaves, also when one failed (caught above).
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, comm);
  if (failure) std::rethrow_exception(failure);
  if (failed < size) throw InputError("a block of the tree sum failed on rank " + std::to_string(failed) + " (see its error)");
  if (m == 0) return std::vector<double>(static_cast<std::size_t>(width), 0.0);
  const double* total = summer.complete({0, m}, 0, covers, mine, rank, comm);
  return std::vector<double>(total, total + width);
}

}  // namespace cellot
