#include "detail/task_runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cellot/core/model_kinds.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/fault.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/metrics/names.hpp"
#include "cellot/metrics/selection.hpp"
#include "cellot/models/baselines/observed.hpp"
#include "cellot/models/model.hpp"
#include "cellot/nn/threads.hpp"
#include "cellot/screen/lease.hpp"
#include "detail/signals.hpp"

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

// Agreement codes: the Outcome values, and above them a failed scheduler (the job fails).
constexpr std::int64_t kAbortJob = 10;

// Thrown on every rank of a group at the same training step when one of its ranks saw an error
// there (the task fails for the group).
struct StepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown on every rank of a group at the same step when the scheduler failed (the job fails).
struct SchedulerDown : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
  data::FeatureTransform tf;  // the task's: its split's (models::model_transform)
  const SplitControls* controls = nullptr;  // its split's prepared control cells, if any
  Matrix source_test, target_test, pred;
  Matrix source_iid, target_iid, pred_iid;  // holdout screens: in-distribution test cells
  std::vector<std::int64_t> gene_markers;   // embedding: every gene by |SMD| on training cells
  std::unique_ptr<models::Model> model;
  io::TaskRow row;
  std::string ckpt;
  Outcome outcome = Outcome::done;  // this rank's, until the group agrees (conclude)
  std::string message;
  const char* at = "load";  // the phase it is in (for the agreement's diagnosis)
};

namespace {

// A store write that fails (a full disk, a lost file system) fails the job, not the task (exit 1
// on every rank): the rows and done flags written before are on disk, and the line says so.
// Another job owns the store once this one lost its lease: nothing is written (that job reruns
// the task). The writing rank reads the lease file first, so every rank stops writing at once,
// not at rank 0's next heartbeat; it then stops its group as a preemption signal would.
template <class Fn>
void store_write(const TaskContext& ctx, const std::string& task_key, Fn&& fn) {
  if (lease_lost()) return;
  if (!ctx.lease_token.empty() && !screen::lease_holds(ctx.lease_file, ctx.lease_token)) {
    log::error("screen: the lease " + ctx.lease_file + " was taken by " + screen::lease_holder(ctx.lease_file) +
               "; stopping: task " + task_key + " is not written, running tasks checkpoint, nothing more is written "
               "to the store");
    lose_lease();
    return;
  }
  try {
    fn();
  } catch (const RuntimeError& e) {
    throw RuntimeError(std::string(e.what()) + " (writing task " + task_key +
                       "; the tasks finished before are kept: free space or repair the file system, then "
                       "rerun with --resume)");
  }
}

}  // namespace

TaskRunner::TaskRunner(TaskContext ctx) : ctx_(std::move(ctx)), unconverged_(ctx_.metric_names.size(), 0) {
  if (ctx_.cache) reads_before_ = ctx_.cache->rows_read();
}

TaskRunner::~TaskRunner() {
  if (!ctx_.cache) return;
  const auto now = ctx_.cache->rows_read();
  log::debug("screen: this rank's tasks read " + std::to_string(now.first - reads_before_.first) +
             " rows of the data file, " + std::to_string(now.second - reads_before_.second) + " of them control cells");
}

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
  safe_poll();  // rank 0: answer the other groups between phases too
}

