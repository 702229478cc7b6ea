// Entropic OT (Sinkhorn) in the log domain with streaming tiles, and the Sinkhorn divergence.
//
// Iteration (as POT's sinkhorn_log, so that values and iteration counts agree): log-scalings
// u, v with plan P_ij = exp(u_i + v_j - C_ij / eps), u = 0 initially;
//   v_j = log b_j - LSE_i(u_i - C_ij / eps),  then  u_i = log a_i - LSE_j(v_j - C_ij / eps);
// after iterations 1, 11, 21, ... the L2 norm of the column-marginal violation of P is compared
// with the tolerance (the row marginal is exact after the u step). That error is a by-product
// of the next v step (column sums of P = exp(v_j + LSE_j)), so checking costs no extra pass.
//
// Each LSE is a sum over one row (or column) computed entirely by the rank that owns its block,
// shifted by the previous LSE of that row (the potentials change little between iterations, so
// the shifted sum stays near 1 without a max pass); when a shifted sum leaves [1e-280, 1e280]
// (first iterations, large steps at small eps) the half step is redone exactly with a max pass.
// Owner-computes plus exact combination (detail/distributed.hpp) makes the result bit-identical
// for any number of ranks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/metrics/metrics.hpp"
#include "detail/blocks.hpp"
#include "detail/distributed.hpp"
#include "detail/kernels.hpp"
#include "detail/sinkhorn.hpp"

