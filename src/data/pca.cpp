// Randomized PCA (see pca.hpp): every product runs over rows in ascending order, so the result
// is a function of the sample and the options alone.
#include "cellot/data/pca.hpp"

#include <algorithm>
#include <cmath>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"

namespace cellot::data {

namespace {

// y (n x l) = (x - 1 mean^T) b, b is d x l.
Matrix times_centred(const Matrix& x, const std::vector<double>& mean, const Matrix& b) {
  const std::int64_t n = x.rows, d = x.cols, l = b.cols;
  std::vector<double> shift(static_cast<std::size_t>(l), 0.0);
  for (std::int64_t j = 0; j < d; ++j)
    for (std::int64_t c = 0; c < l; ++c) shift[static_cast<std::size_t>(c)] += mean[static_cast<std::size_t>(j)] * b(j, c);
  Matrix y(n, l);
  for (std::int64_t i = 0; i < n; ++i) {
    double* out = y.row(i);
    const double* xi = x.row(i);
    for (std::int64_t j = 0; j < d; ++j) {
      const double v = xi[j];
      if (v == 0.0) continue;
      const double* bj = b.row(j);
      for (std::int64_t c = 0; c < l; ++c) out[c] += v * bj[c];
    }
    for (std::int64_t c = 0; c < l; ++c) out[c] -= shift[static_cast<std::size_t>(c)];
  }
  return y;
}

// z (d x l) = (x - 1 mean^T)^T q, q is n x l.
Matrix transpose_times_centred(const Matrix& x, const std::vector<double>& mean, const Matrix& q) {
  const std::int64_t n = x.rows, d = x.cols, l = q.cols;
  std::vector<double> colsum(static_cast<std::size_t>(l), 0.0);
  Matrix z(d, l);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* xi = x.row(i);
    const double* qi = q.row(i);
    for (std::int64_t c = 0; c < l; ++c) colsum[static_cast<std::size_t>(c)] += qi[c];
    for (std::int64_t j = 0; j < d; ++j) {
      const double v = xi[j];
      if (v == 0.0) continue;
      double* zj = z.row(j);
      for (std::int64_t c = 0; c < l; ++c) zj[c] += v * qi[c];
    }
  }
  for (std::int64_t j = 0; j < d; ++j)
    for (std::int64_t c = 0; c < l; ++c) z(j, c) -= mean[static_cast<std::size_t>(j)] * colsum[static_cast<std::size_t>(c)];
  return z;
}

}  // namespace

void orthonormalise_columns(Matrix& a) {
  const std::int64_t n = a.rows, l = a.cols;
  for (int pass = 0; pass < 2; ++pass)
    for (std::int64_t c = 0; c < l; ++c) {
      for (std::int64_t p = 0; p < c; ++p) {
        double dot = 0;
        for (std::int64_t i = 0; i < n; ++i) dot += a(i, p) * a(i, c);
        for (std::int64_t i = 0; i < n; ++i) a(i, c) -= dot * a(i, p);
      }
      double norm = 0;
      for (std::int64_t i = 0; i < n; ++i) norm += a(i, c) * a(i, c);
      norm = std::sqrt(norm);
      // A direction that vanished (rank below l) stays zero rather than amplifying rounding.
      const double inv = norm > 1e-300 ? 1.0 / norm : 0.0;
      for (std::int64_t i = 0; i < n; ++i) a(i, c) *= inv;
    }
}

