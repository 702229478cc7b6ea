// PCA from the covariance of row blocks (see pca.hpp): the block moments are summed in the fixed
// tree of core/tree_sum.hpp and the covariance is decomposed by subspace iteration, so the result
// is a function of the sample and the options alone (not of ranks or threads).
#include "cellot/data/pca.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <climits>
#include <cmath>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/core/tree_sum.hpp"

namespace cellot::data {

namespace {

void run(const ParallelFor& parallel, std::int64_t n, const std::function<void(std::int64_t)>& fn) {
  if (parallel) {
    parallel(n, fn);
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) fn(i);
}

// Offset of entry (j, j) in the packed upper triangle of a d x d matrix (row j holds j..d-1).
std::int64_t diag_offset(std::int64_t j, std::int64_t d) { return j * d - j * (j - 1) / 2; }

// Items threads split the genes into: contiguous ranges of about equal triangle area.
constexpr std::int64_t kGeneStripes = 16;

std::vector<std::int64_t> stripe_bounds(std::int64_t d) {
  std::vector<std::int64_t> b{0};
  for (std::int64_t s = 1; s < kGeneStripes; ++s) {
    const double g = static_cast<double>(d) * (1.0 - std::sqrt(1.0 - static_cast<double>(s) / kGeneStripes));
    b.push_back(std::clamp<std::int64_t>(static_cast<std::int64_t>(g), b.back(), d));
  }
  b.push_back(d);
  return b;
}

// out (d sums, then the packed upper triangle of X^T X) += the moments of the rows of x, from
// their non-zeros; entry (j, k) is owned by the stripe of j and summed over rows in order.
void block_moments(const Matrix& x, double* out, const ParallelFor& parallel) {
  const std::int64_t n = x.rows, d = x.cols;
  std::vector<std::int64_t> start(static_cast<std::size_t>(n + 1), 0);
  std::vector<std::int32_t> idx;
  std::vector<double> val;
  for (std::int64_t i = 0; i < n; ++i) {
    const double* xi = x.row(i);
    for (std::int64_t j = 0; j < d; ++j)
      if (xi[j] != 0.0) {
        idx.push_back(static_cast<std::int32_t>(j));
        val.push_back(xi[j]);
      }
    start[static_cast<std::size_t>(i + 1)] = static_cast<std::int64_t>(idx.size());
  }
  const auto bounds = stripe_bounds(d);
  double* gram = out + d;
  run(parallel, kGeneStripes, [&](std::int64_t s) {
    const std::int64_t g0 = bounds[static_cast<std::size_t>(s)], g1 = bounds[static_cast<std::size_t>(s + 1)];
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t lo = start[static_cast<std::size_t>(i)], hi = start[static_cast<std::size_t>(i + 1)];
      const std::int32_t* first = std::lower_bound(idx.data() + lo, idx.data() + hi, static_cast<std::int32_t>(g0));
      for (std::int64_t a = first - idx.data(); a < hi && idx[static_cast<std::size_t>(a)] < g1; ++a) {
        const std::int64_t j = idx[static_cast<std::size_t>(a)];
        const double v = val[static_cast<std::size_t>(a)];
        out[j] += v;
        double* row = gram + diag_offset(j, d) - j;  // row[k] is entry (j, k), k >= j
        for (std::int64_t b = a; b < hi; ++b) row[idx[static_cast<std::size_t>(b)]] += v * val[static_cast<std::size_t>(b)];
      }
    }
  });
}

// y (d x l) = c (d x d, full) q: rows split over the ranks of comm (then gathered) and each
// rank's rows over its threads; every entry is one fixed-order sum over k, computed by its owner.
Matrix times(const Matrix& c, const Matrix& q, const ParallelFor& parallel, MPI_Comm comm) {
  const std::int64_t d = c.rows, l = q.cols;
  int rank = 0, size = 1;
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  const auto [first, last] = leaf_share(d, rank, size);
  Matrix y(d, l);
  constexpr std::int64_t kRows = 16;
  run(parallel, (last - first + kRows - 1) / kRows, [&, first = first, last = last](std::int64_t item) {
    for (std::int64_t j = first + item * kRows; j < std::min(last, first + (item + 1) * kRows); ++j) {
      double* out = y.row(j);
      const double* cj = c.row(j);
      for (std::int64_t k = 0; k < d; ++k) {
        const double v = cj[k];
        const double* qk = q.row(k);
        for (std::int64_t a = 0; a < l; ++a) out[a] += v * qk[a];
      }
    }
  });
  if (size == 1) return y;
  CELLOT_CHECK(d * l <= INT_MAX, "PCA product too large for one MPI_Allgatherv");
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) {
    const auto [b, e] = leaf_share(d, r, size);
    counts[static_cast<std::size_t>(r)] = static_cast<int>((e - b) * l);
    displs[static_cast<std::size_t>(r)] = static_cast<int>(b * l);
  }
  // Bound: every rank runs the same products in lockstep after the agreed tree sum (no failure
  // path in between: the covariance and the products are local arithmetic).
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, y.data.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  return y;
}

// The covariance (ddof 1) and mean of n rows from their summed moments.
Matrix covariance(const std::vector<double>& moments, std::int64_t n, std::int64_t d, std::vector<double>& mean) {
  mean.assign(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] = moments[static_cast<std::size_t>(j)] / static_cast<double>(n);
  Matrix c(d, d);
  const double* gram = moments.data() + d;
  const double dof = n > 1 ? static_cast<double>(n - 1) : 1.0;
  for (std::int64_t j = 0; j < d; ++j) {
    const double* row = gram + diag_offset(j, d) - j;
    const double sj = moments[static_cast<std::size_t>(j)];
    for (std::int64_t k = j; k < d; ++k) {
      const double v = (row[k] - sj * mean[static_cast<std::size_t>(k)]) / dof;
      c(j, k) = v;
      c(k, j) = v;
    }
  }
  return c;
}

