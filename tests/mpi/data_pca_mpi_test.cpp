// The PCA fit over a rank group (data/pca.hpp): each rank loads only the row blocks of its share,
// and the fitted mean, components and variances are the same bits as one process fitting the same
// sample, at 1, 2 and 3 ranks and 1 and 2 threads per rank. A block that fails to load on one rank
// makes every rank throw (none is left waiting).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/core/tree_sum.hpp"
#include "cellot/data/pca.hpp"
#include "cellot/nn/threads.hpp"

using namespace cellot;

namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Sparse, low-rank-plus-noise counts-like rows (about 70% zeros), the same on every rank.
Matrix sample(std::int64_t n, std::int64_t d) {
  Rng rng(11, "pca-mpi-sample");
  Matrix w(4, d);
  for (auto& v : w.data) v = rng.normal();
  Matrix x(n, d);
  for (std::int64_t i = 0; i < n; ++i) {
    double z[4];
    for (double& v : z) v = rng.normal();
    for (std::int64_t j = 0; j < d; ++j) {
      double v = 0.3 * rng.normal() - 0.8;
      for (int a = 0; a < 4; ++a) v += z[a] * w(a, j) * 0.5;
      x(i, j) = v > 0 ? std::log1p(v * 10.0) : 0.0;
    }
  }
  return x;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

struct ThreadScope {
  explicit ThreadScope(int n) { nn::set_threads(n); }
  ~ThreadScope() { nn::set_threads(1); }
};

}  // namespace

TEST(PcaMpi, SameBitsAsOneProcessAtAnyRanksAndThreads) {
  // 5 blocks of kPcaBlockRows (the last one short): shares of 5/0, 3/2, 2/2/1 blocks.
  const std::int64_t n = 4 * data::kPcaBlockRows + 300, d = 90;
  const Matrix x = sample(n, d);
  double zeros = 0;
  for (double v : x.data) zeros += v == 0.0;
  ASSERT_GT(zeros / static_cast<double>(x.data.size()), 0.5);
  const data::Pca ref = data::fit_pca(x, 6);  // one process, one thread, no MPI
  for (int threads : {1, 2}) {
    ThreadScope scope(threads);
    std::set<std::int64_t> loaded;
    const data::RowBlockLoader load = [&](std::int64_t first, std::int64_t last) {
      loaded.insert(first / data::kPcaBlockRows);
      Matrix b(last - first, d);
      std::copy(x.row(first), x.row(last), b.data.begin());
      return b;
    };
    const data::Pca p = data::fit_pca_blocks(n, d, 6, load, MPI_COMM_WORLD, {}, nn::parallel_for);
    EXPECT_TRUE(same_bits(p.mean, ref.mean)) << threads << " threads";
    EXPECT_TRUE(same_bits(p.components.data, ref.components.data)) << threads << " threads";
    EXPECT_TRUE(same_bits(p.variance, ref.variance)) << threads << " threads";
    EXPECT_EQ(std::memcmp(&p.total_variance, &ref.total_variance, sizeof(double)), 0);
    // This rank read exactly the blocks of its share.
    const auto [b, e] = leaf_share(5, world_rank(), world_size());
    std::set<std::int64_t> mine;
    for (std::int64_t k = b; k < e; ++k) mine.insert(k);
    EXPECT_EQ(loaded, mine);
  }
  // The components are a real fit: orthonormal, by decreasing variance.
  for (std::int64_t a = 0; a < 6; ++a) {
    if (a > 0) {
      EXPECT_GE(ref.variance[static_cast<std::size_t>(a - 1)], ref.variance[static_cast<std::size_t>(a)]);
    }
    for (std::int64_t c = 0; c < 6; ++c) {
      double dot = 0;
      for (std::int64_t j = 0; j < d; ++j) dot += ref.components(a, j) * ref.components(c, j);
      EXPECT_NEAR(dot, a == c ? 1.0 : 0.0, 1e-12);
    }
  }
}

TEST(PcaMpi, ABlockFailingOnOneRankFailsEveryRank) {
  const std::int64_t n = 3 * data::kPcaBlockRows, d = 20;
  const Matrix x = sample(n, d);
  const int last = world_size() - 1;
  const data::RowBlockLoader load = [&](std::int64_t first, std::int64_t end) {
    if (world_rank() == last) throw InputError("data.h5ad", "X", "block", "unreadable block");
    Matrix b(end - first, d);
    std::copy(x.row(first), x.row(end), b.data.begin());
    return b;
  };
  bool threw = false;
  try {
    data::fit_pca_blocks(n, d, 3, load, MPI_COMM_WORLD);
  } catch (const InputError& e) {
    threw = true;
    const std::string what = e.what();
    if (world_rank() == last) {
      EXPECT_NE(what.find("unreadable block"), std::string::npos) << what;
    } else {
      EXPECT_NE(what.find("rank " + std::to_string(last)), std::string::npos) << what;
    }
  }
  EXPECT_TRUE(threw);
}

TEST(TreeSum, OrderIsTheTreeNotTheRanks) {
  // Leaves whose float sum depends on the order: 1e16, then 1s, then -1e16.
  const std::int64_t m = 7;
  const TreeLeaf leaf = [](std::int64_t k, double* out) { out[0] = k == 0 ? 1e16 : k == m - 1 ? -1e16 : 1.0; };
  const auto got = tree_sum(m, 1, leaf, MPI_COMM_WORLD);
  const auto serial = tree_sum(m, 1, leaf, MPI_COMM_NULL);
  // The tree: [0,4) + [4,7) = ((1e16 + 1) + (1 + 1)) + ((1 + 1) + -1e16) -> 1e16 + 2 - 1e16 + 2.
  const double expect = ((1e16 + 1.0) + (1.0 + 1.0)) + ((1.0 + 1.0) + -1e16);
  EXPECT_EQ(got[0], expect);
  EXPECT_EQ(serial[0], expect);
}
