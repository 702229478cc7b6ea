// Deterministic data parallelism (nn/micro_batches, nn/threads, nn/epoch_sampler) and the CellOT
// trainer's independence of the thread count: every reduction at several thread counts.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"
#include "cellot/models/model.hpp"
#include "cellot/nn/epoch_sampler.hpp"
#include "cellot/nn/micro_batches.hpp"
#include "cellot/nn/threads.hpp"

namespace nn = cellot::nn;
namespace models = cellot::models;
using cellot::Config;
using cellot::Matrix;

namespace {

// Restores one thread (the test main's setting) when a test ends.
struct ThreadScope {
  explicit ThreadScope(int n) { nn::set_threads(n); }
  ~ThreadScope() { nn::set_threads(1); }
};

}  // namespace

TEST(MicroBatches, RowsPartitionTheBatch) {
  for (std::int64_t b : {1, 7, 32, 256})
    for (std::int64_t m : {1, 3, 4, 8}) {
      std::int64_t next = 0;
      for (std::int64_t k = 0; k < m; ++k) {
        const auto [lo, hi] = nn::micro_rows(b, m, k);
        EXPECT_EQ(lo, next);
        EXPECT_LE(hi - lo, (b + m - 1) / m);
        next = hi;
      }
      EXPECT_EQ(next, b);
    }
}

TEST(MicroBatches, TreeCoverIsTheLargestSubtreesInOrder) {
  using N = nn::TreeNode;
  EXPECT_EQ(nn::tree_cover(4, 0, 4), (std::vector<N>{{0, 4}}));
  EXPECT_EQ(nn::tree_cover(4, 0, 2), (std::vector<N>{{0, 2}}));
  EXPECT_EQ(nn::tree_cover(4, 1, 4), (std::vector<N>{{1, 2}, {2, 4}}));
  EXPECT_EQ(nn::tree_cover(5, 0, 5), (std::vector<N>{{0, 5}}));
  EXPECT_EQ(nn::tree_cover(5, 2, 5), (std::vector<N>{{2, 4}, {4, 5}}));
  EXPECT_EQ(nn::tree_mid({0, 5}), 4);
  EXPECT_EQ(nn::tree_mid({0, 4}), 2);
  EXPECT_EQ(nn::tree_mid({4, 7}), 6);
  EXPECT_TRUE(nn::tree_cover(4, 2, 2).empty());
  // Any split of [0, m) into contiguous runs is covered exactly once.
  for (std::int64_t m = 1; m <= 9; ++m)
    for (std::int64_t cut = 0; cut <= m; ++cut) {
      std::vector<int> seen(static_cast<std::size_t>(m), 0);
      for (auto run : {std::make_pair(std::int64_t{0}, cut), std::make_pair(cut, m)})
        for (const auto& n : nn::tree_cover(m, run.first, run.second))
          for (std::int64_t k = n.lo; k < n.hi; ++k) ++seen[static_cast<std::size_t>(k)];
      for (int s : seen) EXPECT_EQ(s, 1);
    }
}

namespace {
// The tree sum written out: node [lo, hi) = left + right.
float tree_sum(const std::vector<float>& v, std::int64_t lo, std::int64_t hi) {
  if (hi - lo == 1) return v[static_cast<std::size_t>(lo)];
  const std::int64_t mid = nn::tree_mid({lo, hi});
  return tree_sum(v, lo, mid) + tree_sum(v, mid, hi);
}
}  // namespace

TEST(MicroBatches, ReducerSumsInTreeOrderAtAnyThreadCount) {
  cellot::Rng rng(3);
  const std::int64_t m = 7, width = 1000;
  // Values of very different magnitudes, so that another order would change the bits.
  std::vector<std::vector<float>> leaves(static_cast<std::size_t>(m), std::vector<float>(width));
  for (auto& l : leaves)
    for (auto& x : l) x = static_cast<float>(rng.normal() * std::pow(10.0, rng.uniform(-4, 4)));
  std::vector<float> expected(width), sequential(width, 0.f);
  for (std::int64_t j = 0; j < width; ++j) {
    std::vector<float> col;
    for (const auto& l : leaves) col.push_back(l[static_cast<std::size_t>(j)]);
    expected[static_cast<std::size_t>(j)] = tree_sum(col, 0, m);
    for (float x : col) sequential[static_cast<std::size_t>(j)] += x;
  }
  EXPECT_NE(expected, sequential);  // the order is visible in the bits
  for (int threads : {1, 2, 3, 8}) {
    ThreadScope scope(threads);
    nn::MicroBatchReducer reducer(m, width, MPI_COMM_SELF);
    ASSERT_EQ(reducer.owned(), m);
    nn::parallel_items(m, [&](std::int64_t k, int) {
      std::copy(leaves[static_cast<std::size_t>(k)].begin(), leaves[static_cast<std::size_t>(k)].end(), reducer.slot(k));
    });
    int votes = -1;
    const float* total = reducer.reduce(1, &votes);
    EXPECT_EQ(votes, 1);
    EXPECT_EQ(std::vector<float>(total, total + width), expected) << threads << " threads";
  }
}

TEST(Threads, EveryItemOnceWorkersInRangeErrorsRethrown) {
  for (int threads : {1, 2, 4}) {
    ThreadScope scope(threads);
    EXPECT_EQ(nn::workers(), threads);
    for (int rep = 0; rep < 200; ++rep) {  // many short jobs back to back, as training steps are
      std::vector<std::atomic<int>> hits(37);
      std::atomic<int> bad_worker{0};
      nn::parallel_items(37, [&](std::int64_t i, int w) {
        hits[static_cast<std::size_t>(i)].fetch_add(1);
        if (w < 0 || w >= threads) bad_worker.fetch_add(1);
      });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
      ASSERT_EQ(bad_worker.load(), 0);
    }
    EXPECT_THROW(nn::parallel_items(5, [](std::int64_t i, int) {
                   if (i == 3) throw std::runtime_error("item 3");
                 }),
                 std::runtime_error);
    // Nested calls run on the calling thread, with its workspace index.
    std::atomic<int> mismatched{0};
    nn::parallel_items(4, [&](std::int64_t, int outer) {
      nn::parallel_items(3, [&](std::int64_t, int inner) {
        if (inner != outer) mismatched.fetch_add(1);
      });
    });
    EXPECT_EQ(mismatched.load(), 0);
  }
}