void TaskRunner::load(Work& w) {
  const Config& cfg = *ctx_.cfg;
  const Task& task = *w.task;
  // Cells are loaded in the split's embedding (the metrics are computed there) and standardised
  // for the model; predictions are unstandardised for the metrics and decoded for the store.
  const std::string key = transform_key(task.fold, task.seed);
  w.tf = models::model_transform(ctx_.transforms->at(key), task.model);
  const data::FeatureTransform& tf = w.tf;
  if (ctx_.controls) {
    const auto it = ctx_.controls->find(key);
    if (it != ctx_.controls->end()) w.controls = &it->second;
  }
  const Matrix* controls = w.controls && !w.controls->embedded.empty() ? &w.controls->embedded : nullptr;
  w.pair = ctx_.cache->get(task.fold).load_pair(task.perturbation, split_seed(cfg, task.fold, task.seed), &tf, controls);
  w.in.perturbation = task.perturbation;
  w.in.source_train = tf.standardize(w.pair.control.select_rows(w.pair.control_split.train));
  w.in.target_train = tf.standardize(w.pair.treated.select_rows(w.pair.treated_split.train));
  w.in.source_val = tf.standardize(w.pair.control.select_rows(w.pair.control_split.val));
  w.in.target_val = tf.standardize(w.pair.treated.select_rows(w.pair.treated_split.val));
  // Only the observed baseline may see the treated test cells (they are what it "predicts");
  // every other model selects on the validation split and never gets them.
  w.target_test = w.pair.treated.select_rows(w.pair.treated_split.test);
  if (model_kind(task.model).floor) w.in.target_test = tf.standardize(w.target_test);
  w.source_test = w.pair.control.select_rows(w.pair.control_split.test);
  if (ctx_.iid) {
    w.source_iid = w.pair.control.select_rows(w.pair.control_split.iid);
    w.target_iid = w.pair.treated.select_rows(w.pair.treated_split.iid);
  }
}

models::TrainContext TaskRunner::train_context(Work& w) {
  models::TrainContext tctx;
  tctx.config = &w.tc;
  tctx.comm = ctx_.groups->group();
  tctx.seed = w.task->task_seed;
  tctx.progress = false;
  tctx.checkpoint_path = w.ckpt;
  tctx.resume = true;  // a checkpoint exists only if this task was interrupted before
  tctx.should_stop = [this] { return should_stop(); };
  tctx.on_progress = [this, t = w.t, cost = w.task->cost](double f) { inflight_[t] = cost * f; };
  tctx.validation_metric = metrics::selection_metric(w.tc, w.in.target_train, ctx_.groups->group());
  return tctx;
}

void TaskRunner::train(Work& w) {
  w.model = models::make_model(w.tc, w.tf.dim());
  w.model->train(w.in, train_context(w));
}

// The pack's tasks trained at once (models::train_together); `works` keeps those that trained,
// the others get their outcome from the error their model reported.
void TaskRunner::train_pack(std::vector<Work*>& works) {
  std::vector<models::Model*> ms;
  std::vector<const models::TrainInput*> inputs;
  std::vector<models::TrainContext> ctxs;
  for (Work* w : works) {
    w->model = models::make_model(w->tc, w->tf.dim());
    ms.push_back(w->model.get());
    inputs.push_back(&w->in);
    ctxs.push_back(train_context(*w));
  }
  const auto errors = models::train_together(ms, inputs, ctxs);
  std::vector<Work*> trained;
  for (std::size_t i = 0; i < works.size(); ++i) {
    if (errors[i])
      fail(*works[i], errors[i]);
    else
      trained.push_back(works[i]);
  }
  works = trained;
}

// A mean change in the file's features: with a pca or obsm embedding the decoder is affine, so the change
// decodes as decode(control mean + change) - decode(control mean) (the store's /effects, and with
// them discrimination, are in the features of the data file, like /predictions).
std::vector<double> TaskRunner::in_file_features(const Work& w, const std::vector<double>& change,
                                                 const std::vector<double>& control_mean) const {
  if (!w.tf.embeds()) return change;
  const auto k = static_cast<std::int64_t>(change.size());
  Matrix at(1, k), base(1, k);
  for (std::int64_t j = 0; j < k; ++j) {
    base(0, j) = control_mean[static_cast<std::size_t>(j)];
    at(0, j) = base(0, j) + change[static_cast<std::size_t>(j)];
  }
  const Matrix a = w.tf.decode_embedding(at), b = w.tf.decode_embedding(base);
  std::vector<double> out(static_cast<std::size_t>(a.cols));
  for (std::int64_t j = 0; j < a.cols; ++j) out[static_cast<std::size_t>(j)] = a(0, j) - b(0, j);
  return out;
}

