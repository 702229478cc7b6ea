#include "cellot/screen/plan.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/screen/fingerprint.hpp"

namespace cellot::screen {

std::string task_key(const std::string& perturbation, const std::string& model, int fold, std::uint64_t seed) {
  return perturbation + "|" + model + "|fold" + std::to_string(fold) + "|seed" + std::to_string(seed);
}

double model_iterations(const Config& cfg, const std::string& model, std::int64_t n_train) {
  const auto& t = cfg.training;
  switch (model_kind(model).cost) {
    case ModelCost::cellot_updates:
      return static_cast<double>(t.iters) * static_cast<double>(t.inner_iters + 1);
    case ModelCost::autoencoder_batches: {
      if (t.epochs > 0) {
        Config c = cfg;
        c.model.name = model;
        const double batches = std::ceil(static_cast<double>(std::max<std::int64_t>(n_train, 1)) / c.batch_size());
        return model_kind(model).step_cost * static_cast<double>(t.epochs) * batches;
      }
      return model_kind(model).step_cost * static_cast<double>(std::max<std::int64_t>(t.iters, 1));
    }
    case ModelCost::none:
      break;
  }
  return 1.0;  // no optimisation
}

std::uint64_t split_seed(const Config& cfg, int fold, std::uint64_t seed) {
  if (cfg.data.split == "kfold") return derive_seed(seed, "split");
  return derive_seed(seed, "split|fold" + std::to_string(fold));
}

std::string split_rule_text(const Config& cfg) {
  if (cfg.data.split == "kfold")
    return "kfold: data.fold = fold, split seed = derive_seed(seed, \"split\") (the folds of one seed partition the "
           "cells)";
  if (cfg.data.split == "holdout" && cfg.data.holdout_value == "each")
    return "holdout each: fold f holds out the f-th value of " + cfg.data.holdout_key +
           " (file order; the values are listed in the plan text), split seed = derive_seed(seed, \"split|fold<f>\")";
  return cfg.data.split + ": fold = repetition, split seed = derive_seed(seed, \"split|fold<f>\")";
}

Config task_config(const Config& base, const Task& task) {
  Config c = base;
  c.model.name = task.model;
  if (c.data.split == "kfold") c.data.fold = task.fold;
  return c;
}

namespace {

// The config as it bears on results: where the store lives, how many ranks share a task and
// how many threads they use do not change any number, so they are normalised out of the hash
// (a screen may be resumed with another world size or store path). Nor does the spelling of
// the data path (d.h5ad, ./d.h5ad, a copy elsewhere): the data enter through their fingerprint
// instead, which also catches a file changed in place under the same path.
std::string normalised_config(const Config& cfg) {
  Config c = cfg;
  c.data.path.clear();
  c.screen.store.clear();
  c.screen.ranks_per_task = 1;
  c.training.threads = 0;
  c.screen.poll_ms = ScreenConfig{}.poll_ms;  // scheduling, not results
  c.screen.wait_timeout = ScreenConfig{}.wait_timeout;
  c.screen.pack = ScreenConfig{}.pack;  // a packed task's numbers are its numbers alone
  c.model.name = ModelConfig{}.name;
  c.data.fold = 0;
  return c.to_ini();
}

template <class T>
void require_unique(const std::vector<T>& v, const std::string& origin, const std::string& key,
                    const std::string& text) {
  std::set<T> seen(v.begin(), v.end());
  if (seen.size() != v.size()) throw InputError(origin, key, text, "duplicate entries");
}

}  // namespace

Plan make_plan(const Config& cfg, const PlanInput& in, const std::string& origin) {
  Plan plan;
  plan.perturbations = in.perturbations;
  plan.features = in.features;
  plan.models = split_list(cfg.screen.models);
  if (plan.models.empty()) throw InputError(origin, "screen.models", cfg.screen.models, "no models to run");
  require_unique(plan.models, origin, "screen.models", cfg.screen.models);
  for (int s : parse_int_list(cfg.screen.seeds, origin, "screen.seeds")) {
    if (s < 0) throw InputError(origin, "screen.seeds", cfg.screen.seeds, "seeds must be >= 0");
    plan.seeds.push_back(static_cast<std::uint64_t>(s));
  }
  if (plan.seeds.empty()) throw InputError(origin, "screen.seeds", cfg.screen.seeds, "no seeds");
  require_unique(plan.seeds, origin, "screen.seeds", cfg.screen.seeds);
  if (cfg.data.split == "kfold" && cfg.screen.folds > cfg.data.folds)
    throw InputError(origin, "screen.folds", std::to_string(cfg.screen.folds),
                     "more folds than data.folds = " + std::to_string(cfg.data.folds));
  const bool each = cfg.data.split == "holdout" && cfg.data.holdout_value == "each";
  if (each) {
    // Leave-one-group-out: one fold per value of data.holdout_key.
    if (cfg.screen.folds != 1)
      throw InputError(origin, "screen.folds", std::to_string(cfg.screen.folds),
                       "with data.holdout_value = each the folds are the values of data.holdout_key (leave it at 1)");
    if (in.holdout_values.size() < 2)
      throw InputError(origin, "data.holdout_key", cfg.data.holdout_key,
                       "data.holdout_value = each needs at least two values (found " +
                           std::to_string(in.holdout_values.size()) + ")");
    for (std::size_t f = 0; f < in.holdout_values.size(); ++f) plan.folds.push_back(static_cast<int>(f));
  } else {
    for (int f = 0; f < cfg.screen.folds; ++f) plan.folds.push_back(f);
  }
  if (plan.perturbations.empty())
    throw InputError(origin, "data.perturbations", cfg.data.perturbations, "no perturbations");
  require_unique(plan.perturbations, origin, "data.perturbations", cfg.data.perturbations);
  if (in.n_treated.size() != in.perturbations.size())
    throw InternalError(__FILE__, __LINE__, "plan input: one treated count per perturbation");

  const double train_fraction = std::max(0.0, 1.0 - cfg.data.test_fraction - cfg.data.val_fraction);
  for (std::size_t p = 0; p < plan.perturbations.size(); ++p) {
    const std::string& pert = plan.perturbations[p];
    const std::int64_t nc = in.n_control, nt = in.n_treated[p];
    for (const auto& model : plan.models) {
      for (int fold : plan.folds) {
        for (std::uint64_t seed : plan.seeds) {
          Task t;
          t.index = static_cast<std::int64_t>(plan.tasks.size());
          t.perturbation = pert;
          t.model = model;
          t.fold = fold;
          t.seed = seed;
          t.key = task_key(pert, model, fold, seed);
          t.task_seed = derive_seed(seed, t.key);
          t.n_control = nc;
          t.n_treated = nt;
          const auto n_train = static_cast<std::int64_t>(std::llround(train_fraction * static_cast<double>(nc + nt)));
          t.cost = static_cast<double>(nc + nt) * model_iterations(cfg, model, n_train);
          // Every model (the observed baseline too) predicts the test controls; the perturbed
          // test size bounds the observed baseline's parameters (half of those cells).
          const std::uint64_t ss = split_seed(cfg, fold, seed);
          t.prediction_capacity = in.test_count ? in.test_count(cfg.data.control, nc, fold, ss) : nc;
          t.n_treated_test = in.test_count ? in.test_count(pert, nt, fold, ss) : nt;
          plan.tasks.push_back(std::move(t));
        }
      }
    }
  }

  plan.config_ini = cfg.to_ini();
  const std::string fingerprint =
      in.data_fingerprint.empty()
          ? data_fingerprint(cfg.data.path, cfg.data.condition_key, cfg.data.layer, in.fingerprint_hash)
          : in.data_fingerprint;
  plan.fingerprint_hash = in.fingerprint_hash;
  std::ostringstream os;
  os << "cellot-plan 2\n[config]\n" << normalised_config(cfg) << io::kPlanFingerprintTag << fingerprint << "\n";
  if (each) {
    os << io::kPlanHoldoutTag << in.holdout_values.size() << "\n";
    for (const auto& v : in.holdout_values) os << v << "\n";
  }
  os << "[features] " << in.features.size() << "\n";
  for (const auto& f : in.features) os << f << "\n";
  os << "[tasks] " << plan.tasks.size() << "\n";
  for (const auto& t : plan.tasks) os << t.key << "\t" << t.n_control << "\t" << t.n_treated << "\n";
  plan.plan_text = os.str();
  plan.hash = hash_hex(plan.plan_text);
  return plan;
}

std::vector<std::int64_t> cost_order(const Plan& plan) {
  std::vector<std::int64_t> order(plan.tasks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return plan.tasks[static_cast<std::size_t>(a)].cost > plan.tasks[static_cast<std::size_t>(b)].cost;
  });
  return order;
}

