// Deterministic splits: disjoint, covering, sized as documented, reproducible, stratified, and
// k folds that partition the cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/data/dataset.hpp"

using namespace cellot;

namespace {

void expect_partition(const data::Split& s, std::int64_t n) {
  std::vector<std::int64_t> all;
  for (const auto* part : {&s.train, &s.val, &s.test, &s.iid}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expect(static_cast<std::size_t>(n));
  std::iota(expect.begin(), expect.end(), 0);
  EXPECT_EQ(all, expect) << "parts must be disjoint and cover 0..n-1";
}

DataConfig config(const std::string& rule) {
  DataConfig c;
  c.split = rule;
  return c;
}

}  // namespace

TEST(Split, TrainValTestSizesAndPartition) {
  const auto cfg = config("train_val_test");
  for (std::int64_t n : {0, 1, 2, 3, 4, 10, 11, 1000, 2364}) {
    const auto s = data::make_split(n, cfg, 7, "Imatinib");
    expect_partition(s, n);
    if (n >= 10) {
      EXPECT_EQ(static_cast<std::int64_t>(s.test.size()), std::llround(0.2 * static_cast<double>(n))) << n;
      EXPECT_EQ(static_cast<std::int64_t>(s.val.size()), std::llround(0.1 * static_cast<double>(n))) << n;
    }
    if (n >= 3) {
      EXPECT_GE(s.test.size(), 1u) << n;
      EXPECT_GE(s.val.size(), 1u) << n;
      EXPECT_GE(s.train.size(), 1u) << n;
    }
  }
}

TEST(Split, DeterministicInSeedAndKey) {
  const auto cfg = config("train_val_test");
  const auto a = data::make_split(500, cfg, 3, "control");
  const auto b = data::make_split(500, cfg, 3, "control");
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.test, data::make_split(500, cfg, 4, "control").test);
  EXPECT_NE(a.test, data::make_split(500, cfg, 3, "Imatinib").test);
  // Pinned values: the same (seed, key) gives the same split on any machine (portable RNG).
  const auto small = data::make_split(10, cfg, 0, "control");
  EXPECT_EQ(small.test.size(), 2u);
  EXPECT_EQ(small.val.size(), 1u);
  const auto again = data::make_split(10, cfg, 0, "control");
  EXPECT_EQ(small.test, again.test);
}

TEST(Split, StratificationKeepsRatios) {
  auto cfg = config("train_val_test");
  const std::int64_t n = 1000;
  std::vector<std::string> strata;
  for (std::int64_t i = 0; i < n; ++i) strata.push_back(i % 4 == 0 ? "CL1" : "CL2");  // 1:3
  const auto s = data::make_split(n, cfg, 11, "control", &strata);
  expect_partition(s, n);
  EXPECT_EQ(s.test.size(), 200u);
  EXPECT_EQ(s.val.size(), 100u);
  auto count = [&](const std::vector<std::int64_t>& part, const std::string& label) {
    return std::count_if(part.begin(), part.end(),
                         [&](std::int64_t i) { return strata[static_cast<std::size_t>(i)] == label; });
  };
  // Exactly proportional: 250 CL1 cells -> 50 test, 25 val.
  EXPECT_EQ(count(s.test, "CL1"), 50);
  EXPECT_EQ(count(s.val, "CL1"), 25);
  EXPECT_EQ(count(s.train, "CL1"), 175);

  // Kfold with strata: every fold has its share of each stratum (within one).
  cfg = config("kfold");
  cfg.folds = 5;
  for (int f = 0; f < 5; ++f) {
    cfg.fold = f;
    const auto k = data::make_split(n, cfg, 2, "x", &strata);
    EXPECT_NEAR(static_cast<double>(count(k.test, "CL1")), 50.0, 1.0);
    EXPECT_NEAR(static_cast<double>(count(k.test, "CL2")), 150.0, 1.0);
  }
}

TEST(Split, KfoldPartitionsTheCells) {
  auto cfg = config("kfold");
  for (int k : {2, 3, 5}) {
    cfg.folds = k;
    const std::int64_t n = 103;
    std::vector<int> times_test(static_cast<std::size_t>(n), 0);
    for (int f = 0; f < k; ++f) {
      cfg.fold = f;
      const auto s = data::make_split(n, cfg, 5, "drug");
      expect_partition(s, n);
      EXPECT_NEAR(static_cast<double>(s.test.size()), static_cast<double>(n) / k, 1.0);
      if (k >= 3) {
        EXPECT_NEAR(static_cast<double>(s.val.size()), static_cast<double>(n) / k, 1.0);
        // The validation fold is the next fold's test fold.
        auto next = cfg;
        next.fold = (f + 1) % k;
        EXPECT_EQ(s.val, data::make_split(n, next, 5, "drug").test);
      } else {
        EXPECT_GE(s.val.size(), 1u);
      }
      for (auto i : s.test) ++times_test[static_cast<std::size_t>(i)];
    }
    for (int t : times_test) EXPECT_EQ(t, 1) << "every cell is in exactly one test fold (k=" << k << ")";
  }
}

TEST(Split, HoldoutTestsTheMaskedCells) {
  auto cfg = config("holdout");
  const std::int64_t n = 50;
  std::vector<char> mask(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < n; i += 5) mask[static_cast<std::size_t>(i)] = 1;
  const auto s = data::make_split(n, cfg, 1, "control", nullptr, &mask);
  expect_partition(s, n);
  ASSERT_EQ(s.test.size(), 10u);
  for (auto i : s.test) EXPECT_TRUE(mask[static_cast<std::size_t>(i)]);
  EXPECT_EQ(s.val.size(), 4u);                                          // round(0.1 * 40)
  EXPECT_EQ(s.iid.size(), 8u);                                          // round(0.2 * 40), in distribution
  for (auto i : s.iid) EXPECT_FALSE(mask[static_cast<std::size_t>(i)]);
  EXPECT_EQ(s.train.size(), 28u);
  EXPECT_THROW(data::make_split(n, cfg, 1, "control"), InternalError);  // no mask given
}

TEST(Split, UnknownRuleIsInputError) { EXPECT_THROW(data::make_split(10, config("random"), 1, "x"), InputError); }