TEST(EpochSampler, EachEpochIsAPermutationWithAPartialLastBatch) {
  nn::EpochSampler s(10, 4, cellot::Rng(5, "t"));
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<std::int64_t> all;
    for (std::size_t expected : {4u, 4u, 2u}) {
      const auto& b = s.next();
      EXPECT_EQ(b.size(), expected);
      all.insert(all.end(), b.begin(), b.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> iota(10);
    std::iota(iota.begin(), iota.end(), 0);
    EXPECT_EQ(all, iota) << "epoch " << epoch;
  }
}

TEST(EpochSampler, StateRestoresTheSameBatches) {
  nn::EpochSampler a(13, 5, cellot::Rng(9, "t"));
  for (int i = 0; i < 4; ++i) a.next();  // inside the second epoch
  const auto state = a.state();
  std::vector<std::vector<std::int64_t>> rest;
  for (int i = 0; i < 7; ++i) rest.push_back(a.next());
  nn::EpochSampler b(13, 5, cellot::Rng(1, "other"));
  b.set_state(state);
  for (const auto& r : rest) EXPECT_EQ(b.next(), r);
}

namespace {
Config trainer_config() {
  Config cfg;
  cfg.model.hidden = "16,16";
  cfg.training.iters = 8;
  cfg.training.batch_size = 48;
  cfg.training.inner_iters = 2;
  cfg.training.eval_every = 4;
  cfg.training.lr = 1e-3;
  return cfg;
}

models::CellotResult train_once(const Config& cfg) {
  cellot::Rng rng(21);
  models::TrainInput in;
  in.perturbation = "p";
  auto fill = [&](std::int64_t n, double shift) {
    Matrix m(n, 6);
    for (auto& v : m.data) v = rng.normal() + shift;
    return m;
  };
  in.source_train = fill(130, 0);  // 130 = 2 x 48 + 34: partial last batches
  in.target_train = fill(100, 1);
  in.source_val = fill(70, 0);  // more than one chunk of validation rows
  in.target_val = fill(30, 1);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 8;
  ctx.validation_metric = [](const Matrix& p, const Matrix& o) {
    double s = 0;
    for (double v : p.data) s += v;
    for (double v : o.data) s -= v;
    return std::abs(s);
  };
  return models::train_cellot(models::IcnnShape::from_config(cfg, 6), models::CellotHyper::from_config(cfg), in, ctx);
}
}  // namespace

TEST(CellotTrainer, SameBitsAtAnyThreadCount) {
  const Config cfg = trainer_config();
  const auto one = train_once(cfg);
  for (int threads : {2, 3, 4}) {
    ThreadScope scope(threads);
    const auto many = train_once(cfg);
    EXPECT_EQ(many.f, one.f) << threads << " threads";
    EXPECT_EQ(many.g, one.g) << threads << " threads";
    EXPECT_EQ(many.curves.rows, one.curves.rows) << threads << " threads";
  }
  // The micro-batch count is part of the numerics: another count is another (valid) result.
  Config other = cfg;
  other.training.micro_batches = 3;
  EXPECT_NE(train_once(other).g, one.g);
}

namespace {
// scGen / cAE on 200 + 180 training cells (batches of 64: a partial last batch), dropout on.
std::unique_ptr<models::Model> train_autoencoder(const std::string& name, std::int64_t micro_batches = 4) {
  Config cfg;
  cfg.model.name = name;
  cfg.model.dropout = 0.1;
  cfg.training.epochs = 6;
  cfg.training.batch_size = 64;
  cfg.training.eval_every = 5;
  cfg.training.lr = 1e-3;
  cfg.training.micro_batches = micro_batches;
  cellot::Rng rng(21, "ae-threads");
  auto fill = [&](std::int64_t n, double shift) {
    Matrix m(n, 6);
    for (auto& v : m.data) v = rng.normal() + shift;
    return m;
  };
  models::TrainInput in;
  in.perturbation = "drug";
  in.source_train = fill(200, 0);
  in.target_train = fill(180, 1);
  in.source_val = fill(30, 0);
  in.target_val = fill(30, 1);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = MPI_COMM_SELF;
  ctx.seed = 5;
  auto m = models::make_model(cfg, 6);
  m->train(in, ctx);
  return m;
}

std::vector<float> flat_params(const models::Model& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters())  // the grid's record holds its wall times
    if (p.name != "selection") out.insert(out.end(), p.values.begin(), p.values.end());
  return out;
}
}  // namespace

TEST(AutoencoderTrainer, SameBitsAtAnyThreadCount) {
  for (const char* name : {"scgen", "cae"}) {
    const auto one = train_autoencoder(name);
    for (int threads : {2, 3, 4}) {
      ThreadScope scope(threads);
      const auto many = train_autoencoder(name);
      EXPECT_EQ(flat_params(*many), flat_params(*one)) << name << ", " << threads << " threads";
      EXPECT_EQ(many->curves().rows, one->curves().rows) << name << ", " << threads << " threads";
    }
    // The micro-batch count is part of the numerics.
    EXPECT_NE(flat_params(*train_autoencoder(name, 3)), flat_params(*one)) << name;
  }
}
