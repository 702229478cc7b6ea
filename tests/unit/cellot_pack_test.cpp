// Packed CellOT training (models::train_cellot_pack): every member of a pack gets the same bits
// (parameters, curves, best step, steps) as train_cellot on its own, also when members differ in
// data size (an adapted batch), stop early at different steps, diverge, or are interrupted and
// resumed. Run on 1 and 2 ranks (the pack over a group of two).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include <unistd.h>

#include "cellot_small_config.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"
#include "cellot/models/model.hpp"

using cellot::Config;
using cellot::Matrix;
using cellot::Rng;
namespace models = cellot::models;

namespace {

Config pack_config(std::int64_t iters) { return cellot::test::small_cellot_config(iters); }

models::TrainInput cells(std::int64_t d, std::uint64_t seed, std::int64_t n_target) {
  Rng rng(seed);
  models::TrainInput in;
  in.perturbation = "drug" + std::to_string(seed);
  auto fill = [&](std::int64_t n, double shift, double scale) {
    Matrix m(n, d);
    for (auto& v : m.data) v = scale * rng.normal() + shift;
    return m;
  };
  in.source_train = fill(200, 0, 1);
  in.target_train = fill(n_target, 1, 1.5);
  in.source_val = fill(40, 0, 1);
  in.target_val = fill(30, 1, 1.5);
  return in;
}

// Member i's validation metric: member 0's never improves after its first evaluation (with
// patience 2 it stops at step 15), the others' is a function of the predictions only (so a
// resumed run sees the values of an uninterrupted one and a wrong iterate shows).
std::function<double(const Matrix&, const Matrix&)> scripted_metric(std::size_t member) {
  return [member](const Matrix& pred, const Matrix&) {
    if (member == 0) return 1.0;
    double s = 0;
    for (double v : pred.data) s += std::abs(std::sin(3 * v));
    return s / static_cast<double>(pred.data.size());
  };
}

std::string temp_path(const std::string& name) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // One path per run (rank 0's pid, shared with the group) so that ranks read the same file.
  long pid = ::getpid();
  MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  return (std::filesystem::temp_directory_path() / ("cellot_pack_" + std::to_string(pid) + "_" + name)).string();
}

struct Problem {
  Config cfg;
  models::IcnnShape shape;
  models::CellotHyper hp, hp_early;  // member 0 trains with hp_early (patience 2), the others hp
  std::vector<models::TrainInput> inputs;
  std::vector<std::uint64_t> seeds;

  Problem(std::int64_t iters, std::size_t k)
      : cfg(pack_config(iters)),
        shape(models::IcnnShape::from_config(cfg, 3)),
        hp(models::CellotHyper::from_config(cfg)),
        hp_early(hp) {
    hp_early.patience = 2;
    hp_early.min_iters = 0;
    for (std::size_t i = 0; i < k; ++i) {
      // Member 2 has 20 perturbed cells: its batch is adapted to 20 (a different step shape).
      inputs.push_back(cells(3, 11 + i, i == 2 ? 20 : 150));
      seeds.push_back(100 + 7 * i);
    }
  }
  models::TrainContext ctx(std::size_t i, const std::string& ckpt = "") const {
    models::TrainContext c;
    c.config = &cfg;
    c.comm = MPI_COMM_WORLD;
    c.seed = seeds[i];
    c.validation_metric = scripted_metric(i);
    c.checkpoint_path = ckpt;
    c.resume = !ckpt.empty();
    return c;
  }
  std::vector<models::CellotPackMember> members(const std::vector<std::string>& ckpts = {}) const {
    std::vector<models::CellotPackMember> out;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      out.push_back({&shape, i == 0 ? &hp_early : &hp, &inputs[i], ctx(i, ckpts.empty() ? "" : ckpts[i])});
    return out;
  }
  models::CellotResult alone(std::size_t i) const {
    return models::train_cellot(shape, i == 0 ? hp_early : hp, inputs[i], ctx(i));
  }
};

void expect_same(const models::CellotResult& a, const models::CellotResult& b, std::size_t i) {
  SCOPED_TRACE("member " + std::to_string(i));
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.stopped_early, b.stopped_early);
  EXPECT_EQ(a.best_step, b.best_step);
  // Bit for bit: vector<float> == compares every value exactly (no NaN in parameters).
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(a.g, b.g);
  ASSERT_EQ(a.curves.rows.size(), b.curves.rows.size());
  for (std::size_t r = 0; r < a.curves.rows.size(); ++r)
    for (std::size_t c = 0; c < a.curves.rows[r].size(); ++c) {
      const double x = a.curves.rows[r][c], y = b.curves.rows[r][c];
      EXPECT_TRUE(std::memcmp(&x, &y, sizeof x) == 0) << "curve row " << r << " column " << c;
    }
}

}  // namespace

