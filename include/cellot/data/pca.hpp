#pragma once
// Principal components of a cell sample by randomized subspace iteration (Halko, Martinsson and
// Tropp 2011, algorithm 4.4): a fixed Gaussian test matrix, power iterations with
// re-orthonormalisation, then the exact SVD of the small projected matrix. Deterministic: the
// test matrix comes from a fixed stream, every sum runs over rows in ascending order, and each
// component's sign is fixed (its largest-magnitude loading is positive). Zeros of the (sparse,
// log-normalised) input are skipped: the centring is applied as a rank-one correction, so the
// cost per pass is ~ nnz x (K + oversampling) rather than cells x genes x (K + oversampling).
#include <cstdint>
#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::data {

struct Pca {
  std::vector<double> mean;          // per input feature (d)
  Matrix components;                 // K x d, orthonormal rows, by decreasing variance
  std::vector<double> variance;      // per component, of the sample (ddof 1)
  double total_variance = 0;         // sum of the features' variances (ddof 1)
};

struct PcaOptions {
  int oversample = 10;    // extra test directions beyond K
  int power_iters = 4;    // subspace iterations (more: more accurate trailing components)
  std::uint64_t seed = 0; // test-matrix stream
};

// The top k principal components of the rows of x (k <= min(rows, cols)).
Pca fit_pca(const Matrix& x, int k, const PcaOptions& options = {});

// Orthonormalises the columns of a (rows x cols) in place by modified Gram-Schmidt, run twice
// (numerically orthonormal to ~1e-15); a column that vanishes is replaced by zeros.
void orthonormalise_columns(Matrix& a);

// Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations: eigenvalues in
// decreasing order and the eigenvectors as the columns of `vectors`.
void symmetric_eigen(const Matrix& a, std::vector<double>& values, Matrix& vectors);

}  // namespace cellot::data