namespace cellot::metrics::detail {

namespace {

constexpr double kPadPotential = -1e300;  // padding columns: exp(...) = 0, never the max
constexpr double kSumLow = 1e-280, kSumHigh = 1e280;
constexpr int kCheckEvery = 10;  // POT sinkhorn_log checks the marginal every 10 iterations

enum Mode : int { kModeMax = 0, kModeSum = 1, kModeCost = 2, kModeFill = 3 };

// Rows of `a` (this rank's blocks) against every column tile of `b`: distances streamed or read
// from the cost cache (tile-contiguous: ((slot * n_tiles + tile) * kTile + row) * kTile + col).
struct LseOp {
  DeviceCells a, b;
  VecView w;      // potential on b (padded with kPadPotential)
  VecView shift;  // per a-row: the shift (sum mode) or the a-side potential (cost mode)
  double inv_eps = 1;
  int mode = kModeSum;
  OutView out;
  double* cache = nullptr;  // cost cache, or nullptr (streaming)
  std::int64_t n_tiles = 0;
  double log_ab = 0;        // cost mode: log a_i + log b_j (uniform weights)
};

KOKKOS_INLINE_FUNCTION std::int64_t cache_offset(int slot, std::int64_t n_tiles, std::int64_t tile, std::int64_t row) {
  return ((static_cast<std::int64_t>(slot) * n_tiles + tile) * kTile + row) * kTile;
}

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void lse_micro(const LseOp& op, int slot, std::int64_t r0, std::int64_t c0) {
  double local[kRows][kTile];
  const double(*dist)[kTile] = local;
  double* cached = op.cache != nullptr ? op.cache + cache_offset(slot, op.n_tiles, c0 / kTile, r0 % kTile) : nullptr;
  if (cached != nullptr && op.mode != kModeFill) {
    dist = reinterpret_cast<const double(*)[kTile]>(cached);
  } else {
    sqdist_micro<false>(op.a, r0, op.b, c0, local);
  }
  if (op.mode == kModeFill) {
    for (int u = 0; u < kRows; ++u) {
      for (int l = 0; l < kTile; ++l) cached[u * kTile + l] = local[u][l];
      // Largest cost of the row (padding columns excluded) decides whether K = exp(-C/eps) fits.
      if (r0 + u < op.a.n) {
        double t[kTile];
        for (int l = 0; l < kTile; ++l) t[l] = c0 + l < op.b.n ? local[u][l] : 0.0;
        const double m = tile_max(t);
        if (m > op.out(r0 + u, 0)) op.out(r0 + u, 0) = m;
      }
    }
    return;
  }
  double w[kTile];
  for (int l = 0; l < kTile; ++l) w[l] = op.w(c0 + l);
  const double ie = op.inv_eps;
  for (int u = 0; u < kRows; ++u) {
    const std::int64_t i = r0 + u;
    if (i >= op.a.n) break;
    double t[kTile];
    for (int l = 0; l < kTile; ++l) t[l] = w[l] - dist[u][l] * ie;
    if (op.mode == kModeMax) {
      const double m = tile_max(t);
      if (m > op.out(i, 0)) op.out(i, 0) = m;
    } else if (op.mode == kModeSum) {
      const double s = op.shift(i);
      double e[kTile];
      for (int l = 0; l < kTile; ++l) e[l] = fast_exp(t[l] - s);
      op.out(i, 0) += tile_sum(e);
    } else {
      const double ui = op.shift(i);
      double p[kTile], pc[kTile], pl[kTile];
      for (int l = 0; l < kTile; ++l) {
        const double lp = t[l] + ui;  // log P_ij
        p[l] = fast_exp(lp);
        pc[l] = p[l] * dist[u][l];
        pl[l] = p[l] > 0.0 ? p[l] * (lp - op.log_ab) : 0.0;
      }
      op.out(i, 0) += tile_sum(p);
      op.out(i, 1) += tile_sum(pc);
      op.out(i, 2) += tile_sum(pl);
    }
  }
}

// Kernel cache (K = exp(-C / eps) in place of C): row sums S_i = sum_j ew_j K_ij, a product and
// an add per entry instead of an exp.
struct KernelRowOp {
  DeviceCells a, b;
  VecView ew;  // exp(w_j - max w), 0 on padding
  OutView out;
  const double* cache = nullptr;
  std::int64_t n_tiles = 0;
};

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void kernel_row_micro(const KernelRowOp& op, int slot, std::int64_t r0,
                                                           std::int64_t c0) {
  const double* k = op.cache + cache_offset(slot, op.n_tiles, c0 / kTile, r0 % kTile);
  const double* e = op.ew.data() + c0;
  for (int u = 0; u < kRows; ++u) {
    if (r0 + u >= op.a.n) break;
    double p[kTile];
    for (int l = 0; l < kTile; ++l) p[l] = e[l] * k[u * kTile + l];
    op.out(r0 + u, 0) += tile_sum(p);
  }
}

// Column passes over the row-oriented cache: one column tile per work item, over this rank's
// row blocks (maxima) or over one block (sums: per-block partials, added in block order).
struct ColOp {
  const double* cache = nullptr;
  std::int64_t n_tiles = 0, n_rows = 0;
  IndexView blocks;
  int n_blocks = 0;
  VecView pot;    // kernel: exp(u_i - max u) (0 on padding); otherwise u (padded)
  VecView shift;  // per column (sum mode)
  double inv_eps = 1;
  int mode = kModeSum;  // kModeSum, kModeMax, or kModeCost meaning "kernel product"
  // false: work item tj covers all of this rank's blocks, out(column, 0). true: work item
  // (slot, tj) covers one block, out(slot, column).
  bool per_block = false;
  OutView out;
};

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void col_tile(const ColOp& op, std::int64_t item) {
  const std::int64_t tj = op.per_block ? item % op.n_tiles : item;
  const int first = op.per_block ? static_cast<int>(item / op.n_tiles) : 0;
  const int last = op.per_block ? first + 1 : op.n_blocks;
  double acc[kTile], s[kTile];
  const double init = op.mode == kModeMax ? kPadPotential : 0.0;
  for (int l = 0; l < kTile; ++l) {
    acc[l] = init;
    s[l] = op.mode == kModeSum ? op.shift(tj * kTile + l) : 0.0;
  }
  const double ie = op.inv_eps;
  for (int slot = first; slot < last; ++slot) {
    const std::int64_t blk = op.blocks(slot);
    for (int r = 0; r < kTile; ++r) {
      const std::int64_t i = blk * kTile + r;
      if (i >= op.n_rows) break;
      const double* c = op.cache + cache_offset(slot, op.n_tiles, tj, r);
      const double p = op.pot(i);
      if (op.mode == kModeCost) {
        for (int l = 0; l < kTile; ++l) acc[l] += p * c[l];
      } else if (op.mode == kModeMax) {
        for (int l = 0; l < kTile; ++l) {
          const double t = p - c[l] * ie;
          acc[l] = acc[l] > t ? acc[l] : t;
        }
      } else {
        for (int l = 0; l < kTile; ++l) acc[l] += fast_exp(p - c[l] * ie - s[l]);
      }
    }
  }
  for (int l = 0; l < kTile; ++l) {
    if (op.per_block)
      op.out(first, tj * kTile + l) = acc[l];
    else
      op.out(tj * kTile + l, 0) = acc[l];
  }
}

// Functors rather than lambdas: they are called inside device kernels.
struct LseMicro {
  KOKKOS_INLINE_FUNCTION void operator()(const LseOp& o, int slot, std::int64_t r0, std::int64_t c) const {
    lse_micro(o, slot, r0, c);
  }
};
struct KernelRowMicro {
  KOKKOS_INLINE_FUNCTION void operator()(const KernelRowOp& o, int slot, std::int64_t r0, std::int64_t c) const {
    kernel_row_micro(o, slot, r0, c);
  }
};

enum class Storage { streaming, cost_cache, kernel_cache };

// The two half steps of one Sinkhorn problem. Rows (x) are owned by this rank's blocks; the
// column step is owner-computes over the transposed problem when streaming, and a partial
// over this rank's rows of the (single, row-oriented) cache when caching.
class Engine {
 public:
  Engine(const DeviceCells& x, const DeviceCells& y, double eps, MPI_Comm comm, std::int64_t cache_bytes)
      : x_(x), y_(y), eps_(eps), comm_(comm), xblocks_(my_blocks(x.tiles(), comm)), yblocks_(my_blocks(y.tiles(), comm)) {
    xw_ = VecView("cellot::metrics::sinkhorn_xw", x.padded);
    yw_ = VecView("cellot::metrics::sinkhorn_yw", y.padded);
    xs_ = VecView("cellot::metrics::sinkhorn_xs", x.padded);
    ys_ = VecView("cellot::metrics::sinkhorn_ys", y.padded);
    xout_ = OutView("cellot::metrics::sinkhorn_xout", x.padded, 3);
    yout_ = OutView("cellot::metrics::sinkhorn_yout", y.padded, 3);
    blk_ = IndexView("cellot::metrics::sinkhorn_blocks", xblocks_.size());
    auto hb = Kokkos::create_mirror_view(blk_);
    for (std::size_t k = 0; k < xblocks_.size(); ++k) hb(k) = xblocks_[k];
    Kokkos::deep_copy(blk_, hb);
    // Cache of this rank's rows against all columns, when the whole problem would fit on one
    // rank: decided from the problem, never from the number of ranks, so that the storage (and
    // with it the order of every sum) is the same on any number of ranks.
    if (8 * x.tiles() * kTile * y.padded <= cache_bytes) {
      colpart_ = OutView("cellot::metrics::sinkhorn_colpart", xblocks_.size(), y.padded);
      cache_ = VecView("cellot::metrics::sinkhorn_cache", static_cast<std::size_t>(xblocks_.size()) * kTile * y.padded);
      LseOp op = row_op(kModeFill);
      Kokkos::deep_copy(xout_, 0.0);
      run_lse(op, xblocks_);
      double max_cost = 0;
      for (const double c : owned(xout_, x_.n, xblocks_, 0.0)) max_cost = std::max(max_cost, c);
      // Bound (file): every collective of the Sinkhorn solver is made by all ranks of the group at the same
      // iteration (the loop's decisions use values identical on every rank); an error on one rank aborts the
      // job or, in a screen, reaches the task's outcome agreement (bounded by screen.wait_timeout).
      if (comm_size(comm) > 1) MPI_Allreduce(MPI_IN_PLACE, &max_cost, 1, MPI_DOUBLE, MPI_MAX, comm);
      storage_ = Storage::cost_cache;
      // With every K_ij >= exp(-kKernelMaxExponent), a row sum shifted by max_j w_j holds the term
      // K_ij* >= 1e-282 and at most M terms <= 1: never out of range, no exp per entry needed.
      if (max_cost / eps <= kKernelMaxExponent) {
        storage_ = Storage::kernel_cache;
        const VecView c = cache_;
        const double ie = 1.0 / eps;
        Kokkos::parallel_for(
            "cellot::metrics::sinkhorn_kernel", Kokkos::RangePolicy<ExecSpace>(0, c.extent(0)),
            KOKKOS_LAMBDA(const std::int64_t k) { c(k) = fast_exp(-c(k) * ie); });
        Kokkos::fence();
      }
    }
  }

