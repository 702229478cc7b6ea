// The screen plan: tasks, keys, seeds, costs, hashes and shards.
#include "cellot/screen/plan.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/screen/fingerprint.hpp"
#include "cellot/io/h5ad.hpp"

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

screen::PlanInput input() {
  screen::PlanInput in;
  in.perturbations = {"a", "b", "c"};
  in.n_control = 100;
  in.n_treated = {50, 80, 20};
  in.features = {"x", "y"};
  in.data_fingerprint = "00000000000000f1";
  return in;
}

std::string temp_path(const std::string& name) {
  // Removed when the test program exits.
  static const struct TempDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("cellot_plan_test_" + std::to_string(::getpid()));
    ~TempDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } dir;
  std::filesystem::create_directories(dir.path);
  return (dir.path / name).string();
}

// A small AnnData: 3 conditions, values that differ per cell and feature.
io::AnnData small_data(const std::string& encoding) {
  io::AnnData a;
  a.X = Matrix(30, 4);
  for (std::int64_t i = 0; i < 30; ++i)
    for (std::int64_t j = 0; j < 4; ++j) a.X(i, j) = (i + j) % 3 == 0 ? 0.0 : 0.5 * static_cast<double>(i) - j;
  std::vector<std::string> cond;
  for (std::int64_t i = 0; i < 30; ++i) {
    a.obs.index.push_back("c" + std::to_string(i));
    cond.push_back(i % 3 == 0 ? "control" : (i % 3 == 1 ? "a" : "b"));
  }
  a.obs.columns.push_back(io::Column::make_categorical("condition", cond));
  for (int j = 0; j < 4; ++j) a.var.index.push_back("g" + std::to_string(j));
  a.x_encoding = encoding;
  return a;
}

}  // namespace

TEST(Plan, TasksAreTheFullProductInCanonicalOrder) {
  const auto plan = screen::make_plan(screen_config(), input(), "test.ini");
  ASSERT_EQ(plan.size(), 3 * 3 * 2 * 2);
  EXPECT_EQ(plan.tasks[0].key, "a|cellot|fold0|seed0");
  EXPECT_EQ(plan.tasks[1].key, "a|cellot|fold0|seed7");
  EXPECT_EQ(plan.tasks[2].key, "a|cellot|fold1|seed0");
  EXPECT_EQ(plan.tasks[4].key, "a|identity|fold0|seed0");
  std::set<std::string> keys;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    EXPECT_EQ(t.index, static_cast<std::int64_t>(i));
    EXPECT_EQ(t.key, screen::task_key(t.perturbation, t.model, t.fold, t.seed));
    EXPECT_EQ(t.task_seed, derive_seed(t.seed, t.key));
    EXPECT_EQ(t.n_control, 100);
    keys.insert(t.key);
  }
  EXPECT_EQ(keys.size(), plan.tasks.size());
}

TEST(Plan, CostIsCellsTimesIterationsAndOrdersMostExpensiveFirst) {
  const auto cfg = screen_config();
  const auto plan = screen::make_plan(cfg, input(), "test.ini");
  for (const auto& t : plan.tasks) {
    const double cells = static_cast<double>(t.n_control + t.n_treated);
    if (t.model == "cellot") {
      EXPECT_DOUBLE_EQ(t.cost, cells * 100 * 5);
    }
    if (t.model == "identity") {
      EXPECT_DOUBLE_EQ(t.cost, cells);
    }
  }
  const auto order = screen::cost_order(plan);
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

TEST(Plan, PacksAreConsecutiveTasksOfOnePackingKind) {
  const auto plan = screen::make_plan(screen_config(), input(), "test.ini");
  const auto order = screen::cost_order(plan);
  // pack 1: one unit per task, in order.
  const auto ones = screen::form_packs(plan, order, 1);
  ASSERT_EQ(ones.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(ones[i], std::vector<std::int64_t>{order[i]});
  // pack 5: the 12 cellot tasks (3 perturbations x 2 folds x 2 seeds) in packs of 5, 5, 2 taken
  // in cost order, the 12 scgen tasks likewise (autoencoders pack too); identity (no pack
  // trainer) alone. Every task once.
  const auto units = screen::form_packs(plan, order, 5);
  std::vector<std::int64_t> seen;
  for (const std::string packing : {"cellot", "scgen"}) {
    SCOPED_TRACE(packing);
    std::vector<std::int64_t> in_order, packed;
    std::vector<std::size_t> sizes;
    for (std::int64_t t : order)
      if (plan.tasks[static_cast<std::size_t>(t)].model == packing) in_order.push_back(t);
    for (const auto& u : units)
      if (!u.empty() && plan.tasks[static_cast<std::size_t>(u[0])].model == packing) {
        sizes.push_back(u.size());
        packed.insert(packed.end(), u.begin(), u.end());
      }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{5, 5, 2}));
    EXPECT_EQ(packed, in_order);  // similar cost: consecutive in cost order
  }
  for (const auto& u : units) {
    ASSERT_FALSE(u.empty());
    const std::string& model = plan.tasks[static_cast<std::size_t>(u[0])].model;
    for (std::int64_t t : u) {
      EXPECT_EQ(plan.tasks[static_cast<std::size_t>(t)].model, model);
      seen.push_back(t);
    }
    if (model == "identity") {
      EXPECT_EQ(u.size(), 1u);
    }
  }
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<std::int64_t>(i));
  EXPECT_EQ(seen.size(), plan.tasks.size());
  // Units come by their summed cost, most expensive first.
  const auto cost = [&](const std::vector<std::int64_t>& u) {
    double c = 0;
    for (std::int64_t t : u) c += plan.tasks[static_cast<std::size_t>(t)].cost;
    return c;
  };
  for (std::size_t i = 1; i < units.size(); ++i) EXPECT_GE(cost(units[i - 1]), cost(units[i]));
}

