#pragma once
// The screen plan: perturbations x models x folds x seeds, one task each, with a cost used to
// hand out the most expensive tasks first and to balance shards. Everything here is a pure
// function of the config and the data's cell counts, so every rank (and every shard of a job
// array) computes the same plan and the same hash.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/io/plan_text.hpp"
#include "cellot/core/hash.hpp"

namespace cellot::screen {

struct Task {
  std::int64_t index = 0;  // row in /plan (canonical order: perturbation, model, fold, seed)
  std::string key;         // "<perturbation>|<model>|fold<f>|seed<s>"
  std::string perturbation, model;
  int fold = 0;
  std::uint64_t seed = 0;
  std::uint64_t task_seed = 0;  // derive_seed(seed, key)
  double cost = 0;
  std::int64_t n_control = 0, n_treated = 0;
  std::int64_t prediction_capacity = 0;  // test controls (rows predicted; save_predictions)
  std::int64_t n_treated_test = 0;       // perturbed test cells (bound: n_treated)
};

// What the plan needs to know about the data.
struct PlanInput {
  std::vector<std::string> perturbations;  // selected, in file order
  std::int64_t n_control = 0;
  std::vector<std::int64_t> n_treated;  // per perturbation
  std::vector<std::string> features;
  // Test-split size of a condition with n cells for (fold, seed); empty: the bound n is used.
  std::function<std::int64_t(const std::string& condition, std::int64_t n, int fold, std::uint64_t seed)> test_count;
  // The data fingerprint (screen::data_fingerprint of data.path and data.condition_key). Empty:
  // make_plan computes it from the file (rank 0 of a screen builds the plan and has the file
  // open anyway); kNoFingerprint: none (counting tasks, tests without a file).
  std::string data_fingerprint;
  // data.holdout_value = each: the values of data.holdout_key in file order (fold f holds out
  // value f); empty otherwise.
  std::vector<std::string> holdout_values;
  // The hash of the fingerprint computed here: the store's scheme when a store written with
  // another one is resumed (io::stored_hash_scheme), else the current one.
  HashScheme fingerprint_hash = kCurrentHashScheme;
};
inline constexpr const char* kNoFingerprint = "none";

struct Plan {
  std::vector<std::string> perturbations, models;
  std::vector<int> folds;
  std::vector<std::uint64_t> seeds;
  std::vector<Task> tasks;
  std::vector<std::string> features;
  std::string config_ini;  // the resolved config (Config::to_ini)
  // Canonical text (hashed): the normalised config (no paths, ranks or threads), the data
  // fingerprint (plan_text_fingerprint reads it back) and one line per task.
  std::string plan_text;
  std::string hash;        // hash_hex(plan_text)
  HashScheme fingerprint_hash = kCurrentHashScheme;  // of the fingerprint in plan_text (and the store's rows)

  std::int64_t size() const { return static_cast<std::int64_t>(tasks.size()); }
};

std::string task_key(const std::string& perturbation, const std::string& model, int fold, std::uint64_t seed);

// Optimiser steps a model takes for `n_train` training cells of the larger condition, in the
// cost unit (one CellOT network update): cellot iters x (inner_iters + 1) network updates;
// autoencoders epochs x batches per epoch (or iters) x ModelKind::step_cost; identity /
// observed / mean_shift 1.
double model_iterations(const Config& cfg, const std::string& model, std::int64_t n_train);

// Builds the plan. `cfg` must be validated; screen.models, screen.seeds, screen.folds and the
// split rule decide the tasks (InputError for an empty or inconsistent plan).
Plan make_plan(const Config& cfg, const PlanInput& in, const std::string& origin);

// Readers of the plan text's recorded fields (io/plan_text.hpp; the store's readers use them).
using io::plan_text_fingerprint;
using io::plan_text_holdout_values;

// The config of one task: model.name = task.model; for kfold data.fold = task.fold.
Config task_config(const Config& base, const Task& task);

// Seed of the task's data split: depends on (seed, fold) only, never on the model or the
// perturbation, so every model of a (perturbation, fold, seed) sees the same cells.
//   kfold: derive_seed(seed, "split") (the fold picks the test fold of one shuffle);
//   train_val_test / holdout: derive_seed(seed, "split|fold<f>") (independent repetitions).
std::uint64_t split_seed(const Config& cfg, int fold, std::uint64_t seed);
std::string split_rule_text(const Config& cfg);

// Task indices, most expensive first (ties: plan order).
std::vector<std::int64_t> cost_order(const Plan& plan);

// The units the coordinator hands out (screen.pack): `order` (task indices, most expensive
// first) cut into packs of up to `pack` tasks of one model kind that trains packs
// (ModelKind::packs), each pack the next tasks of its kind in `order` (so of similar cost);
// other tasks are units of one. Units are ordered by their cost (the sum of their tasks':
// a group trains a pack's tasks together), most expensive first, ties in the order of their
// first task; pack 1 gives one unit per task of `order`, in its order.
// What a unit (a pack, or one task) costs: the sum of its tasks' costs.
double unit_cost(const Plan& plan, const std::vector<std::int64_t>& unit);
std::vector<std::vector<std::int64_t>> form_packs(const Plan& plan, const std::vector<std::int64_t>& order, int pack);

// "i/n" (0 <= i < n) -> {i, n}; InputError naming `where` and --shard otherwise.
struct Shard {
  int index = 0, count = 1;
};
Shard parse_shard(const std::string& text, const std::string& where);

// Owner shard of every task: LPT greedy (tasks by decreasing cost, each to the least loaded
// shard, ties to the lowest shard index). Deterministic in the plan alone.
std::vector<int> shard_owners(const Plan& plan, int n_shards);

}  // namespace cellot::screen