void TaskRunner::score(Work& w) {
  // Markers from the training cells (never the cells scored), in the space the metrics are
  // computed in (the split's embedding, unstandardised), shared by both evaluations.
  const auto markers = metrics::rank_markers(w.pair.control.select_rows(w.pair.control_split.train),
                                             w.pair.treated.select_rows(w.pair.treated_split.train));
  // With an embedding and genes: metrics, marker genes too: from the training cells in the
  // file's features (at most data::kTransformFitCells of each condition, evenly spaced, as the
  // transform's fit); the controls' moments were computed once for the screen.
  const bool genes = std::any_of(ctx_.metric_names.begin(), ctx_.metric_names.end(), [](const std::string& n) {
    return n.rfind(metrics::kGenesPrefix, 0) == 0;
  });
  if (w.tf.embeds() && genes) {
    const auto& ds = ctx_.cache->get(w.task->fold);
    const Matrix treated = ds.load_rows(data::fit_sample(pick_rows(w.pair.treated_rows, w.pair.treated_split.train)));
    if (w.controls && w.controls->genes)
      w.gene_markers = metrics::rank_markers(w.controls->marker_moments, treated);
    else
      w.gene_markers = metrics::rank_markers(
          ds.load_rows(data::fit_sample(pick_rows(w.pair.control_rows, w.pair.control_split.train))), treated);
  }
  score_set(w, w.pred, w.source_test, w.pair.control_split.test, w.target_test, w.pair.treated_split.test, markers, "",
            w.row.predicted_effect, w.row.observed_effect);
  // A holdout screen also scores held-out cells of the groups the model trained on (iid).
  if (ctx_.iid && w.source_iid.rows > 0 && w.target_iid.rows > 0)
    score_set(w, w.pred_iid, w.source_iid, w.pair.control_split.iid, w.target_iid, w.pair.treated_split.iid, markers,
              "iid:",
              w.row.iid_predicted_effect, w.row.iid_observed_effect);
}

// Feature-space maps (4i, screen presets) act on the file's features, so they are known only
// without an embedding. Latent maps (scrna preset) are decoded to the genes of X and then embedded
// like the cells (an obsm embedding is read, not computed from genes: no truth there).
Matrix TaskRunner::true_response(const Work& w, const Matrix& source, const std::vector<std::int64_t>& source_split) const {
  const data::SynthMaps& truth = *ctx_.truth;
  const std::string& p = w.task->perturbation;
  if (!truth.latent()) return w.tf.embeds() ? Matrix() : truth.apply(p, source);
  if (ctx_.cfg->data.layer != "X" || w.tf.from_obsm()) return Matrix();
  std::vector<std::int64_t> rows;
  rows.reserve(source_split.size());
  for (std::int64_t i : source_split) rows.push_back(w.pair.control_rows[static_cast<std::size_t>(i)]);
  const Matrix genes = truth.truth(p, Matrix(), rows, ctx_.cache->get(w.task->fold).reader(), nn::parallel_for);
  return w.tf.embeds() ? w.tf.embed(genes) : genes;
}

