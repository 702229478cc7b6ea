// Per-feature moments, per-cell Spearman correlations and the UVP as Kokkos kernels (O(N d)).
#include "detail/moments.hpp"

#include <Kokkos_Core.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "cellot/core/error.hpp"
#include "detail/kernels.hpp"

namespace cellot::metrics::detail {

namespace {

using RowView = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;

RowView upload_rows(const Matrix& m, const char* label) {
  RowView v(std::string(label), m.rows, m.cols);
  auto h = Kokkos::create_mirror_view(v);
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t k = 0; k < m.cols; ++k) h(i, k) = m(i, k);
  Kokkos::deep_copy(v, h);
  return v;
}

std::vector<double> to_host(const VecView& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.extent(0));
}

// Average rank (1-based) of v[k] among v[0..d): 1 + #less + #ties / 2. O(d) without sorting,
// so a cell needs no scratch memory on any device.
KOKKOS_INLINE_FUNCTION double avg_rank(const RowView& m, std::int64_t i, std::int64_t k, std::int64_t d) {
  const double x = m(i, k);
  double less = 0, equal = 0;
  for (std::int64_t l = 0; l < d; ++l) {
    const double y = m(i, l);
    less += y < x ? 1.0 : 0.0;
    equal += (y == x && l != k) ? 1.0 : 0.0;
  }
  return 1.0 + less + 0.5 * equal;
}

}  // namespace

Moments feature_moments(const Matrix& cells) {
  if (cells.rows == 0) throw InputError("metrics", "cells", "0", "moments need at least one cell");
  const DeviceCells c = upload(cells);  // feature-major: each feature's cells are contiguous
  const std::int64_t n = c.n;
  const CellView x = c.x;
  VecView mean("cellot::metrics::mean", c.d), sd("cellot::metrics::sd", c.d);
  // Two passes per feature (mean, then squared deviations): no cancellation.
  Kokkos::parallel_for(
      "cellot::metrics::moments", Kokkos::RangePolicy<ExecSpace>(0, c.d), KOKKOS_LAMBDA(const std::int64_t k) {
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i) s += x(i, k);
        const double mu = s / static_cast<double>(n);
        double q = 0;
        for (std::int64_t i = 0; i < n; ++i) q += (x(i, k) - mu) * (x(i, k) - mu);
        mean(k) = mu;
        sd(k) = n > 1 ? Kokkos::Experimental::sqrt(q / static_cast<double>(n - 1)) : 0.0;
      });
  Kokkos::fence();
  return Moments{to_host(mean), to_host(sd)};
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  CELLOT_CHECK(a.size() == b.size() && !a.empty(), "pearson: sizes");
  double ma = 0, mb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    ma += a[k];
    mb += b[k];
  }
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) * (a[k] - ma);
    sbb += (b[k] - mb) * (b[k] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

double l2(const std::vector<double>& a, const std::vector<double>& b) {
  CELLOT_CHECK(a.size() == b.size(), "l2: sizes");
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

std::vector<double> spearman_rows(const Matrix& a, const Matrix& b) {
  if (a.rows != b.rows || a.cols != b.cols)
    throw InputError("metrics", "spearman_pair", std::to_string(a.rows) + " vs " + std::to_string(b.rows),
                     "control and predicted cells must pair row by row");
  if (a.rows == 0) return {};
  const RowView va = upload_rows(a, "cellot::metrics::spearman_a"), vb = upload_rows(b, "cellot::metrics::spearman_b");
  const std::int64_t d = a.cols;
  VecView out("cellot::metrics::spearman", a.rows);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Kokkos::parallel_for(
      "cellot::metrics::spearman", Kokkos::RangePolicy<ExecSpace>(0, a.rows), KOKKOS_LAMBDA(const std::int64_t i) {
        // Average ranks sum to d (d + 1) / 2, so both rank vectors have mean (d + 1) / 2.
        const double mid = 0.5 * static_cast<double>(d + 1);
        double sab = 0, saa = 0, sbb = 0;
        for (std::int64_t k = 0; k < d; ++k) {
          const double ra = avg_rank(va, i, k, d) - mid, rb = avg_rank(vb, i, k, d) - mid;
          sab += ra * rb;
          saa += ra * ra;
          sbb += rb * rb;
        }
        out(i) = (saa > 0 && sbb > 0) ? sab / Kokkos::Experimental::sqrt(saa * sbb)
                                      : nan;
      });
  Kokkos::fence();
  return to_host(out);
}

double uvp(const Matrix& pred, const Matrix& truth) {
  if (pred.rows != truth.rows || pred.cols != truth.cols || pred.rows == 0)
    throw InputError("metrics", "uvp", std::to_string(pred.rows) + " vs " + std::to_string(truth.rows),
                     "predictions and true responses must pair row by row");
  const RowView p = upload_rows(pred, "cellot::metrics::uvp_pred"), t = upload_rows(truth, "cellot::metrics::uvp_truth");
  const std::int64_t d = pred.cols;
  // Per-row sums in parallel, added in row order on the host: a parallel_reduce's order depends
  // on the backend and its thread count.
  VecView rows("cellot::metrics::uvp_rows", pred.rows);
  Kokkos::parallel_for(
      "cellot::metrics::uvp", Kokkos::RangePolicy<ExecSpace>(0, pred.rows), KOKKOS_LAMBDA(const std::int64_t i) {
        double acc = 0;
        for (std::int64_t k = 0; k < d; ++k) acc += (p(i, k) - t(i, k)) * (p(i, k) - t(i, k));
        rows(i) = acc;
      });
  Kokkos::fence();
  double sq = 0;
  for (const double r : to_host(rows)) sq += r;
  const Moments m = feature_moments(truth);
  // Total variance with ddof = 0: sd (ddof 1) squared times (n - 1) / n.
  const double n = static_cast<double>(truth.rows);
  double var = 0;
  for (const double s : m.sd) var += s * s * (n - 1) / n;
  if (!(var > 0)) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * (sq / n) / var;
}

}  // namespace cellot::metrics::detail