TEST(CellotPack, EachMemberEqualsItsRunAlone) {
  Problem p(30, 4);
  const auto packed = models::train_cellot_pack(p.members());
  ASSERT_EQ(packed.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_FALSE(packed[i].error) << "member " << i;
    expect_same(packed[i].result, p.alone(i), i);
  }
  // The test proves something only if one member stopped early while the others went on.
  EXPECT_TRUE(packed[0].result.stopped_early);
  EXPECT_EQ(packed[0].result.steps, 15);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(packed[i].result.steps, 30);
}

TEST(CellotPack, APackOfOneIsTrainCellot) {
  Problem p(12, 1);
  const auto packed = models::train_cellot_pack(p.members());
  ASSERT_EQ(packed.size(), 1u);
  ASSERT_FALSE(packed[0].error);
  expect_same(packed[0].result, p.alone(0), 0);
}

TEST(CellotPack, InterruptedAndResumedEqualsUninterrupted) {
  Problem p(30, 3);
  std::vector<std::string> ckpts;
  for (int i = 0; i < 3; ++i) {
    ckpts.push_back(temp_path("m" + std::to_string(i) + ".h5"));
    std::filesystem::remove(ckpts.back());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // Stop at round 18: member 0 has stopped early by then (at 15), the others checkpoint.
  auto first = p.members(ckpts);
  int rounds = 0;
  first[0].ctx.should_stop = [&] { return ++rounds == 18; };
  first[1].ctx.should_stop = [&] { return ++rounds == 18; };
  const auto cut = models::train_cellot_pack(first);
  ASSERT_FALSE(cut[0].error);
  EXPECT_TRUE(cut[0].result.stopped_early);
  for (std::size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(cut[i].error) << "member " << i;
    EXPECT_THROW(std::rethrow_exception(cut[i].error), models::Interrupted);
  }
  // The hook was asked once per round (member 0 had stopped: member 1's hook was asked).
  EXPECT_EQ(rounds, 18);
  // Resumed without member 0 (done): each member continues to its uninterrupted result.
  std::vector<models::CellotPackMember> rest;
  auto all = p.members(ckpts);
  rest.push_back(all[1]);
  rest.push_back(all[2]);
  const auto resumed = models::train_cellot_pack(rest);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_FALSE(resumed[i].error);
    expect_same(resumed[i].result, p.alone(i + 1), i + 1);
  }
  expect_same(cut[0].result, p.alone(0), 0);
  MPI_Barrier(MPI_COMM_WORLD);
  for (const auto& c : ckpts) std::filesystem::remove(c);
}

TEST(CellotPack, ADivergedMemberLeavesTheOthersAlone) {
  Problem p(20, 3);
  models::CellotHyper sane = p.hp;
  p.hp.lr = 1e30;  // huge steps: member 1 diverges (alone too)...
  auto members = p.members();
  members[0].hp = &sane;  // ...members 0 and 2 do not
  members[2].hp = &sane;
  const auto packed = models::train_cellot_pack(members);
  ASSERT_FALSE(packed[0].error);
  ASSERT_TRUE(packed[1].error);
  EXPECT_THROW(std::rethrow_exception(packed[1].error), models::Diverged);
  EXPECT_THROW(models::train_cellot(p.shape, p.hp, p.inputs[1], p.ctx(1)), models::Diverged);
  ASSERT_FALSE(packed[2].error);
  expect_same(packed[0].result, models::train_cellot(p.shape, sane, p.inputs[0], p.ctx(0)), 0);
  expect_same(packed[2].result, models::train_cellot(p.shape, sane, p.inputs[2], p.ctx(2)), 2);
}

TEST(CellotPack, BadInputFailsOnlyThatMember) {
  Problem p(10, 2);
  p.inputs[1].target_train = Matrix(0, 3);  // no perturbed training cells
  const auto packed = models::train_cellot_pack(p.members());
  ASSERT_FALSE(packed[0].error);
  ASSERT_TRUE(packed[1].error);
  EXPECT_THROW(std::rethrow_exception(packed[1].error), cellot::InputError);
  expect_same(packed[0].result, p.alone(0), 0);
}