  Storage storage() const { return storage_; }
  int exact_passes() const { return exact_passes_; }

  // LSE_j(v_j - C_ij / eps) for every x row (identical on every rank).
  std::vector<double> row_lse(const std::vector<double>& v, const std::vector<double>* prev) {
    return lse(true, v, prev);
  }
  // LSE_i(u_i - C_ij / eps) for every y column.
  std::vector<double> col_lse(const std::vector<double>& u, const std::vector<double>* prev) {
    return lse(false, u, prev);
  }

  // Sums of P, P C and P log(P / ab) over the plan P = exp(u_i + v_j - C_ij / eps).
  std::vector<double> cost(const std::vector<double>& u, const std::vector<double>& v, double log_ab) {
    upload(yw_, v, y_.n, kPadPotential);
    upload(xs_, u, x_.n, 0.0);
    LseOp op = row_op(kModeCost);
    if (storage_ != Storage::cost_cache) op.cache = nullptr;  // exact costs, one streamed pass
    op.log_ab = log_ab;
    Kokkos::deep_copy(xout_, 0.0);
    run_lse(op, xblocks_);
    return block_totals(xout_, x_.n, 3, xblocks_, x_.tiles(), comm_);
  }

 private:
  static constexpr double kKernelMaxExponent = 650.0;

