#pragma once
// One task of the screen on every rank of the group that got it: load -> train -> predict ->
// score -> write. The group acts on one outcome; the group root writes the row.
#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/store.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/models/baselines/observed.hpp"
#include "cellot/models/model.hpp"
#include "cellot/screen/coordinator.hpp"
#include "cellot/screen/groups.hpp"
#include "cellot/screen/screen.hpp"
#include "cellot/screen/transforms.hpp"
#include "data_cache.hpp"
#include "split_controls.hpp"

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
  const Transforms* transforms = nullptr;  // per split: file features <-> the models' space
  // Per split whose transform embeds: its control cells prepared once for the screen (embedded,
  // and the gene statistics when genes: metrics are scored); a task reads no control rows then.
  const SplitControlsMap* controls = nullptr;
  std::vector<std::string> metric_names;   // the store's metric columns ("iid:" ones for holdout)
  bool iid = false;  // holdout screen: also score the in-distribution test cells (split.iid)
  std::string ckpt_dir, host;
  // The store's lease (screen/lease.hpp): a group root writes to the store only while the lease
  // file holds this token (checked before each write; empty: no check, as in unit tests).
  std::string lease_file, lease_token;
  std::function<void()> keepalive;  // rank 0: the progress line's keepalive while tasks run
  double agree_timeout = 3600;      // s: how long a rank that failed alone waits for its group
  PhaseTimes* ph = nullptr;
};

class TaskRunner {
 public:
  explicit TaskRunner(TaskContext ctx);
  ~TaskRunner();
  // Collective over the group: runs task `t` and returns the outcome every rank of it agreed on.
  Outcome operator()(std::int64_t t);
  // Collective over the group: runs the tasks of one unit (screen.pack: several tasks of a kind
  // that trains packs, trained at once; a unit of one is operator()). Each task is loaded,
  // scored, written and agreed on as alone; the group root reports each to the coordinator
  // (report_task, with the work it actually took). Returns interrupted when any task was
  // interrupted, else done (the tasks' own outcomes are in the store and the reports).
  Outcome run_unit(const std::vector<std::int64_t>& tasks);

  // The trainers' per-iteration hook (TrainContext::should_stop), collective in the group: rank 0
  // serves the other groups, and the group agrees in one allreduce on a preemption signal, an
  // error seen by one of its ranks (the task fails on every rank at this step) and a failed
  // scheduler (the job fails).
  bool should_stop();

  bool any_interrupted() const { return any_interrupted_; }
  // (The destructor logs at debug level the rows of the data file this rank's tasks read, and
  // how many of them were control cells.)
  // The planned cost done so far on the tasks this rank is training (cost x fraction of steps).
  double inflight_work() const;
  // Per metric: tasks (run by this group root) whose Sinkhorn solve stopped at the cap.
  const std::vector<std::int64_t>& unconverged() const { return unconverged_; }

 private:
  struct Work;
  template <class Fn>
  void timed(Work& w, int k, Stamp& total, Fn&& fn);
  // The steps of a task: start (running state, config, load, the group's agreement on the load;
  // false when it failed), training (one task, or a pack's tasks together), after_train (predict,
  // score, fill the row) and conclude (the group's agreement on the outcome, the row written).
  bool start(Work& w, std::int64_t t);
  void load(Work& w);
  models::TrainContext train_context(Work& w);
  void train(Work& w);
  void train_pack(std::vector<Work*>& works);
  void after_train(Work& w);
  static void fail(Work& w, std::exception_ptr e);
  Outcome conclude(Work& w);
  void report(const Work& w, Outcome o) const;
  void score(Work& w);
  // Scores one evaluation set into the row's columns named prefix + metric, and its effects.
  void score_set(Work& w, const Matrix& pred, const Matrix& source, const std::vector<std::int64_t>& source_split,
                 const Matrix& target, const std::vector<std::int64_t>& target_split,
                 const std::vector<std::int64_t>& markers, const std::string& prefix,
                 std::vector<double>& predicted_effect, std::vector<double>& observed_effect);
  // With an embedding: the "genes:" metrics of one evaluation set (decoded predictions on the
  // top-k marker genes, metrics::compute_on_markers), into the row's columns prefix + name.
  void score_genes(Work& w, const Matrix& pred, const std::vector<std::int64_t>& source_split,
                   const std::vector<std::int64_t>& target_split, const models::ObservedHalves* floor_rows,
                   const std::string& prefix, const metrics::Options& mo);
  // Writes metric values into the row's columns prefix + name.
  void store_values(Work& w, const std::vector<metrics::Value>& values, const std::string& prefix, bool observed);
  // The known response of the scored control cells (`source_split`: indices into the pair's
  // controls) in the space the metrics are computed in; empty when there is none or it cannot
  // be expressed there.
  Matrix true_response(const Work& w, const Matrix& source, const std::vector<std::int64_t>& source_split) const;
  void fill_row(Work& w);
  std::vector<double> in_file_features(const Work& w, const std::vector<double>& change,
                                       const std::vector<double>& control_mean) const;
  // Collective over the group's outcome communicator, bounded by agree_timeout (then the job is
  // aborted with a diagnosis: a peer is stuck in a collective this rank left).
  std::int64_t agree(std::int64_t mine, const Work& w, const char* phase) const;
  Outcome finish(Work& w, Outcome outcome, const std::string& message);
  void safe_poll();  // the coordinator's poll; its failure is kept for the group to act on
  [[noreturn]] void fail_job() const;

  std::exception_ptr coordinator_error_;  // rank 0: the scheduler failed
  std::string step_error_;                // an error this rank saw at a training step
  bool group_abort_ = false;              // the group learned of a scheduler failure
  bool injected_ = false;
  TaskContext ctx_;
  bool any_interrupted_ = false;
  std::pair<std::int64_t, std::int64_t> reads_before_{0, 0};  // the cache's rows_read() at the start
  std::map<std::int64_t, double> inflight_;  // task -> cost x fraction of its steps done
  std::vector<std::int64_t> unconverged_;
};

}  // namespace cellot::screen::detail
