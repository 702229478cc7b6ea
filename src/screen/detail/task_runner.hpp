#pragma once
// One task of the screen on every rank of the group that got it: load -> train -> predict ->
// score -> write. The group acts on one outcome; the group root writes the row.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/store.hpp"
#include "cellot/screen/coordinator.hpp"
#include "cellot/screen/groups.hpp"
#include "cellot/screen/screen.hpp"
#include "data_cache.hpp"

namespace cellot::screen::detail {

// What every task of the screen shares (references outlive the runner).
struct TaskContext {
  const Config* cfg = nullptr;
  const Plan* plan = nullptr;
  const Groups* groups = nullptr;
  io::Store* store = nullptr;
  Coordinator* coordinator = nullptr;
  DataCache* cache = nullptr;
  const data::SynthMaps* truth = nullptr;  // synthetic ground truth (uvp), or none
  std::vector<std::string> metric_names;   // the store's metric columns
  std::vector<double> mmd_gammas;          // validation metric
  std::string ckpt_dir, host;
  std::function<bool()> should_stop;  // the trainers' per-iteration hook (collective in the group)
  PhaseTimes* ph = nullptr;
};

class TaskRunner {
 public:
  explicit TaskRunner(TaskContext ctx);
  ~TaskRunner();
  // Collective over the group: runs task `t` and returns the outcome every rank of it agreed on.
  Outcome operator()(std::int64_t t);

  bool any_interrupted() const { return any_interrupted_; }
  // Per metric: tasks (run by this group root) whose Sinkhorn solve stopped at the cap.
  const std::vector<std::int64_t>& unconverged() const { return unconverged_; }

 private:
  struct Work;
  template <class Fn>
  void timed(Work& w, int k, Stamp& total, Fn&& fn);
  void load(Work& w);
  void train(Work& w);
  void score(Work& w);
  void fill_row(Work& w);
  Outcome agree(Outcome mine, std::string& message) const;
  Outcome finish(Work& w, Outcome outcome, const std::string& message);

  TaskContext ctx_;
  bool any_interrupted_ = false;
  std::vector<std::int64_t> unconverged_;
};

}  // namespace cellot::screen::detail