TEST(Plan, HashIgnoresWhereAndHowButNotWhat) {
  auto cfg = screen_config();
  const auto h = screen::make_plan(cfg, input(), "t").hash;
  EXPECT_EQ(h.size(), 16u);
  auto c2 = cfg;
  c2.screen.store = "elsewhere.h5";
  c2.screen.ranks_per_task = 4;
  c2.training.threads = 8;
  c2.screen.pack = 4;  // packed tasks get their numbers alone
  EXPECT_EQ(screen::make_plan(c2, input(), "t").hash, h);
  auto c3 = cfg;
  c3.screen.seeds = "0,8";
  EXPECT_NE(screen::make_plan(c3, input(), "t").hash, h);
  auto c4 = cfg;
  c4.training.iters = 101;
  EXPECT_NE(screen::make_plan(c4, input(), "t").hash, h);
  auto in = input();
  in.n_treated[2] = 21;
  EXPECT_NE(screen::make_plan(cfg, in, "t").hash, h);
}

TEST(Plan, HashFollowsTheDataNotThePathSpelling) {
  auto cfg = screen_config();
  const auto plan = screen::make_plan(cfg, input(), "t");
  EXPECT_EQ(screen::plan_text_fingerprint(plan.plan_text), "00000000000000f1");
  EXPECT_EQ(plan.plan_text.find("screen.h5ad"), std::string::npos) << plan.plan_text;
  EXPECT_NE(plan.config_ini.find("path = screen.h5ad"), std::string::npos);  // kept, not hashed
  for (const char* spelling : {"./screen.h5ad", "/scratch/copy/screen.h5ad"}) {
    auto c = cfg;
    c.data.path = spelling;
    EXPECT_EQ(screen::make_plan(c, input(), "t").hash, plan.hash) << spelling;
  }
  auto in = input();
  in.data_fingerprint = "00000000000000f2";
  EXPECT_NE(screen::make_plan(cfg, in, "t").hash, plan.hash);
  EXPECT_EQ(screen::plan_text_fingerprint("cellot-plan 1\n[config]\n[data]\npath = x\n"), "");
}

TEST(Plan, WithoutAGivenFingerprintTheFileIsRead) {
  const std::string path = temp_path("plan-data.h5ad");
  io::write_h5ad(path, small_data("array"));
  auto cfg = screen_config();
  cfg.data.path = path;
  auto in = input();
  in.data_fingerprint.clear();
  const auto plan = screen::make_plan(cfg, in, "t");
  EXPECT_EQ(screen::plan_text_fingerprint(plan.plan_text), screen::data_fingerprint(path, "condition"));
  cfg.data.path = temp_path("missing.h5ad");
  EXPECT_THROW(screen::make_plan(cfg, in, "t"), InputError);
}