  std::vector<double> lse(bool rows, const std::vector<double>& w, const std::vector<double>* prev) {
    const std::int64_t n = rows ? x_.n : y_.n;
    std::vector<double> out(static_cast<std::size_t>(n));
    if (storage_ == Storage::kernel_cache) {
      const double c = *std::max_element(w.begin(), w.end());
      std::vector<double> e(w.size());
      for (std::size_t j = 0; j < w.size(); ++j) e[j] = fast_exp(w[j] - c);
      const auto sums = pass(rows, kModeCost, e, {});
      for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = c + det_log(sums[static_cast<std::size_t>(i)]);
      return out;
    }
    std::vector<double> shift;
    std::vector<double> sums;
    bool ok = false;
    if (prev != nullptr) {
      shift = *prev;
      sums = pass(rows, kModeSum, w, shift);
      ok = true;
      for (const double s : sums) ok = ok && s >= kSumLow && s <= kSumHigh;
      if (!ok) ++exact_passes_;
    }
    if (!ok) {
      shift = pass(rows, kModeMax, w, {});
      sums = pass(rows, kModeSum, w, shift);
    }
    for (std::int64_t i = 0; i < n; ++i)
      out[static_cast<std::size_t>(i)] = shift[static_cast<std::size_t>(i)] + det_log(sums[static_cast<std::size_t>(i)]);
    return out;
  }