void TaskRunner::score_set(Work& w, const Matrix& pred, const Matrix& source, const std::vector<std::int64_t>& source_split,
                           const Matrix& target, const std::vector<std::int64_t>& target_split,
                           const std::vector<std::int64_t>& markers, const std::string& prefix,
                           std::vector<double>& predicted_effect, std::vector<double>& observed_effect) {
  const Config& cfg = *ctx_.cfg;
  const Task& task = *w.task;
  // The observed baseline is scored as the floor it stands for: its prediction half against the
  // disjoint reference half, each cell once (its per-control predictions repeat the half
  // cyclically, which would weight some cells several times).
  const bool observed = model_kind(task.model).floor;
  models::ObservedHalves halves;
  if (observed) halves = models::observed_halves(target, task.task_seed);
  const Matrix& reference = observed ? halves.reference : target;
  // Changes are measured from the scored controls' mean, for the observed baseline too (its rows
  // pair with no control).
  const auto control_mean = metrics::feature_means(source);
  metrics::Input mi;
  mi.predicted = observed ? &halves.prediction : &pred;
  mi.observed = &reference;
  mi.control = observed ? nullptr : &source;  // observed rows do not pair with controls
  mi.control_mean = &control_mean;
  mi.markers = &markers;
  auto mo = metrics::options_from_config(cfg.metrics, ctx_.groups->group(),
                                         derive_seed(task.task_seed, prefix.empty() ? "metrics" : "metrics|" + prefix));
  mo.warn_unconverged = false;  // one summary line at the end of the screen instead
  // The truth only for uvp (the scrna preset's costs 32 draws of every gene per control cell).
  Matrix true_response;
  if (ctx_.truth && ctx_.truth->has(task.perturbation) && !observed &&
      std::find(mo.names.begin(), mo.names.end(), "uvp") != mo.names.end())
    true_response = this->true_response(w, source, source_split);
  mi.truth = true_response.rows > 0 ? &true_response : nullptr;
  mo.tick = [this] { safe_poll(); };  // heartbeats and rank 0's service during long metrics
  // Every model is scored on the same number of cells per set as the observed floor (half of the
  // treated cells scored, each half against the other): the biased MMD, energy and the entropic
  // costs all depend on the sample sizes (the diagonal terms of MMD add about 1/|P| + 1/|O|), so
  // a model scored on more cells than the floor would beat it by sample size alone. As the
  // reference CellOT evaluation, both sets are subsampled to that common size
  // (deterministically, from the task's seed).
  const std::int64_t floor_cells = std::max<std::int64_t>(1, target.rows / 2);
  if (mo.max_cells <= 0 || mo.max_cells > floor_cells) mo.max_cells = floor_cells;
  if (ctx_.groups->is_group_root())
    log::debug("task " + task.key + ": " + (prefix.empty() ? "" : prefix + " ") + "metrics on at most " +
               std::to_string(mo.max_cells) + " cells per set (" + std::to_string(mi.predicted->rows) +
               " predicted, " + std::to_string(target.rows) + " treated test cells)");
  const auto values = metrics::compute(mi, mo);
  // Effects on all cells (not the scored subsample): report's screen-level discrimination.
  if (w.tf.from_ae()) {
    // The decoder is not affine: an effect is the mean of the decoded cells minus the mean of the
    // decoded controls (not the decoded mean change).
    const auto decoded_controls = metrics::feature_means(w.tf.decode_embedding(source));
    predicted_effect = metrics::mean_change(w.tf.decode_embedding(*mi.predicted), decoded_controls);
    observed_effect = metrics::mean_change(w.tf.decode_embedding(reference), decoded_controls);
  } else {
    predicted_effect = in_file_features(w, metrics::mean_change(*mi.predicted, control_mean), control_mean);
    observed_effect = in_file_features(w, metrics::mean_change(reference, control_mean), control_mean);
  }
  store_values(w, values, prefix, observed);
  if (w.tf.embeds() && !w.gene_markers.empty())
    score_genes(w, pred, source_split, target_split, observed ? &halves : nullptr, prefix, mo);
}

void TaskRunner::score_genes(Work& w, const Matrix& pred, const std::vector<std::int64_t>& source_split,
                             const std::vector<std::int64_t>& target_split, const models::ObservedHalves* floor_rows,
                             const std::string& prefix, const metrics::Options& mo) {
  metrics::Options go = mo;
  go.names = metrics::marker_metric_names(mo.names, mo.top_k);
  if (go.names.empty()) return;
  const auto& ds = ctx_.cache->get(w.task->fold);
  const auto treated = pick_rows(w.pair.treated_rows, target_split);
  // The genes: metrics take the controls' mean only (their paired control rows serve no base of
  // metrics::marker_metric_bases): the screen computed it once per split.
  std::vector<double> control_mean;
  if (w.controls && w.controls->genes)
    control_mean = prefix.empty() ? w.controls->test_mean : w.controls->iid_mean;
  else
    control_mean = metrics::feature_means(ds.load_rows(pick_rows(w.pair.control_rows, source_split)));
  Matrix predicted, observed;
  if (floor_rows != nullptr) {
    // The observed baseline: the same halves of the perturbed cells, in the file's features.
    predicted = ds.load_rows(pick_rows(treated, floor_rows->prediction_rows));
    observed = ds.load_rows(pick_rows(treated, floor_rows->reference_rows));
  } else {
    predicted = w.tf.decode_embedding(pred);
    observed = ds.load_rows(treated);
  }
  metrics::Input gi;
  gi.predicted = &predicted;
  gi.observed = &observed;
  gi.control_mean = &control_mean;
  gi.markers = &w.gene_markers;
  gi.paired = floor_rows == nullptr;
  store_values(w, metrics::compute_on_markers(gi, go), prefix, floor_rows != nullptr);
}

