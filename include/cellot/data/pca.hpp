#pragma once
// Principal components of a cell sample from its covariance, fitted in parallel and streamed:
//
//  1. Moments. The sample's rows are cut into fixed blocks of kPcaBlockRows rows (the cut depends
//     on the sample size only). Each block's moments -- the per-gene sums and the upper triangle
//     of X_b^T X_b -- are accumulated from its non-zeros only (a sparse, log-normalised scRNA-seq
//     row of z non-zeros costs z (z + 1) / 2 multiply-adds), every entry summed over the block's
//     rows in ascending order. Threads split a block by genes (each entry has one owner, so the
//     split changes no bit). Block moments are added in the fixed tree over block indices of
//     core/tree_sum.hpp: ranks own contiguous runs of blocks and hold one block and one buffer
//     per tree level in memory, so the total is the same bits at any number of ranks and threads.
//  2. Components. The covariance C = (X^T X - n mean mean^T) / (n - 1) (d x d) is decomposed by
//     subspace iteration (Halko, Martinsson and Tropp 2011, algorithm 4.4 applied to C): a fixed
//     Gaussian test matrix, C products with re-orthonormalisation, then the exact
//     eigen-decomposition of the projected l x l matrix (Rayleigh-Ritz). Each component's sign
//     is fixed (its largest-magnitude loading is positive).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::data {

struct Pca {
  std::vector<double> mean;          // per input feature (d)
  Matrix components;                 // K x d, orthonormal rows, by decreasing variance
  std::vector<double> variance;      // per component, of the sample (ddof 1)
  double total_variance = 0;         // sum of the features' variances (ddof 1)
  std::int64_t cells = 0;            // sample size
};

struct PcaOptions {
  int oversample = 10;    // extra test directions beyond K
  int power_iters = 8;    // subspace iterations (more: more accurate trailing components; each is
                          // one d x d x (K + oversample) product)
  std::uint64_t seed = 0; // test-matrix stream
};

// Rows per block of the moments (fixed: the result must not depend on how blocks are shared).
inline constexpr std::int64_t kPcaBlockRows = 1024;

// fn(item) for every item in [0, n), possibly on several threads (nn::parallel_items above the
// data layer); an empty ParallelFor runs them in order on the caller's thread.
using ParallelFor = std::function<void(std::int64_t n, const std::function<void(std::int64_t item)>& fn)>;
// Rows [first, last) of the sample as a dense (cells x d) matrix; zeros are skipped.
using RowBlockLoader = std::function<Matrix(std::int64_t first, std::int64_t last)>;

// The top k principal components of an n x d sample read block by block through `load`.
// Collective over comm (MPI_COMM_NULL: one process): each rank loads and accumulates only the
// blocks of its share; every rank returns the same Pca. InputError unless 1 <= k <= min(n, d).
Pca fit_pca_blocks(std::int64_t n, std::int64_t d, int k, const RowBlockLoader& load, MPI_Comm comm,
                   const PcaOptions& options = {}, const ParallelFor& parallel = {});

// The same for a sample held in memory (one process).
Pca fit_pca(const Matrix& x, int k, const PcaOptions& options = {}, const ParallelFor& parallel = {});

// Orthonormalises the columns of a (rows x cols) in place by modified Gram-Schmidt, run twice
// (numerically orthonormal to ~1e-15); a column that vanishes is replaced by zeros.
void orthonormalise_columns(Matrix& a);

// Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations: eigenvalues in
// decreasing order and the eigenvectors as the columns of `vectors`.
void symmetric_eigen(const Matrix& a, std::vector<double>& values, Matrix& vectors);

}  // namespace cellot::data