TEST(Fingerprint, StreamHashDependsOnTheBytesNotOnTheirChunks) {
  std::vector<unsigned char> bytes(1000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>((i * 131) % 251);
  screen::StreamHash whole;
  whole.update(bytes.data(), bytes.size());
  for (std::size_t step : {1, 7, 31, 32, 33, 500}) {
    screen::StreamHash parts;
    for (std::size_t at = 0; at < bytes.size(); at += step)
      parts.update(bytes.data() + at, std::min(step, bytes.size() - at));
    EXPECT_EQ(parts.digest(), whole.digest()) << step;
  }
  // Any single bit, and the length (trailing zeros), change the digest.
  for (std::size_t at : {0, 31, 32, 500, 999}) {
    auto flipped = bytes;
    flipped[at] ^= 1;
    screen::StreamHash h;
    h.update(flipped.data(), flipped.size());
    EXPECT_NE(h.digest(), whole.digest()) << at;
  }
  auto longer = bytes;
  longer.push_back(0);
  screen::StreamHash h;
  h.update(longer.data(), longer.size());
  EXPECT_NE(h.digest(), whole.digest());
}

TEST(Fingerprint, FollowsXAndTheConditionsNotTheFile) {
  for (const char* encoding : {"array", "csr_matrix"}) {
    const auto a = small_data(encoding);
    const std::string p1 = temp_path(std::string("fp1-") + encoding + ".h5ad");
    const std::string p2 = temp_path(std::string("fp2-") + encoding + ".h5ad");
    io::write_h5ad(p1, a);
    const std::string fp = screen::data_fingerprint(p1, "condition");
    EXPECT_EQ(fp.size(), 16u);
    std::filesystem::copy_file(p1, p2, std::filesystem::copy_options::overwrite_existing);
    EXPECT_EQ(screen::data_fingerprint(p2, "condition"), fp) << encoding;  // a copy
    // The same labels as a string column instead of a categorical one.
    auto s = a;
    std::vector<std::string> labels;
    for (std::int64_t i = 0; i < 30; ++i) labels.push_back(a.obs.columns[0].value(i));
    s.obs.columns[0] = io::Column::make_strings("condition", labels);
    io::write_h5ad(p2, s);
    EXPECT_EQ(screen::data_fingerprint(p2, "condition"), fp) << encoding;
    // X scaled in place.
    auto scaled = a;
    for (auto& v : scaled.X.data) v *= 2.0;
    io::write_h5ad(p2, scaled);
    EXPECT_NE(screen::data_fingerprint(p2, "condition"), fp) << encoding;
    // One cell relabelled.
    auto relabelled = s;
    relabelled.obs.columns[0].strings[4] = "b";
    io::write_h5ad(p2, relabelled);
    EXPECT_NE(screen::data_fingerprint(p2, "condition"), fp) << encoding;
    EXPECT_THROW(screen::data_fingerprint(p1, "no_such_column"), InputError);
  }
  EXPECT_NE(screen::data_fingerprint(temp_path("fp1-array.h5ad"), "condition"),
            screen::data_fingerprint(temp_path("fp1-csr_matrix.h5ad"), "condition"));
}

TEST(Plan, RejectsInconsistentScreens) {
  auto cfg = screen_config();
  cfg.data.split = "kfold";
  cfg.data.folds = 2;
  cfg.screen.folds = 3;
  try {
    screen::make_plan(cfg, input(), "s.ini");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "s.ini");
    EXPECT_EQ(e.key(), "screen.folds");
    EXPECT_EQ(e.value(), "3");
  }
  auto c2 = screen_config();
  c2.screen.models = "identity,identity";
  EXPECT_THROW(screen::make_plan(c2, input(), "s.ini"), InputError);
  auto c3 = screen_config();
  c3.screen.seeds = "1,1";
  EXPECT_THROW(screen::make_plan(c3, input(), "s.ini"), InputError);
  auto in = input();
  in.perturbations.clear();
  in.n_treated.clear();
  EXPECT_THROW(screen::make_plan(screen_config(), in, "s.ini"), InputError);
}

TEST(Plan, SplitSeedDependsOnSeedAndFoldOnly) {
  auto cfg = screen_config();
  EXPECT_NE(screen::split_seed(cfg, 0, 3), screen::split_seed(cfg, 1, 3));
  EXPECT_NE(screen::split_seed(cfg, 0, 3), screen::split_seed(cfg, 0, 4));
  cfg.data.split = "kfold";
  EXPECT_EQ(screen::split_seed(cfg, 0, 3), screen::split_seed(cfg, 1, 3));
  screen::Task t;
  t.model = "scgen";
  t.fold = 1;
  const auto tc = screen::task_config(cfg, t);
  EXPECT_EQ(tc.model.name, "scgen");
  EXPECT_EQ(tc.data.fold, 1);
}

TEST(Plan, PredictionCapacityComesFromTheTestSplitSize) {
  auto in = input();
  in.test_count = [](const std::string& condition, std::int64_t n, int fold, std::uint64_t) {
    return condition == "control" ? n / 5 + fold : n / 2;
  };
  const auto plan = screen::make_plan(screen_config(), in, "t");
  for (const auto& t : plan.tasks) EXPECT_EQ(t.prediction_capacity, 20 + t.fold);
}

TEST(Shard, ParseAcceptsOnlyIOverN) {
  const auto s = screen::parse_shard("2/5", "cl");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/2", "1", "a/b", "1/0", "1/2x", ""}) {
    try {
      screen::parse_shard(bad, "cl");
      FAIL() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "--shard");
      EXPECT_EQ(e.value(), bad);
    }
  }
}

TEST(Shard, LptOwnersCoverEveryTaskOnceAndBalanceCost) {
  const auto plan = screen::make_plan(screen_config(), input(), "t");
  for (int n : {1, 2, 3, 5}) {
    const auto owner = screen::shard_owners(plan, n);
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
    EXPECT_EQ(owner, screen::shard_owners(plan, n));  // deterministic
  }
}