void TaskRunner::store_values(Work& w, const std::vector<metrics::Value>& values, const std::string& prefix,
                              bool observed) {
  const auto& names = ctx_.metric_names;
  w.row.value.resize(names.size(), NAN);
  w.row.sd.resize(names.size(), NAN);
  w.row.iterations.resize(names.size(), 0);
  for (const auto& v : values) {
    const auto it = std::find(names.begin(), names.end(), prefix + v.name);
    if (it == names.end() || !v.available) continue;
    // Paired metrics have no meaning for the observed baseline (its rows are not maps of the
    // control rows beside them).
    if (observed && metrics::is_paired_metric(v.name)) continue;
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
    const Matrix decoded = w.tf.decode_embedding(w.pred);  // in the file's features
    row.predictions.assign(decoded.data.begin(), decoded.data.end());
    for (std::int64_t i : w.pair.control_split.test)
      row.prediction_cells.push_back(w.pair.control_rows[static_cast<std::size_t>(i)]);
  }
}

void TaskRunner::safe_poll() {
  if (coordinator_error_) return;  // the scheduler has failed: the job is going down
  try {
    ctx_.coordinator->poll();
  } catch (const CoordinatorError&) {
    coordinator_error_ = std::current_exception();
  }
}

bool TaskRunner::should_stop() {
  safe_poll();
  if (ctx_.keepalive) ctx_.keepalive();
  if (!injected_ && fault::armed("step_error")) {
    injected_ = true;
    step_error_ = "injected step error (CELLOT_FAULT=step_error)";
  }
  if (!injected_ && fault::armed("train_throw")) {
    injected_ = true;  // a rank-local throw the hook cannot carry: the group is left behind
    throw RuntimeError("injected rank-local failure (CELLOT_FAULT=train_throw)");
  }
  // {what, world rank + 1 of a rank that saw an error}: what is 3 for a failed scheduler, 2 for
  // an error at this step, 1 for a preemption signal.
  int flag[2] = {coordinator_error_ ? 3 : !step_error_.empty() ? 2 : stop_requested() ? 1 : 0, 0};
  if (!step_error_.empty()) flag[1] = ctx_.groups->world_rank() + 1;
  // Bound: every rank of the group calls this hook once per training step (the trainers' step
  // is collective in the group), so it completes unless a peer left the step, which the outcome
  // agreement bounds (agree()).
  if (ctx_.groups->group_size() > 1) MPI_Allreduce(MPI_IN_PLACE, flag, 2, MPI_INT, MPI_MAX, ctx_.groups->group());
  if (flag[0] == 3) {
    group_abort_ = true;
    throw SchedulerDown("the screen's scheduler failed (see world rank 0's error)");
  }
  if (flag[0] == 2) {
    if (!step_error_.empty()) log::warn("task failed at a training step on this rank: " + step_error_);
    throw StepError("error at a training step on world rank " + std::to_string(flag[1] - 1) +
                    (step_error_.empty() ? " (its log says why)" : ": " + step_error_));
  }
  return flag[0] != 0;
}

[[noreturn]] void TaskRunner::fail_job() const {
  if (coordinator_error_) std::rethrow_exception(coordinator_error_);
  // World rank 0 holds the diagnosis and aborts the job with it.
  throw CoordinatorError("the screen's scheduler failed on world rank 0 (its error says why); failing the job so it "
                         "can be resumed (--resume)");
}

