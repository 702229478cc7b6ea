#include "detail/task_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/models/baselines/observed.hpp"
#include "cellot/models/model.hpp"

namespace cellot::screen::detail {

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

io::TaskState store_state(Outcome o) {
  switch (o) {
    case Outcome::done:
      return io::TaskState::done;
    case Outcome::failed:
      return io::TaskState::failed;
    case Outcome::diverged:
      return io::TaskState::diverged;
    default:
      return io::TaskState::pending;
  }
}

}  // namespace

// One task's state as it moves through the phases.
struct TaskRunner::Work {
  std::int64_t t = 0;
  const Task* task = nullptr;
  Config tc;
  double t0 = 0;
  std::array<double, io::kPhases> phase{};
  data::PairData pair;
  models::TrainInput in;
  Matrix source_test, target_test, pred;
  std::unique_ptr<models::Model> model;
  io::TaskRow row;
  std::string ckpt;
};

TaskRunner::TaskRunner(TaskContext ctx) : ctx_(std::move(ctx)), unconverged_(ctx_.metric_names.size(), 0) {}
TaskRunner::~TaskRunner() = default;

template <class Fn>
void TaskRunner::timed(Work& w, int k, Stamp& total, Fn&& fn) {
  // Accounts the phase even when it throws (an interrupted or diverged training). Rank 0's
  // serving from inside the phase (training loop polls) is the coordinator's time, counted once,
  // under serve.
  struct Account {
    Work& w;
    int k;
    Stamp& total;
    const Coordinator& coordinator;
    Stamp start = Stamp::now(), served = coordinator.stats().serve;
    ~Account() {
      const Stamp dt = (Stamp::now() - start) - (coordinator.stats().serve - served);
      w.phase[static_cast<std::size_t>(k)] += dt.wall;
      total += dt;
    }
  } acc{w, k, total, *ctx_.coordinator};
  fn();
  ctx_.coordinator->poll();  // rank 0: answer the other groups between phases too
}

void TaskRunner::load(Work& w) {
  const Config& cfg = *ctx_.cfg;
  const Task& task = *w.task;
  w.pair = ctx_.cache->get(task.fold).load_pair(task.perturbation, split_seed(cfg, task.fold, task.seed));
  w.in.perturbation = task.perturbation;
  w.in.source_train = w.pair.control.select_rows(w.pair.control_split.train);
  w.in.target_train = w.pair.treated.select_rows(w.pair.treated_split.train);
  w.in.source_val = w.pair.control.select_rows(w.pair.control_split.val);
  w.in.target_val = w.pair.treated.select_rows(w.pair.treated_split.val);
  // Only the observed baseline may see the treated test cells (they are what it "predicts");
  // every other model selects on the validation split and never gets them.
  w.target_test = w.pair.treated.select_rows(w.pair.treated_split.test);
  if (task.model == "observed") w.in.target_test = w.target_test;
  w.source_test = w.pair.control.select_rows(w.pair.control_split.test);
}

void TaskRunner::train(Work& w) {
  const auto d = static_cast<std::int64_t>(ctx_.plan->features.size());
  w.model = models::make_model(w.tc, d);
  models::TrainContext tctx;
  tctx.config = &w.tc;
  tctx.comm = ctx_.groups->group();
  tctx.seed = w.task->task_seed;
  tctx.progress = false;
  tctx.checkpoint_path = w.ckpt;
  tctx.resume = true;  // a checkpoint exists only if this task was interrupted before
  tctx.should_stop = ctx_.should_stop;
  const MPI_Comm group = ctx_.groups->group();
  const auto& gammas = ctx_.mmd_gammas;
  tctx.validation_metric = [&gammas, group](const Matrix& pred, const Matrix& obs) {
    return metrics::mmd_rbf(pred, obs, gammas, group);
  };
  w.model->train(w.in, tctx);
}

void TaskRunner::score(Work& w) {
  const Config& cfg = *ctx_.cfg;
  const Task& task = *w.task;
  // The observed baseline is scored as the floor it stands for: its prediction half against the
  // disjoint reference half, each cell once (its per-control predictions repeat the half
  // cyclically, which would weight some cells several times).
  const bool observed = task.model == "observed";
  models::ObservedHalves halves;
  if (observed) halves = models::observed_halves(w.target_test, task.task_seed);
  const Matrix& reference = observed ? halves.reference : w.target_test;
  Matrix true_response;
  if (ctx_.truth && ctx_.truth->has(task.perturbation) && !observed)
    true_response = ctx_.truth->apply(task.perturbation, w.source_test);
  metrics::Input mi;
  mi.predicted = observed ? &halves.prediction : &w.pred;
  mi.observed = &reference;
  mi.control = observed ? nullptr : &w.source_test;  // observed rows do not pair with controls
  mi.truth = true_response.rows > 0 ? &true_response : nullptr;
  auto mo = metrics::options_from_config(cfg.metrics, ctx_.groups->group(), derive_seed(task.task_seed, "metrics"));
  mo.warn_unconverged = false;  // one summary line at the end of the screen instead
  // Every model is scored on the same number of cells per set as the observed floor (half of the
  // treated test cells, each half against the other): the biased MMD, energy and the entropic
  // costs all depend on the sample sizes (the diagonal terms of MMD add about 1/|P| + 1/|O|), so
  // a model scored on more cells than the floor would beat it by sample size alone. As the
  // reference CellOT evaluation, both sets are subsampled to that common size
  // (deterministically, from the task's seed).
  const std::int64_t floor_cells = std::max<std::int64_t>(1, w.target_test.rows / 2);
  if (mo.max_cells <= 0 || mo.max_cells > floor_cells) mo.max_cells = floor_cells;
  if (ctx_.groups->is_group_root())
    log::debug("task " + task.key + ": metrics on at most " + std::to_string(mo.max_cells) + " cells per set (" +
               std::to_string(mi.predicted->rows) + " predicted, " + std::to_string(w.target_test.rows) +
               " treated test cells)");
  const auto values = metrics::compute(mi, mo);
  const auto& names = ctx_.metric_names;
  w.row.value.assign(names.size(), NAN);
  w.row.sd.assign(names.size(), NAN);
  w.row.iterations.assign(names.size(), 0);
  for (const auto& v : values) {
    const auto it = std::find(names.begin(), names.end(), v.name);
    if (it == names.end() || !v.available) continue;
    // Paired metrics have no meaning for the observed baseline (its rows are not maps of the
    // control rows beside them).
    if (observed && (v.name == "spearman_pair" || v.name == "uvp")) continue;
    const auto k = static_cast<std::size_t>(it - names.begin());
    w.row.value[k] = v.value;
    w.row.sd[k] = v.sd;
    w.row.iterations[k] = v.iterations;
    if (!v.converged) unconverged_[k] += 1;
  }
}