  // One pass; returns the global per-row (rows) or per-column values, identical on every rank.
  // mode kModeCost here means the kernel-cache product.
  std::vector<double> pass(bool rows, int mode, const std::vector<double>& w, const std::vector<double>& shift) {
    const bool kernel = mode == kModeCost;
    const double pad = kernel ? 0.0 : kPadPotential;
    const bool is_max = mode == kModeMax;
    if (rows) {
      upload(yw_, w, y_.n, pad);
      if (!shift.empty()) upload(xs_, shift, x_.n, 0.0);
      Kokkos::deep_copy(xout_, is_max ? kPadPotential : 0.0);
      if (kernel) {
        KernelRowOp op;
        op.a = x_;
        op.b = y_;
        op.ew = yw_;
        op.out = xout_;
        op.cache = cache_.data();
        op.n_tiles = y_.tiles();
        run_blocks(op, xblocks_, false, KernelRowMicro{});
      } else {
        LseOp op = row_op(mode);
        if (storage_ == Storage::streaming) op.cache = nullptr;
        run_lse(op, xblocks_);
      }
      return combine_owned(owned(xout_, x_.n, xblocks_, is_max ? kPadPotential : 0.0), is_max);
    }
    upload(xw_, w, x_.n, pad);
    if (!shift.empty()) upload(ys_, shift, y_.n, 0.0);
    if (storage_ == Storage::streaming) {
      // Owner-computes on the transposed problem: each column's sum is one rank's.
      Kokkos::deep_copy(yout_, is_max ? kPadPotential : 0.0);
      LseOp op;
      op.a = y_;
      op.b = x_;
      op.w = xw_;
      op.shift = ys_;
      op.inv_eps = 1.0 / eps_;
      op.mode = mode;
      op.out = yout_;
      op.n_tiles = x_.tiles();
      run_lse(op, yblocks_);
      return combine_owned(owned(yout_, y_.n, yblocks_, is_max ? kPadPotential : 0.0), is_max);
    }
    return cached_columns(mode, is_max);
  }

  // A column pass over the row-oriented cache. Maxima are exact in any order; sums are kept per
  // row block (this rank's blocks) and added in block order over all blocks, so the result does
  // not depend on how the blocks are spread over ranks.
  std::vector<double> cached_columns(int mode, bool is_max) {
    ColOp op;
    op.cache = cache_.data();
    op.n_tiles = y_.tiles();
    op.n_rows = x_.n;
    op.blocks = blk_;
    op.n_blocks = static_cast<int>(xblocks_.size());
    op.pot = xw_;
    op.shift = ys_;
    op.inv_eps = 1.0 / eps_;
    op.mode = mode;
    op.out = is_max ? yout_ : colpart_;
    op.per_block = !is_max;
    const std::int64_t items = y_.tiles() * (is_max ? 1 : op.n_blocks);  // a rank may own no block
    Kokkos::parallel_for(
        "cellot::metrics::sinkhorn_columns", Kokkos::RangePolicy<ExecSpace>(0, items),
        KOKKOS_LAMBDA(const std::int64_t k) { col_tile(op, k); });
    Kokkos::fence();
    const auto m = static_cast<std::size_t>(y_.n);
    if (is_max) {
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), yout_);
      std::vector<double> part(m);
      for (std::size_t j = 0; j < m; ++j) part[j] = h(static_cast<std::int64_t>(j), 0);
      if (comm_size(comm_) > 1)
        MPI_Allreduce(MPI_IN_PLACE, part.data(), static_cast<int>(part.size()), MPI_DOUBLE, MPI_MAX, comm_);
      return part;
    }
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), colpart_);
    std::vector<double> partials(static_cast<std::size_t>(x_.tiles()) * m, 0.0);
    for (std::size_t slot = 0; slot < xblocks_.size(); ++slot)
      for (std::size_t j = 0; j < m; ++j)
        partials[static_cast<std::size_t>(xblocks_[slot]) * m + j] = h(static_cast<std::int64_t>(slot), static_cast<std::int64_t>(j));
    return combine_block_partials(std::move(partials), y_.n, comm_);
  }

  LseOp row_op(int mode) const {
    LseOp op;
    op.a = x_;
    op.b = y_;
    op.w = yw_;
    op.shift = xs_;
    op.inv_eps = 1.0 / eps_;
    op.mode = mode;
    op.out = xout_;
    op.cache = cache_.extent(0) > 0 ? cache_.data() : nullptr;
    op.n_tiles = y_.tiles();
    return op;
  }

  static void run_lse(const LseOp& op, const std::vector<std::int64_t>& blocks) {
    run_blocks(op, blocks, false, LseMicro{});
  }

  static void upload(const VecView& view, const std::vector<double>& v, std::int64_t n, double pad) {
    auto h = Kokkos::create_mirror_view(view);
    for (std::int64_t j = 0; j < static_cast<std::int64_t>(view.extent(0)); ++j)
      h(j) = j < n ? v[static_cast<std::size_t>(j)] : pad;
    Kokkos::deep_copy(view, h);
  }

  // Column 0 of `out` on this rank's blocks, `other` elsewhere.
  static std::vector<double> owned(const OutView& out, std::int64_t n, const std::vector<std::int64_t>& blocks,
                                   double other) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
    std::vector<double> r(static_cast<std::size_t>(n), other);
    for (const auto b : blocks)
      for (std::int64_t i = b * kTile; i < std::min(n, (b + 1) * kTile); ++i) r[static_cast<std::size_t>(i)] = h(i, 0);
    return r;
  }

  // Owner values (zeros / -inf elsewhere): the MPI sum or max is exact.
  std::vector<double> combine_owned(std::vector<double> v, bool is_max) const {
    if (comm_size(comm_) > 1)
      MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, is_max ? MPI_MAX : MPI_SUM, comm_);
    return v;
  }

  DeviceCells x_, y_;
  double eps_;
  MPI_Comm comm_;
  std::vector<std::int64_t> xblocks_, yblocks_;
  IndexView blk_;
  VecView xw_, yw_, xs_, ys_, cache_;
  OutView xout_, yout_, colpart_;  // colpart_: per-block column sums [this rank's blocks, columns]
  Storage storage_ = Storage::streaming;
  int exact_passes_ = 0;
};

