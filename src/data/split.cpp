// Deterministic train / validation / test splits (see make_split in dataset.hpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"

namespace cellot::data {

namespace {

// Cells of n going to a part: round(fraction * n), at least one when asked and fraction > 0.
std::int64_t part_size(std::int64_t n, double fraction, bool at_least_one) {
  auto k = static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (at_least_one && fraction > 0 && k == 0) k = 1;
  return std::clamp<std::int64_t>(k, 0, n);
}

// Distributes `total` over groups of the given sizes in proportion to their size (largest
// remainder, ties to the earlier group), never more than a group has.
std::vector<std::int64_t> apportion(std::int64_t total, const std::vector<std::int64_t>& sizes) {
  const std::int64_t n = std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0});
  std::vector<std::int64_t> out(sizes.size(), 0);
  if (n == 0 || total <= 0) return out;
  std::vector<std::pair<double, std::size_t>> rem;
  std::int64_t given = 0;
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    const double exact = static_cast<double>(total) * static_cast<double>(sizes[g]) / static_cast<double>(n);
    out[g] = std::min<std::int64_t>(static_cast<std::int64_t>(std::floor(exact)), sizes[g]);
    given += out[g];
    rem.emplace_back(exact - static_cast<double>(out[g]), g);
  }
  std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; given < total; i = (i + 1) % rem.size()) {
    const std::size_t g = rem[i].second;
    if (out[g] < sizes[g]) {
      ++out[g];
      ++given;
    }
  }
  return out;
}

// Members of each stratum (in order of first appearance of the label), each shuffled.
std::vector<std::vector<std::int64_t>> shuffled_strata(const std::vector<std::int64_t>& cells,
                                                       const std::vector<std::string>* strata, Rng& rng) {
  std::vector<std::vector<std::int64_t>> groups;
  if (!strata) {
    groups.push_back(cells);
  } else {
    std::unordered_map<std::string, std::size_t> index;
    for (std::int64_t c : cells) {
      const auto& label = (*strata)[static_cast<std::size_t>(c)];
      auto it = index.emplace(label, groups.size()).first;
      if (it->second == groups.size()) groups.emplace_back();
      groups[it->second].push_back(c);
    }
  }
  for (auto& g : groups) rng.shuffle(g);
  return groups;
}

// Splits `cells` into (first part of size k, rest) stratum by stratum, apportioning k.
void take_stratified(std::vector<std::vector<std::int64_t>>& groups, std::int64_t k, std::vector<std::int64_t>& into) {
  std::vector<std::int64_t> sizes;
  for (const auto& g : groups) sizes.push_back(static_cast<std::int64_t>(g.size()));
  const auto share = apportion(k, sizes);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& members = groups[g];
    const auto take = static_cast<std::size_t>(share[g]);
    into.insert(into.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
    members.erase(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
  }
}

void finish(Split& s) {
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
  std::sort(s.iid.begin(), s.iid.end());
}

}  // namespace

Split make_split(std::int64_t n, const DataConfig& cfg, std::uint64_t seed, const std::string& key,
                 const std::vector<std::string>* strata, const std::vector<char>* holdout_mask) {
  CELLOT_CHECK(n >= 0, "negative cell count");
  CELLOT_CHECK(!strata || static_cast<std::int64_t>(strata->size()) == n, "strata size differs from n");
  CELLOT_CHECK(cfg.test_fraction >= 0 && cfg.val_fraction >= 0 && cfg.test_fraction + cfg.val_fraction < 1,
               "split fractions must be >= 0 and sum to < 1");
  Rng rng(seed, "split/" + key);
  Split s;
  if (cfg.split == "train_val_test") {
    std::vector<std::int64_t> cells(static_cast<std::size_t>(n));
    std::iota(cells.begin(), cells.end(), 0);
    auto groups = shuffled_strata(cells, strata, rng);
    std::int64_t n_test = part_size(n, cfg.test_fraction, n >= 3);
    std::int64_t n_val = part_size(n, cfg.val_fraction, n >= 3);
    // Keep at least one training cell.
    while (n > 0 && n_test + n_val > n - 1 && (n_val > 0 || n_test > 0)) (n_val > 0 ? n_val : n_test)--;
    take_stratified(groups, n_test, s.test);
    take_stratified(groups, n_val, s.val);
    for (auto& g : groups) s.train.insert(s.train.end(), g.begin(), g.end());
  } else if (cfg.split == "kfold") {
    const int k = cfg.folds;
    CELLOT_CHECK(k >= 2 && cfg.fold >= 0 && cfg.fold < k, "kfold needs folds >= 2 and 0 <= fold < folds");
    std::vector<std::int64_t> cells(static_cast<std::size_t>(n));
    std::iota(cells.begin(), cells.end(), 0);
    auto groups = shuffled_strata(cells, strata, rng);
    std::vector<std::vector<std::int64_t>> folds(static_cast<std::size_t>(k));
    std::size_t next = 0;
    for (const auto& g : groups)
      for (std::int64_t c : g) folds[next++ % static_cast<std::size_t>(k)].push_back(c);
    const auto test_fold = static_cast<std::size_t>(cfg.fold);
    s.test = folds[test_fold];
    if (k >= 3) {
      const std::size_t val_fold = (test_fold + 1) % static_cast<std::size_t>(k);
      s.val = folds[val_fold];
      for (std::size_t f = 0; f < folds.size(); ++f)
        if (f != test_fold && f != val_fold) s.train.insert(s.train.end(), folds[f].begin(), folds[f].end());
    } else {
      auto& other = folds[1 - test_fold];  // in dealing order, which is a shuffle
      const auto n_val = static_cast<std::size_t>(
          part_size(static_cast<std::int64_t>(other.size()), cfg.val_fraction, other.size() >= 3));
      s.val.assign(other.begin(), other.begin() + static_cast<std::ptrdiff_t>(n_val));
      s.train.assign(other.begin() + static_cast<std::ptrdiff_t>(n_val), other.end());
    }
  } else if (cfg.split == "holdout") {
    CELLOT_CHECK(holdout_mask && static_cast<std::int64_t>(holdout_mask->size()) == n,
                 "holdout split needs a mask with one entry per cell");
    std::vector<std::int64_t> rest;
    for (std::int64_t i = 0; i < n; ++i) ((*holdout_mask)[static_cast<std::size_t>(i)] ? s.test : rest).push_back(i);
    auto groups = shuffled_strata(rest, strata, rng);
    const auto m = static_cast<std::int64_t>(rest.size());
    const std::int64_t n_val =
        std::min<std::int64_t>(part_size(m, cfg.val_fraction, m >= 2), std::max<std::int64_t>(m - 1, 0));
    // The in-distribution test cells come out of what training would otherwise get.
    const std::int64_t n_iid =
        std::min<std::int64_t>(part_size(m, cfg.test_fraction, m >= 3), std::max<std::int64_t>(m - 1 - n_val, 0));
    take_stratified(groups, n_val, s.val);
    take_stratified(groups, n_iid, s.iid);
    for (auto& g : groups) s.train.insert(s.train.end(), g.begin(), g.end());
  } else {
    throw InputError("config", "data.split", cfg.split, "unknown split rule (train_val_test | kfold | holdout)");
  }
  finish(s);
  return s;
}

}  // namespace cellot::data