// Top k eigenpairs of the covariance by subspace iteration and Rayleigh-Ritz.
void components_of(const Matrix& c, int k, const PcaOptions& options, const ParallelFor& parallel, MPI_Comm comm,
                   Pca& out) {
  const std::int64_t d = c.rows;
  const std::int64_t l = std::min<std::int64_t>({k + std::max(0, options.oversample), out.cells, d});
  Matrix omega(d, l);
  Rng rng(options.seed, "pca/test-matrix");
  for (auto& v : omega.data) v = rng.normal();
  Matrix q = times(c, omega, parallel, comm);
  orthonormalise_columns(q);
  for (int it = 0; it < options.power_iters; ++it) {
    q = times(c, q, parallel, comm);
    orthonormalise_columns(q);
  }
  const Matrix cq = times(c, q, parallel, comm);
  Matrix t(l, l);
  for (std::int64_t j = 0; j < d; ++j)
    for (std::int64_t a = 0; a < l; ++a)
      for (std::int64_t b = a; b < l; ++b) t(a, b) += q(j, a) * cq(j, b);
  for (std::int64_t a = 0; a < l; ++a)
    for (std::int64_t b = 0; b < a; ++b) t(a, b) = t(b, a);
  std::vector<double> lambda;
  Matrix u;
  symmetric_eigen(t, lambda, u);
  out.components = Matrix(k, d);
  out.variance.assign(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t comp = 0; comp < k; ++comp) {
    out.variance[static_cast<std::size_t>(comp)] = std::max(lambda[static_cast<std::size_t>(comp)], 0.0);
    double* row = out.components.row(comp);
    for (std::int64_t j = 0; j < d; ++j) {
      double v = 0;
      for (std::int64_t a = 0; a < l; ++a) v += q(j, a) * u(a, comp);
      row[j] = v;
    }
    std::int64_t arg = 0;
    for (std::int64_t j = 1; j < d; ++j)
      if (std::abs(row[j]) > std::abs(row[arg])) arg = j;
    if (row[arg] < 0)
      for (std::int64_t j = 0; j < d; ++j) row[j] = -row[j];
  }
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

Pca fit_pca_blocks(std::int64_t n, std::int64_t d, int k, const RowBlockLoader& load, MPI_Comm comm,
                   const PcaOptions& options, const ParallelFor& parallel) {
  if (k < 1 || k > std::min(n, d))
    throw InputError("data", "data.embedding", "pca:" + std::to_string(k),
                     "needs 1 <= K <= min(training cells, features) = " + std::to_string(std::min(n, d)));
  const std::int64_t blocks = (n + kPcaBlockRows - 1) / kPcaBlockRows;
  const std::int64_t width = d + d * (d + 1) / 2;
  std::clock_t read_cpu = 0, block_cpu = 0;
  const TreeLeaf leaf = [&](std::int64_t b, double* out) {
    const std::int64_t first = b * kPcaBlockRows, last = std::min(n, first + kPcaBlockRows);
    const std::clock_t r0 = std::clock();
    const Matrix x = load(first, last);
    CELLOT_CHECK(x.rows == last - first && x.cols == d, "PCA row block shape");
    const std::clock_t r1 = std::clock();
    block_moments(x, out, parallel);
    read_cpu += r1 - r0;
    block_cpu += std::clock() - r1;
  };
  const TreeAdd add = [&](double* a, const double* b, std::int64_t len) {
    constexpr std::int64_t kChunk = 1 << 16;
    run(parallel, (len + kChunk - 1) / kChunk, [&](std::int64_t item) {
      for (std::int64_t i = item * kChunk; i < std::min(len, (item + 1) * kChunk); ++i) a[i] += b[i];
    });
  };
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const std::vector<double> moments = tree_sum(blocks, width, leaf, comm, add);
  const auto t1 = std::chrono::steady_clock::now();
  const std::clock_t c1 = std::clock();
  Pca out;
  out.cells = n;
  const Matrix c = covariance(moments, n, d, out.mean);
  for (std::int64_t j = 0; j < d; ++j) out.total_variance += c(j, j);
  components_of(c, k, options, parallel, comm, out);
  const auto secs = [](auto a, auto b) { return log::format_duration(std::chrono::duration<double>(b - a).count()); };
  const auto cpu = [](std::clock_t a, std::clock_t b) { return log::format_duration(static_cast<double>(b - a) / CLOCKS_PER_SEC); };
  log::debug("pca: " + std::to_string(n) + " cells in " + std::to_string(blocks) + " blocks: moments " + secs(t0, t1) +
             " (CPU " + cpu(c0, c1) + ": reading blocks " + cpu(0, read_cpu) + ", their moments " + cpu(0, block_cpu) +
             "), components " + secs(t1, std::chrono::steady_clock::now()) + " (CPU " + cpu(c1, std::clock()) +
             ") on this rank");
  return out;
}

Pca fit_pca(const Matrix& x, int k, const PcaOptions& options, const ParallelFor& parallel) {
  const RowBlockLoader load = [&](std::int64_t first, std::int64_t last) {
    Matrix block(last - first, x.cols);
    std::copy(x.row(first), x.row(first) + (last - first) * x.cols, block.data.begin());
    return block;
  };
  return fit_pca_blocks(x.rows, x.cols, k, load, MPI_COMM_NULL, options, parallel);
}

}  // namespace cellot::data