double column_error(const std::vector<double>& v, const std::vector<double>& lse, double b) {
  double s = 0;
  for (std::size_t j = 0; j < v.size(); ++j) {
    const double m = fast_exp(v[j] + lse[j]) - b;
    s += m * m;
  }
  return std::sqrt(s);
}

}  // namespace

SinkhornResult sinkhorn_replicated(const Matrix& x, const Matrix& y, const SinkhornSettings& s, MPI_Comm comm,
                                   const std::vector<double>* f0, const std::vector<double>* g0) {
  if (x.rows == 0 || y.rows == 0)
    throw InputError("metrics", "sinkhorn", std::to_string(x.rows) + " x " + std::to_string(y.rows),
                     "needs at least one cell in each set");
  if (x.cols != y.cols)
    throw InputError("metrics", "sinkhorn", std::to_string(x.cols) + " vs " + std::to_string(y.cols),
                     "cell sets have different feature counts");
  if (!(s.epsilon > 0) || !std::isfinite(s.epsilon))
    throw InputError("metrics", "epsilon", std::to_string(s.epsilon), "must be positive");
  if (!(s.tol >= 0)) throw InputError("metrics", "sinkhorn_tol", std::to_string(s.tol), "must be >= 0");
  if (s.max_iter < 1 && !(f0 && g0))
    throw InputError("metrics", "sinkhorn_max_iter", std::to_string(s.max_iter), "must be >= 1 without a warm start");
  if (f0 && static_cast<std::int64_t>(f0->size()) != x.rows)
    throw InputError("metrics", "f0", std::to_string(f0->size()), "warm start needs one potential per source cell");
  if (g0 && static_cast<std::int64_t>(g0->size()) != y.rows)
    throw InputError("metrics", "g0", std::to_string(g0->size()), "warm start needs one potential per target cell");

  const double eps = s.epsilon;
  const std::int64_t n = x.rows, m = y.rows;
  const double log_a = -det_log(static_cast<double>(n)), log_b = -det_log(static_cast<double>(m));
  Engine engine(upload(x), upload(y), eps, comm, s.cache_bytes);

  std::vector<double> u(static_cast<std::size_t>(n), 0.0), v(static_cast<std::size_t>(m), 0.0);
  std::vector<double> lse_u, lse_v;  // previous LSEs (shifts); empty: exact pass
  if (f0)
    for (std::int64_t i = 0; i < n; ++i) {
      u[static_cast<std::size_t>(i)] = (*f0)[static_cast<std::size_t>(i)] / eps + log_a;
      lse_u.push_back(log_a - u[static_cast<std::size_t>(i)]);
    }
  if (g0)
    for (std::int64_t j = 0; j < m; ++j) {
      v[static_cast<std::size_t>(j)] = (*g0)[static_cast<std::size_t>(j)] / eps + log_b;
      lse_v.push_back(log_b - v[static_cast<std::size_t>(j)]);
    }

  SinkhornResult res;
  bool converged = false;
  int it = 0;
  for (; it < s.max_iter; ++it) {
    std::vector<double> lse = engine.col_lse(u, lse_v.empty() ? nullptr : &lse_v);
    if (it > 0 && (it - 1) % kCheckEvery == 0) {
      res.marginal_error = column_error(v, lse, 1.0 / static_cast<double>(m));
      if (res.marginal_error < s.tol) {
        converged = true;
        break;
      }
    }
    for (std::int64_t j = 0; j < m; ++j) v[static_cast<std::size_t>(j)] = log_b - lse[static_cast<std::size_t>(j)];
    lse_v = std::move(lse);
    lse = engine.row_lse(v, lse_u.empty() ? nullptr : &lse_u);
    for (std::int64_t i = 0; i < n; ++i) u[static_cast<std::size_t>(i)] = log_a - lse[static_cast<std::size_t>(i)];
    lse_u = std::move(lse);
  }
  if (!converged) {
    // Report the error of the final plan (one extra column pass, no update).
    const std::vector<double> lse = engine.col_lse(u, lse_v.empty() ? nullptr : &lse_v);
    res.marginal_error = column_error(v, lse, 1.0 / static_cast<double>(m));
  }
  res.iterations = it;
  res.converged = converged;
  const auto sums = engine.cost(u, v, log_a + log_b);
  res.cost = sums[1];
  // eps KL(P | a b^T) = eps (sum P log(P / ab) - sum P + 1).
  res.objective = sums[1] + eps * (sums[2] - sums[0] + 1.0);
  res.f.resize(static_cast<std::size_t>(n));
  res.g.resize(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < n; ++i) res.f[static_cast<std::size_t>(i)] = eps * (u[static_cast<std::size_t>(i)] - log_a);
  for (std::int64_t j = 0; j < m; ++j) res.g[static_cast<std::size_t>(j)] = eps * (v[static_cast<std::size_t>(j)] - log_b);
  res.storage = engine.storage() == Storage::kernel_cache ? "kernel-cache"
                : engine.storage() == Storage::cost_cache  ? "cost-cache"
                                                           : "streaming";
  res.exact_passes = engine.exact_passes();
  return res;
}