std::int64_t TaskRunner::agree(std::int64_t mine, const Work& w, const char* phase) const {
  // The group acts on one outcome (a failure on any rank fails the task for all). On its own
  // communicator: a rank that failed alone inside a phase cannot match a collective of the
  // trainer or the metrics that its peers are still in.
  if (ctx_.groups->group_size() <= 1) return mine;
  std::int64_t code = mine;
  MPI_Request req;
  MPI_Iallreduce(&mine, &code, 1, MPI_INT64_T, MPI_MAX, ctx_.groups->outcome(), &req);
  // Bound: agree_timeout (screen.wait_timeout). Peers that fail or finish the phase arrive within
  // a training step; a peer still away after that is inside a collective this rank left.
  const double start = now();
  long long ns = 50000;
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) return code;
    timespec ts{0, static_cast<long>(ns)};
    nanosleep(&ts, nullptr);
    ns = std::min(ns * 2, 2000000LL);
    if (ctx_.agree_timeout > 0 && now() - start > ctx_.agree_timeout)
      throw RuntimeError("task " + w.task->key + ": world rank " + std::to_string(ctx_.groups->world_rank()) +
                         " left the " + phase + " phase with an error and the other ranks of group " +
                         std::to_string(ctx_.groups->group_index()) + " did not follow within " +
                         std::to_string(static_cast<long long>(ctx_.agree_timeout)) +
                         " s (screen.wait_timeout): they wait in a collective of that phase; aborting the job "
                         "rather than holding the allocation (rows written so far are kept; --resume retries the "
                         "task)");
  }
}

void TaskRunner::fail(Work& w, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const models::Interrupted& x) {
    w.outcome = Outcome::interrupted;
    w.message = x.what();
  } catch (const models::Diverged& x) {
    w.outcome = Outcome::diverged;
    w.message = x.what();
  } catch (const std::exception& x) {
    w.outcome = Outcome::failed;
    w.message = x.what();
  }
}

bool TaskRunner::start(Work& w, std::int64_t t) {
  w.t = t;
  w.task = &ctx_.plan->tasks[static_cast<std::size_t>(t)];
  w.t0 = now();
  w.ckpt = ctx_.ckpt_dir + "/task" + std::to_string(t) + ".ckpt";
  if (ctx_.groups->is_group_root())
    timed(w, 4, ctx_.ph->write,
          [&] { store_write(ctx_, w.task->key, [&] { ctx_.store->write_state(t, io::TaskState::running); }); });
  try {
    w.tc = task_config(*ctx_.cfg, *w.task);
    try {
      timed(w, 0, ctx_.ph->load, [&] { load(w); });
    } catch (const std::exception& e) {
      w.outcome = Outcome::failed;
      w.message = e.what();
    }
    // Loading is rank-local (file reads): the group agrees on it before any collective of training.
    if (agree(static_cast<std::int64_t>(w.outcome), w, w.at) != 0)
      throw StepError(w.message.empty() ? "failed on another rank of the group" : w.message);
  } catch (...) {
    fail(w, std::current_exception());
  }
  return w.outcome == Outcome::done;
}

void TaskRunner::after_train(Work& w) {
  w.at = "predict";
  timed(w, 2, ctx_.ph->predict, [&] {
    w.pred = w.tf.unstandardize(w.model->predict(w.tf.standardize(w.source_test)));
    if (w.source_iid.rows > 0) w.pred_iid = w.tf.unstandardize(w.model->predict(w.tf.standardize(w.source_iid)));
  });
  w.at = "metrics";
  timed(w, 3, ctx_.ph->metrics, [&] { score(w); });
  w.at = "write";
  if (ctx_.groups->is_group_root()) fill_row(w);
}

double TaskRunner::inflight_work() const {
  double s = 0;
  for (const auto& [t, work] : inflight_) s += work;
  return s;
}