double unit_cost(const Plan& plan, const std::vector<std::int64_t>& unit) {
  double c = 0;
  for (const std::int64_t t : unit) c += plan.tasks.at(static_cast<std::size_t>(t)).cost;
  return c;
}

std::vector<std::vector<std::int64_t>> form_packs(const Plan& plan, const std::vector<std::int64_t>& order, int pack) {
  CELLOT_CHECK(pack >= 1, "pack size at least 1");
  std::vector<std::vector<std::int64_t>> units;
  std::map<std::string, std::size_t> open;  // model -> its unit still being filled
  for (const std::int64_t t : order) {
    const std::string& model = plan.tasks.at(static_cast<std::size_t>(t)).model;
    const auto it = open.find(model);
    if (it != open.end() && units[it->second].size() < static_cast<std::size_t>(pack)) {
      units[it->second].push_back(t);
      continue;
    }
    units.push_back({t});
    if (pack > 1 && model_kind(model).packs) open[model] = units.size() - 1;
  }
  // A pack costs what its tasks cost together (one group trains them all): largest first.
  std::stable_sort(units.begin(), units.end(),
                   [&](const auto& a, const auto& b) { return unit_cost(plan, a) > unit_cost(plan, b); });
  return units;
}

Shard parse_shard(const std::string& text, const std::string& where) {
  const auto slash = text.find('/');
  Shard s;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    std::size_t used = 0;
    s.index = std::stoi(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    const std::string count = text.substr(slash + 1);
    s.count = std::stoi(count, &used);
    if (used != count.size()) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    throw InputError(where, "--shard", text, "expected i/n with 0 <= i < n (e.g. 0/4)");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw InputError(where, "--shard", text, "expected i/n with 0 <= i < n (e.g. 0/4)");
  return s;
}

std::vector<int> shard_owners(const Plan& plan, int n_shards) {
  CELLOT_CHECK(n_shards >= 1, "at least one shard");
  std::vector<int> owner(plan.tasks.size(), 0);
  std::vector<double> load(static_cast<std::size_t>(n_shards), 0.0);
  for (std::int64_t t : cost_order(plan)) {
    const auto best = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[static_cast<std::size_t>(t)] = best;
    load[static_cast<std::size_t>(best)] += plan.tasks[static_cast<std::size_t>(t)].cost;
  }
  return owner;
}

}  // namespace cellot::screen
