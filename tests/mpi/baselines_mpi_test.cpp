// The autoencoder baselines trained data-parallel over MPI_COMM_WORLD: parameters stay
// bit-identical across ranks, a run is reproducible for the same seed and rank count, it
// equals the single-rank run bit for bit, and a stop request on one rank
// stops every rank at the same step.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>

#include "cellot/core/rng.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"

using namespace cellot;
using namespace cellot::models;

namespace {

constexpr std::int64_t kD = 8;

Matrix cells(std::int64_t n, Rng& rng, bool perturbed) {
  Matrix m(n, kD);
  for (std::int64_t i = 0; i < n; ++i) {
    const double u0 = rng.normal() * (perturbed ? 1.6 : 1.0), u1 = rng.normal() * (perturbed ? 0.6 : 1.0);
    for (std::int64_t j = 0; j < kD; ++j)
      m(i, j) = 0.1 * rng.normal() + (j % 3 - 1.0) * u0 + (j % 2 ? 0.5 : -0.7) * u1 + (perturbed ? 1.2 : 0.0);
  }
  return m;
}

// 300 + 300 training cells: batches of 128 leave a partial last batch of 88 rows per epoch.
TrainInput make_input() {
  Rng rng(31, "baselines-mpi");  // the same data on every rank
  TrainInput in;
  in.perturbation = "drug";
  in.source_train = cells(300, rng, false);
  in.target_train = cells(300, rng, true);
  in.source_val = cells(40, rng, false);
  in.target_val = cells(40, rng, true);
  return in;
}

Config make_config(const std::string& name, std::int64_t epochs) {
  Config cfg;
  cfg.model.name = name;
  cfg.model.dropout = 0.1;  // masks must not depend on the rank count
  cfg.training.epochs = epochs;
  cfg.training.eval_every = 20;
  cfg.training.lr = 1e-3;
  return cfg;
}

std::vector<float> flat(const Model& m) {
  std::vector<float> out;
  for (const auto& p : m.parameters())
    if (p.name != "selection") out.insert(out.end(), p.values.begin(), p.values.end());
  return out;
}

std::unique_ptr<Model> train_on(const std::string& name, MPI_Comm comm, std::uint64_t seed, std::int64_t epochs = 30) {
  const Config cfg = make_config(name, epochs);
  auto m = make_model(cfg, kD);
  TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = comm;
  ctx.seed = seed;
  m->train(make_input(), ctx);
  return m;
}

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

}  // namespace

TEST(BaselinesMpi, ParametersBitIdenticalAcrossRanks) {
  for (const char* name : {"scgen", "cae"}) {
    const auto m = train_on(name, MPI_COMM_WORLD, 7);
    std::vector<float> mine = flat(*m), root = mine;
    MPI_Bcast(root.data(), static_cast<int>(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
    EXPECT_EQ(mine, root) << name << " on rank " << world_rank();
    // The curves (losses come from the allreduce) agree too.
    std::vector<double> last = m->curves().rows.back(), root_last = last;
    MPI_Bcast(root_last.data(), static_cast<int>(root_last.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
    EXPECT_EQ(last, root_last) << name;
  }
}

TEST(BaselinesMpi, SameSeedSameRanksIdentical) {
  for (const char* name : {"scgen", "cae"}) {
    const auto a = train_on(name, MPI_COMM_WORLD, 7);
    const auto b = train_on(name, MPI_COMM_WORLD, 7);
    EXPECT_EQ(flat(*a), flat(*b)) << name;
    EXPECT_EQ(a->curves().rows, b->curves().rows) << name;
  }
}

TEST(BaselinesMpi, MatchesSingleRankBitForBit) {
  // The batch's micro-batch gradients are summed in one fixed tree whatever the ranks
  // (nn/micro_batches.hpp): the group's model is the lone rank's, bit for bit.
  for (const char* name : {"scgen", "cae"}) {
    const auto group = train_on(name, MPI_COMM_WORLD, 7, 10);
    const auto alone = train_on(name, MPI_COMM_SELF, 7, 10);
    EXPECT_EQ(flat(*group), flat(*alone)) << name;
    EXPECT_EQ(group->curves().rows, alone->curves().rows) << name;
  }
}

TEST(BaselinesMpi, StopRequestOnOneRankStopsEveryRank) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int stopper = size - 1;
  const Config cfg = make_config("scgen", 30);
  auto m = make_model(cfg, kD);
  TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = MPI_COMM_WORLD;
  ctx.seed = 7;
  int calls = 0;
  ctx.should_stop = [&calls, stopper] { return ++calls >= 5 && world_rank() == stopper; };
  EXPECT_THROW(m->train(make_input(), ctx), Interrupted);
  EXPECT_EQ(calls, 5);  // every rank stopped after the same step
}

TEST(BaselinesMpi, GridChoosesTheSameCandidateOnEveryRank) {
  Config cfg = make_config("cae", 1);
  cfg.model.grid = true;
  auto m = make_model(cfg, kD);
  TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = MPI_COMM_WORLD;
  ctx.seed = 3;
  m->train(make_input(), ctx);
  std::vector<float> mine = flat(*m), root = mine;
  MPI_Bcast(root.data(), static_cast<int>(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  EXPECT_EQ(mine, root);
}
