// The screen plan: tasks, keys, seeds, costs, hashes and shards.
#include "cellot/dist/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"

using namespace cellot;

namespace {

Config screen_config() {
  Config c;
  c.data.path = "screen.h5ad";
  c.screen.models = "cellot,identity,scgen";
  c.screen.seeds = "0,7";
  c.screen.folds = 2;
  c.training.iters = 100;
  c.training.inner_iters = 4;
  c.training.epochs = 3;
  return c;
}

dist::PlanInput input() {
  dist::PlanInput in;
  in.perturbations = {"a", "b", "c"};
  in.n_control = 100;
  in.n_treated = {50, 80, 20};
  in.features = {"x", "y"};
  return in;
}

}  // namespace

TEST(Plan, TasksAreTheFullProductInCanonicalOrder) {
  const auto plan = dist::make_plan(screen_config(), input(), "test.ini");
  ASSERT_EQ(plan.size(), 3 * 3 * 2 * 2);
  EXPECT_EQ(plan.tasks[0].key, "a|cellot|fold0|seed0");
  EXPECT_EQ(plan.tasks[1].key, "a|cellot|fold0|seed7");
  EXPECT_EQ(plan.tasks[2].key, "a|cellot|fold1|seed0");
  EXPECT_EQ(plan.tasks[4].key, "a|identity|fold0|seed0");
  std::set<std::string> keys;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    EXPECT_EQ(t.index, static_cast<std::int64_t>(i));
    EXPECT_EQ(t.key, dist::task_key(t.perturbation, t.model, t.fold, t.seed));
    EXPECT_EQ(t.task_seed, derive_seed(t.seed, t.key));
    EXPECT_EQ(t.n_control, 100);
    keys.insert(t.key);
  }
  EXPECT_EQ(keys.size(), plan.tasks.size());
}

TEST(Plan, CostIsCellsTimesIterationsAndOrdersMostExpensiveFirst) {
  const auto cfg = screen_config();
  const auto plan = dist::make_plan(cfg, input(), "test.ini");
  for (const auto& t : plan.tasks) {
    const double cells = static_cast<double>(t.n_control + t.n_treated);
    if (t.model == "cellot") {
      EXPECT_DOUBLE_EQ(t.cost, cells * 100 * 5);
    }
    if (t.model == "identity") {
      EXPECT_DOUBLE_EQ(t.cost, cells);
    }
  }
  const auto order = dist::cost_order(plan);
  ASSERT_EQ(order.size(), plan.tasks.size());
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto& prev = plan.tasks[static_cast<std::size_t>(order[i - 1])];
    const auto& cur = plan.tasks[static_cast<std::size_t>(order[i])];
    EXPECT_GE(prev.cost, cur.cost);
    if (prev.cost == cur.cost) {
      EXPECT_LT(prev.index, cur.index);  // ties in plan order
    }
  }
  EXPECT_EQ(plan.tasks[static_cast<std::size_t>(order[0])].perturbation, "b");  // most cells
  EXPECT_EQ(plan.tasks[static_cast<std::size_t>(order[0])].model, "cellot");
}

TEST(Plan, HashIgnoresWhereAndHowButNotWhat) {
  auto cfg = screen_config();
  const auto h = dist::make_plan(cfg, input(), "t").hash;
  EXPECT_EQ(h.size(), 16u);
  auto c2 = cfg;
  c2.screen.store = "elsewhere.h5";
  c2.screen.ranks_per_task = 4;
  c2.training.threads = 8;
  EXPECT_EQ(dist::make_plan(c2, input(), "t").hash, h);
  auto c3 = cfg;
  c3.screen.seeds = "0,8";
  EXPECT_NE(dist::make_plan(c3, input(), "t").hash, h);
  auto c4 = cfg;
  c4.training.iters = 101;
  EXPECT_NE(dist::make_plan(c4, input(), "t").hash, h);
  auto in = input();
  in.n_treated[2] = 21;
  EXPECT_NE(dist::make_plan(cfg, in, "t").hash, h);
}

TEST(Plan, RejectsInconsistentScreens) {
  auto cfg = screen_config();
  cfg.data.split = "kfold";
  cfg.data.folds = 2;
  cfg.screen.folds = 3;
  try {
    dist::make_plan(cfg, input(), "s.ini");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "s.ini");
    EXPECT_EQ(e.key(), "screen.folds");
    EXPECT_EQ(e.value(), "3");
  }
  auto c2 = screen_config();
  c2.screen.models = "identity,identity";
  EXPECT_THROW(dist::make_plan(c2, input(), "s.ini"), InputError);
  auto c3 = screen_config();
  c3.screen.seeds = "1,1";
  EXPECT_THROW(dist::make_plan(c3, input(), "s.ini"), InputError);
  auto in = input();
  in.perturbations.clear();
  in.n_treated.clear();
  EXPECT_THROW(dist::make_plan(screen_config(), in, "s.ini"), InputError);
}

TEST(Plan, SplitSeedDependsOnSeedAndFoldOnly) {
  auto cfg = screen_config();
  EXPECT_NE(dist::split_seed(cfg, 0, 3), dist::split_seed(cfg, 1, 3));
  EXPECT_NE(dist::split_seed(cfg, 0, 3), dist::split_seed(cfg, 0, 4));
  cfg.data.split = "kfold";
  EXPECT_EQ(dist::split_seed(cfg, 0, 3), dist::split_seed(cfg, 1, 3));
  dist::Task t;
  t.model = "scgen";
  t.fold = 1;
  const auto tc = dist::task_config(cfg, t);
  EXPECT_EQ(tc.model.name, "scgen");
  EXPECT_EQ(tc.data.fold, 1);
}

TEST(Plan, PredictionCapacityComesFromTheTestSplitSize) {
  auto in = input();
  in.test_count = [](const std::string& condition, std::int64_t n, int fold, std::uint64_t) {
    return condition == "control" ? n / 5 + fold : n / 2;
  };
  const auto plan = dist::make_plan(screen_config(), in, "t");
  for (const auto& t : plan.tasks) EXPECT_EQ(t.prediction_capacity, 20 + t.fold);
}

TEST(Shard, ParseAcceptsOnlyIOverN) {
  const auto s = dist::parse_shard("2/5", "cl");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/2", "1", "a/b", "1/0", "1/2x", ""}) {
    try {
      dist::parse_shard(bad, "cl");
      FAIL() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "--shard");
      EXPECT_EQ(e.value(), bad);
    }
  }
}

TEST(Shard, LptOwnersCoverEveryTaskOnceAndBalanceCost) {
  const auto plan = dist::make_plan(screen_config(), input(), "t");
  for (int n : {1, 2, 3, 5}) {
    const auto owner = dist::shard_owners(plan, n);
    ASSERT_EQ(owner.size(), plan.tasks.size());
    std::vector<double> load(static_cast<std::size_t>(n), 0.0);
    double max_cost = 0;
    for (std::size_t t = 0; t < owner.size(); ++t) {
      ASSERT_GE(owner[t], 0);
      ASSERT_LT(owner[t], n);
      load[static_cast<std::size_t>(owner[t])] += plan.tasks[t].cost;
      max_cost = std::max(max_cost, plan.tasks[t].cost);
    }
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, max_cost) << n;            // LPT: imbalance below one task
    EXPECT_EQ(owner, dist::shard_owners(plan, n));  // deterministic
  }
}