void symmetric_eigen(const Matrix& in, std::vector<double>& values, Matrix& vectors) {
  const std::int64_t n = in.rows;
  CELLOT_CHECK(in.cols == n, "symmetric_eigen needs a square matrix");
  Matrix a = in;
  vectors = Matrix(n, n);
  for (std::int64_t i = 0; i < n; ++i) vectors(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      diag += a(i, i) * a(i, i);
      for (std::int64_t j = i + 1; j < n; ++j) off += a(i, j) * a(i, j);
    }
    if (off <= 1e-30 * diag || off == 0.0) break;
    for (std::int64_t p = 0; p < n; ++p)
      for (std::int64_t q = p + 1; q < n; ++q) {
        const double apq = a(p, q);
        if (std::abs(apq) < 1e-300) continue;
        const double theta = (a(q, q) - a(p, p)) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (std::int64_t k = 0; k < n; ++k) {
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * akq;
          a(k, q) = s * akp + c * akq;
        }
        for (std::int64_t k = 0; k < n; ++k) {
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * aqk;
          a(q, k) = s * apk + c * aqk;
        }
        for (std::int64_t k = 0; k < n; ++k) {
          const double vkp = vectors(k, p), vkq = vectors(k, q);
          vectors(k, p) = c * vkp - s * vkq;
          vectors(k, q) = s * vkp + c * vkq;
        }
      }
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return a(x, x) > a(y, y); });
  Matrix sorted(n, n);
  values.assign(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t c = 0; c < n; ++c) {
    const std::int64_t from = order[static_cast<std::size_t>(c)];
    values[static_cast<std::size_t>(c)] = a(from, from);
    for (std::int64_t k = 0; k < n; ++k) sorted(k, c) = vectors(k, from);
  }
  vectors = std::move(sorted);
}

Pca fit_pca(const Matrix& x, int k, const PcaOptions& options) {
  const std::int64_t n = x.rows, d = x.cols;
  if (k < 1 || k > std::min(n, d))
    throw InputError("data", "data.embedding", "pca:" + std::to_string(k),
                     "needs 1 <= K <= min(training cells, features) = " + std::to_string(std::min(n, d)));
  const std::int64_t l = std::min<std::int64_t>({k + std::max(0, options.oversample), n, d});
  Pca out;
  out.mean.assign(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) out.mean[static_cast<std::size_t>(j)] += x(i, j);
  for (auto& m : out.mean) m /= static_cast<double>(n);
  for (std::int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double c = x(i, j) - out.mean[static_cast<std::size_t>(j)];
      s += c * c;
    }
    out.total_variance += n > 1 ? s / static_cast<double>(n - 1) : 0.0;
  }

  Matrix omega(d, l);
  Rng rng(options.seed, "pca/test-matrix");
  for (auto& v : omega.data) v = rng.normal();
  Matrix y = times_centred(x, out.mean, omega);
  orthonormalise_columns(y);
  for (int q = 0; q < options.power_iters; ++q) {
    Matrix z = transpose_times_centred(x, out.mean, y);
    orthonormalise_columns(z);
    y = times_centred(x, out.mean, z);
    orthonormalise_columns(y);
  }
  // B^T = Xc^T Y (d x l); B B^T = (B^T)^T B^T is l x l.
  const Matrix bt = transpose_times_centred(x, out.mean, y);
  Matrix gram(l, l);
  for (std::int64_t j = 0; j < d; ++j)
    for (std::int64_t a = 0; a < l; ++a)
      for (std::int64_t b = a; b < l; ++b) gram(a, b) += bt(j, a) * bt(j, b);
  for (std::int64_t a = 0; a < l; ++a)
    for (std::int64_t b = 0; b < a; ++b) gram(a, b) = gram(b, a);
  std::vector<double> lambda;
  Matrix u;
  symmetric_eigen(gram, lambda, u);

  out.components = Matrix(k, d);
  out.variance.assign(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t c = 0; c < k; ++c) {
    const double ev = std::max(lambda[static_cast<std::size_t>(c)], 0.0);
    const double sv = std::sqrt(ev);
    out.variance[static_cast<std::size_t>(c)] = n > 1 ? ev / static_cast<double>(n - 1) : 0.0;
    double* comp = out.components.row(c);
    for (std::int64_t j = 0; j < d; ++j) {
      double v = 0;
      for (std::int64_t a = 0; a < l; ++a) v += bt(j, a) * u(a, c);
      comp[j] = sv > 0 ? v / sv : 0.0;
    }
    std::int64_t arg = 0;
    for (std::int64_t j = 1; j < d; ++j)
      if (std::abs(comp[j]) > std::abs(comp[arg])) arg = j;
    if (comp[arg] < 0)
      for (std::int64_t j = 0; j < d; ++j) comp[j] = -comp[j];
  }
  return out;
}

}  // namespace cellot::data