void TaskRunner::fill_row(Work& w) {
  io::TaskRow& row = w.row;
  row.curve_columns = w.model->curves().columns;
  row.curve_rows = w.model->curves().rows;
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> shapes;
  for (const auto& p : w.model->parameters()) {
    names.push_back(p.name);
    shapes.push_back(p.shape);
    row.params.insert(row.params.end(), p.values.begin(), p.values.end());
  }
  row.param_layout = io::format_layout(names, shapes);
  row.params_count = static_cast<std::int64_t>(row.params.size());
  if (ctx_.cfg->screen.save_predictions) {
    row.predictions.assign(w.pred.data.begin(), w.pred.data.end());
    for (std::int64_t i : w.pair.control_split.test)
      row.prediction_cells.push_back(w.pair.control_rows[static_cast<std::size_t>(i)]);
  }
}

Outcome TaskRunner::agree(Outcome mine, std::string& message) const {
  // The group acts on one outcome (a failure on any rank fails the task for all).
  if (ctx_.groups->group_size() <= 1) return mine;
  auto code = static_cast<std::int64_t>(mine);
  MPI_Allreduce(MPI_IN_PLACE, &code, 1, MPI_INT64_T, MPI_MAX, ctx_.groups->group());
  if (static_cast<Outcome>(code) != mine && message.empty()) message = "failed on another rank of the group";
  return static_cast<Outcome>(code);
}

Outcome TaskRunner::operator()(std::int64_t t) {
  Work w;
  w.t = t;
  w.task = &ctx_.plan->tasks[static_cast<std::size_t>(t)];
  w.t0 = now();
  w.ckpt = ctx_.ckpt_dir + "/task" + std::to_string(t) + ".ckpt";
  PhaseTimes& ph = *ctx_.ph;
  const bool group_root = ctx_.groups->is_group_root();
  if (group_root) timed(w, 4, ph.write, [&] { ctx_.store->write_state(t, io::TaskState::running); });
  Outcome outcome = Outcome::done;
  std::string message;
  try {
    w.tc = task_config(*ctx_.cfg, *w.task);
    timed(w, 0, ph.load, [&] { load(w); });
    timed(w, 1, ph.train, [&] { train(w); });
    timed(w, 2, ph.predict, [&] { w.pred = w.model->predict(w.source_test); });
    timed(w, 3, ph.metrics, [&] { score(w); });
    if (group_root) fill_row(w);
  } catch (const models::Interrupted& e) {
    outcome = Outcome::interrupted;
    message = e.what();
  } catch (const models::Diverged& e) {
    outcome = Outcome::diverged;
    message = e.what();
  } catch (const std::exception& e) {
    outcome = Outcome::failed;
    message = e.what();
  }
  outcome = agree(outcome, message);
  if (outcome == Outcome::interrupted) any_interrupted_ = true;
  if (!group_root) return outcome;
  return finish(w, outcome, message);
}

Outcome TaskRunner::finish(Work& w, Outcome outcome, const std::string& message) {
  const Task& task = *w.task;
  if (outcome == Outcome::interrupted) {
    ctx_.store->write_state(w.t, io::TaskState::pending);
    log::info("task " + task.key + " interrupted (checkpointed where the model supports it): " + message);
    return outcome;
  }
  if (outcome != Outcome::done) {
    log::warn("task " + task.key + " " + outcome_name(outcome) + ": " + message);
    w.row = io::TaskRow();
  }
  io::TaskRow& row = w.row;
  row.state = store_state(outcome);
  row.message = message;
  row.group = ctx_.groups->group_index();
  row.rank = ctx_.groups->world_rank();
  row.host = ctx_.host;
  timed(w, 4, ctx_.ph->write, [&] {
    row.phase_time = w.phase;
    row.wall_time = now() - w.t0;
    row.finished_at = log::timestamp_utc();
    ctx_.store->write_row(w.t, row);
  });
  if (outcome == Outcome::done) {
    // Checkpoints are single files (written to .tmp, then renamed); one syscall each when
    // absent, which is the common case (only interrupted CellOT tasks leave one).
    ::unlink(w.ckpt.c_str());
    ::unlink((w.ckpt + ".tmp").c_str());
  }
  return outcome;
}

}  // namespace cellot::screen::detail