Outcome TaskRunner::conclude(Work& w) {
  inflight_.erase(w.t);
  std::int64_t code = static_cast<std::int64_t>(w.outcome);
  if (coordinator_error_ || group_abort_) code = kAbortJob;
  code = agree(code, w, w.at);
  if (code == kAbortJob) fail_job();
  const Outcome agreed = static_cast<Outcome>(code);
  if (agreed != w.outcome && w.message.empty()) w.message = "failed on another rank of the group";
  if (agreed == Outcome::interrupted) any_interrupted_ = true;
  if (!ctx_.groups->is_group_root()) return agreed;
  const Outcome o = finish(w, agreed, w.message);
  report(w, o);
  return o;
}

// The group root tells the coordinator (rank 0's progress and ETA) that the task has finished
// and what it cost: the plan's cost, times the fraction of its optimisation it ran.
void TaskRunner::report(const Work& w, Outcome o) const {
  if (o == Outcome::interrupted || o == Outcome::skipped) return;
  const double fraction = o == Outcome::done && w.model ? w.model->work_done() : 1.0;
  ctx_.coordinator->report_task(w.t, o, w.task->cost * fraction);
}

Outcome TaskRunner::operator()(std::int64_t t) {
  Work w;
  step_error_.clear();
  if (start(w, t)) {
    try {
      w.at = "train";
      timed(w, 1, ctx_.ph->train, [&] { train(w); });
      after_train(w);
    } catch (const std::exception&) {
      fail(w, std::current_exception());
    }
  }
  return conclude(w);
}

Outcome TaskRunner::run_unit(const std::vector<std::int64_t>& tasks) {
  if (tasks.size() == 1) return (*this)(tasks.front());
  if (ctx_.groups->is_group_root()) {
    std::string keys;
    for (const std::int64_t t : tasks) keys += (keys.empty() ? "" : ", ") + ctx_.plan->tasks[static_cast<std::size_t>(t)].key;
    log::debug("pack of " + std::to_string(tasks.size()) + " tasks (group " + std::to_string(ctx_.groups->group_index()) +
               "): " + keys);
  }
  std::vector<Work> works(tasks.size());
  step_error_.clear();
  std::vector<Work*> training;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    if (start(works[i], tasks[i])) training.push_back(&works[i]);
  if (!training.empty()) {
    // The pack's training time is shared equally among its tasks' train phase.
    const std::vector<Work*> all = training;
    for (Work* w : all) w->at = "train";
    try {
      timed(*all.front(), 1, ctx_.ph->train, [&] { train_pack(training); });
    } catch (const std::exception&) {
      for (Work* w : training) fail(*w, std::current_exception());
    }
    const double share = all.front()->phase[1] / static_cast<double>(all.size());
    for (Work* w : all) w->phase[1] = share;
  }
  // One task after the other, each agreed on before the next one's collectives start.
  Outcome unit = Outcome::done;
  for (Work& w : works) {
    if (w.outcome == Outcome::done) {
      try {
        after_train(w);
      } catch (const std::exception&) {
        fail(w, std::current_exception());
      }
    }
    if (conclude(w) == Outcome::interrupted) unit = Outcome::interrupted;
  }
  return unit;
}

Outcome TaskRunner::finish(Work& w, Outcome outcome, const std::string& message) {
  const Task& task = *w.task;
  if (outcome == Outcome::interrupted) {
    store_write(ctx_, w.task->key, [&] { ctx_.store->write_state(w.t, io::TaskState::pending); });
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
    store_write(ctx_, w.task->key, [&] { ctx_.store->write_row(w.t, row); });
  });
  if (outcome == Outcome::done) {
    fault::kill_point("checkpoint_cleanup");  // done in the store, its checkpoint files still there
    // Checkpoints are single files (written to .tmp, then renamed); one syscall each when
    // absent, which is the common case (only interrupted CellOT tasks leave one).
    ::unlink(w.ckpt.c_str());
    ::unlink((w.ckpt + ".tmp").c_str());
    ::unlink((w.ckpt + ".prev").c_str());
  }
  return outcome;
}

}  // namespace cellot::screen::detail
