#pragma once
// A small store spec and rows with known values, shared by the store, merge and MPI store tests.
#include <cmath>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"

namespace cellot::test {

inline io::StoreSpec small_spec(int n_tasks = 6, bool predictions = true) {
  io::StoreSpec s;
  const std::vector<std::string> models = {"cellot", "identity", "observed"};
  for (int t = 0; t < n_tasks; ++t) {
    io::PlanRow r;
    r.perturbation = "drug" + std::to_string(t / 3);
    r.model = models[static_cast<std::size_t>(t % 3)];
    r.fold = 0;
    r.seed = static_cast<std::uint64_t>(t % 2);
    r.key = r.perturbation + "|" + r.model + "|fold0|seed" + std::to_string(r.seed) + "|" + std::to_string(t);
    r.task_seed = 1000 + static_cast<std::uint64_t>(t);
    r.cost = 10.0 * (t + 1);
    r.n_control = 40;
    r.n_treated = 30 + t;
    r.prediction_capacity = 3 + t % 2;
    s.tasks.push_back(r);
  }
  s.config_ini = "[data]\npath = x.h5ad\n";
  s.plan_text = "plan text";
  s.plan_hash = "0123456789abcdef";
  s.split_rule = "train_val_test";
  s.perturbations = {"drug0", "drug1"};
  s.models = models;
  s.folds = {"0"};
  s.seeds = {"0", "1"};
  s.metric_names = {"mmd", "r_means", "knn_mix@50", "uvp"};
  s.features = {"f0", "f1", "f2"};
  io::ParamLayout p;
  p.model = "cellot";
  p.names = {"w", "b"};
  p.shapes = {{2, 3}, {2}};
  p.max_size = 8;
  s.params.push_back(p);
  s.curve_points = 4;
  s.curve_columns = 3;
  s.save_predictions = predictions;
  return s;
}

// A done row whose numbers depend on the task index (and `salt`, to make conflicting rows).
inline io::TaskRow small_row(std::int64_t t, const io::StoreSpec& spec, double salt = 0) {
  io::TaskRow r;
  r.state = io::TaskState::done;
  r.wall_time = 1.5 + static_cast<double>(t);
  r.phase_time = {0.1, 0.2, 0.3, 0.4, 0.5};
  r.group = static_cast<int>(t % 2);
  r.rank = static_cast<int>(t % 2);
  r.host = "node" + std::to_string(t);
  r.finished_at = "2026-01-01T00:00:00.000Z";
  for (std::size_t k = 0; k < spec.metric_names.size(); ++k) {
    r.value.push_back(0.1 * static_cast<double>(t) + 0.01 * static_cast<double>(k) + salt);
    r.sd.push_back(0.0);
    r.iterations.push_back(static_cast<std::int32_t>(k));
  }
  r.value.back() = NAN;  // uvp: not available
  r.curve_columns = {"step", "loss"};
  for (int i = 0; i < 3; ++i) r.curve_rows.push_back({static_cast<double>(i), 1.0 / (i + 1 + static_cast<double>(t))});
  if (spec.tasks[static_cast<std::size_t>(t)].model == "cellot") {
    r.params = {1, 2, 3, 4, 5, 6, 7, static_cast<float>(t)};
    r.param_layout = "w:2x3;b:2";
    r.params_count = 8;
  }
  const auto cap = spec.tasks[static_cast<std::size_t>(t)].prediction_capacity;
  for (std::int64_t i = 0; i < cap * 3; ++i) r.predictions.push_back(static_cast<float>(t * 100 + i));
  for (std::int64_t i = 0; i < cap; ++i) r.prediction_cells.push_back(i * 2);
  return r;
}

}  // namespace cellot::test