SinkhornDivergence sinkhorn_divergence_replicated(const Matrix& x, const Matrix& y, const SinkhornSettings& s,
                                                  MPI_Comm comm) {
  SinkhornDivergence d;
  d.xy = sinkhorn_replicated(x, y, s, comm);
  d.xx = sinkhorn_replicated(x, x, s, comm);
  d.yy = sinkhorn_replicated(y, y, s, comm);
  d.value = d.xy.objective - 0.5 * d.xx.objective - 0.5 * d.yy.objective;
  return d;
}

}  // namespace cellot::metrics::detail

namespace cellot::metrics {

SinkhornResult sinkhorn(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm,
                        const std::vector<double>* f0, const std::vector<double>* g0, std::int64_t cache_bytes,
                        Layout layout) {
  detail::SinkhornSettings s{epsilon, tol, max_iter, cache_bytes};
  return detail::sinkhorn_replicated(detail::arrange(x, comm, layout, "sinkhorn"),
                                     detail::arrange(y, comm, layout, "sinkhorn"), s, comm, f0, g0);
}

double sinkhorn_divergence(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm,
                           Layout layout) {
  detail::SinkhornSettings s{epsilon, tol, max_iter, kSinkhornCacheBytes};
  return detail::sinkhorn_divergence_replicated(detail::arrange(x, comm, layout, "sinkhorn"),
                                                detail::arrange(y, comm, layout, "sinkhorn"), s, comm)
      .value;
}

}  // namespace cellot::metrics
