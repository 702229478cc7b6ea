// kNN mixing: one streaming sweep over the joint set keeps, per predicted cell, a max-heap of
// its kmax best (distance, joint index) pairs; memory O(N kmax + (N + M) d).
#include "detail/knn.hpp"

#include <algorithm>
#include <string>

#include "cellot/core/error.hpp"
#include "detail/blocks.hpp"
#include "detail/distributed.hpp"
#include "detail/kernels.hpp"

namespace cellot::metrics::detail {

namespace {

using HeapDist = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;
using HeapIdx = Kokkos::View<std::int64_t**, Kokkos::LayoutRight, MemSpace>;
using SizeView = Kokkos::View<int*, MemSpace>;

struct KnnOp {
  DeviceCells a, b;
  std::int64_t offset = 0;  // joint index of b's first cell
  bool self = false;        // b is a (exclude i == j)
  int k = 0;
  HeapDist hd;
  HeapIdx hj;
  SizeView hs;
};

KOKKOS_INLINE_FUNCTION bool key_less(double d1, std::int64_t j1, double d2, std::int64_t j2) {
  return d1 < d2 || (d1 == d2 && j1 < j2);
}

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void knn_micro(const KnnOp& op, int, std::int64_t r0, std::int64_t c0) {
  double dist[kRows][kTile];
  sqdist_micro<true>(op.a, r0, op.b, c0, dist);
  const int k = op.k;
  for (int u = 0; u < kRows; ++u) {
    const std::int64_t i = r0 + u;
    if (i >= op.a.n) break;
    int size = op.hs(i);
    for (int l = 0; l < kTile; ++l) {
      const std::int64_t c = c0 + l;
      if (c >= op.b.n || (op.self && c == i)) continue;
      const double d = dist[u][l];
      const std::int64_t j = op.offset + c;
      if (size < k) {  // push and sift up
        int pos = size++;
        while (pos > 0) {
          const int parent = (pos - 1) / 2;
          if (!key_less(op.hd(i, parent), op.hj(i, parent), d, j)) break;
          op.hd(i, pos) = op.hd(i, parent);
          op.hj(i, pos) = op.hj(i, parent);
          pos = parent;
        }
        op.hd(i, pos) = d;
        op.hj(i, pos) = j;
      } else if (key_less(d, j, op.hd(i, 0), op.hj(i, 0))) {  // replace the worst, sift down
        int pos = 0;
        for (;;) {
          int child = 2 * pos + 1;
          if (child >= k) break;
          if (child + 1 < k && key_less(op.hd(i, child), op.hj(i, child), op.hd(i, child + 1), op.hj(i, child + 1)))
            ++child;
          if (!key_less(d, j, op.hd(i, child), op.hj(i, child))) break;
          op.hd(i, pos) = op.hd(i, child);
          op.hj(i, pos) = op.hj(i, child);
          pos = child;
        }
        op.hd(i, pos) = d;
        op.hj(i, pos) = j;
      }
    }
    op.hs(i) = size;
  }
}

// A functor rather than a lambda: it is called inside device kernels.
struct KnnMicro {
  KOKKOS_INLINE_FUNCTION void operator()(const KnnOp& o, int slot, std::int64_t r0, std::int64_t c) const {
    knn_micro(o, slot, r0, c);
  }
};

}  // namespace

std::vector<double> knn_mix(const Matrix& pred, const Matrix& obs, const std::vector<int>& ks, MPI_Comm comm,
                            std::vector<double>* per_cell) {
  if (pred.rows == 0 || obs.rows == 0)
    throw InputError("metrics", "knn_mix", std::to_string(pred.rows) + " x " + std::to_string(obs.rows),
                     "needs at least one cell in each set");
  if (pred.cols != obs.cols)
    throw InputError("metrics", "knn_mix", std::to_string(pred.cols) + " vs " + std::to_string(obs.cols),
                     "cell sets have different feature counts");
  const std::int64_t n = pred.rows, joint = pred.rows + obs.rows;
  int kmax = 0;
  for (const int k : ks) {
    if (k < 1) throw InputError("metrics", "knn_k", std::to_string(k), "must be >= 1");
    kmax = std::max<int>(kmax, static_cast<int>(std::min<std::int64_t>(k, joint - 1)));
  }
  if (kmax == 0) throw InputError("metrics", "knn_mix", "1 cell", "needs at least two cells in the joint set");
  KnnOp op;
  op.a = upload(pred);
  op.k = kmax;
  op.hd = HeapDist("cellot::metrics::knn_d", op.a.padded, kmax);
  op.hj = HeapIdx("cellot::metrics::knn_j", op.a.padded, kmax);
  op.hs = SizeView("cellot::metrics::knn_size", op.a.padded);
  const std::int64_t n_blocks = op.a.tiles();
  const auto blocks = my_blocks(n_blocks, comm);
  const KnnMicro micro;
  op.b = op.a;
  op.self = true;
  op.offset = 0;
  run_blocks(op, blocks, false, micro);
  op.b = upload(obs);
  op.self = false;
  op.offset = n;
  run_blocks(op, blocks, false, micro);

  // Order each heap and count predicted neighbours among the first k (host: O(N kmax log kmax)).
  auto hd = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), op.hd);
  auto hj = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), op.hj);
  const auto nk = static_cast<std::int64_t>(ks.size());
  std::vector<double> partials(static_cast<std::size_t>(n_blocks * nk), 0.0);
  if (per_cell) per_cell->assign(static_cast<std::size_t>(n * nk), 0.0);
  std::vector<std::pair<double, std::int64_t>> heap(static_cast<std::size_t>(kmax));
  for (const auto b : blocks)
    for (std::int64_t i = b * kTile; i < std::min(n, (b + 1) * kTile); ++i) {
      for (int q = 0; q < kmax; ++q) heap[static_cast<std::size_t>(q)] = {hd(i, q), hj(i, q)};
      std::sort(heap.begin(), heap.end());
      for (std::int64_t t = 0; t < nk; ++t) {
        const int k = static_cast<int>(std::min<std::int64_t>(ks[static_cast<std::size_t>(t)], joint - 1));
        int predicted = 0;
        for (int q = 0; q < k; ++q) predicted += heap[static_cast<std::size_t>(q)].second < n ? 1 : 0;
        const double frac = static_cast<double>(predicted) / k;
        partials[static_cast<std::size_t>(b * nk + t)] += frac;
        if (per_cell) (*per_cell)[static_cast<std::size_t>(i * nk + t)] = frac;
      }
    }
  if (per_cell && comm_size(comm) > 1)  // rows owned by one rank each: the sum is exact
    // Bound: the ranks of a group compute each metric together with identical arguments (no rank-local branch
    // before a collective); an error on one rank aborts the job or, in a screen, reaches the task's outcome
    // agreement (bounded by screen.wait_timeout).
    MPI_Allreduce(MPI_IN_PLACE, per_cell->data(), static_cast<int>(per_cell->size()), MPI_DOUBLE, MPI_SUM, comm);
  auto totals = combine_block_partials(std::move(partials), nk, comm);
  for (auto& t : totals) t /= static_cast<double>(n);
  return totals;
}

}  // namespace cellot::metrics::detail
