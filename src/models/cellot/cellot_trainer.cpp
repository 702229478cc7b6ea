#include "cellot/models/cellot/cellot_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/hash.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot_group_step.hpp"
#include "cellot/nn/adam.hpp"
#include "cellot/nn/allreduce.hpp"
#include "cellot/nn/early_stop.hpp"
#include "cellot/nn/epoch_sampler.hpp"

namespace cellot::models {

using nn::Adam;
using nn::broadcast;

CellotHyper CellotHyper::from_config(const Config& cfg) {
  CellotHyper hp;
  const auto& t = cfg.training;
  auto positive = [](std::int64_t v, const char* key) {
    if (v <= 0) throw InputError("config", key, std::to_string(v), "must be positive");
    return v;
  };
  hp.iters = t.iters;
  if (hp.iters < 0) throw InputError("config", "training.iters", std::to_string(t.iters), "must not be negative");
  hp.batch = positive(cfg.batch_size(), "training.batch_size");
  hp.inner = positive(t.inner_iters, "training.inner_iters");
  hp.micro_batches = positive(t.micro_batches, "training.micro_batches");
  hp.lr = cfg.lr();
  if (!(hp.lr > 0)) throw InputError("config", "training.lr", std::to_string(hp.lr), "must be positive");
  hp.beta1 = t.beta1;
  hp.beta2 = t.beta2;
  if (!(hp.beta1 >= 0 && hp.beta1 < 1)) throw InputError("config", "training.beta1", std::to_string(hp.beta1), "must be in [0, 1)");
  if (!(hp.beta2 >= 0 && hp.beta2 < 1)) throw InputError("config", "training.beta2", std::to_string(hp.beta2), "must be in [0, 1)");
  hp.g_penalty = t.g_penalty;
  if (!(hp.g_penalty >= 0)) throw InputError("config", "training.g_penalty", std::to_string(hp.g_penalty), "must not be negative");
  hp.eval_every = positive(t.eval_every, "training.eval_every");
  hp.checkpoint_every = positive(t.checkpoint_every, "training.checkpoint_every");
  hp.patience = cfg.patience();
  hp.min_iters = cfg.min_iters();
  hp.select_metric = t.select_metric;
  return hp;
}

std::string checkpoint_signature(const models::IcnnShape& shape, const CellotHyper& hp, std::uint64_t seed,
                                 std::int64_t n_source, std::int64_t n_target) {
  std::ostringstream os;
  os.precision(17);
  os << "cellot " << shape.describe() << "; batch " << hp.batch << " (epoch-shuffled, " << hp.micro_batches
     << " micro-batches); inner " << hp.inner << "; lr " << hp.lr
     << "; betas " << hp.beta1 << "," << hp.beta2 << "; g_penalty " << hp.g_penalty << "; seed " << seed
     << "; cells " << n_source << "," << n_target;
  // Early stopping ends a run at a step its checkpoints must not outlive; without it the
  // signature is what it always was, so existing checkpoints stay valid.
  if (hp.patience > 0) os << "; patience " << hp.patience << "; min_iters " << hp.min_iters;
  return os.str();
}

std::vector<std::string> cellot_curve_columns(const std::string& select_metric) {
  return {"step", "g_loss", "f_loss", "w2", "val_" + select_metric};
}

namespace {

std::vector<float> to_float(const Matrix& m) {
  std::vector<float> out(m.data.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(m.data[i]);
  return out;
}

bool all_finite(const float* v, std::int64_t n) {
  // Inf and NaN are the floats whose exponent bits are all set. An OR over integer flags
  // vectorises (a float sum would not: its order is fixed without -ffast-math, one dependent add
  // per element, 2% of an outer iteration over its 11 checks).
  std::uint32_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

void check_step(const float* grad, std::int64_t n, double loss, const char* net, std::int64_t step, std::int64_t inner) {
  if (std::isfinite(loss) && all_finite(grad, n)) return;
  std::ostringstream os;
  os << "training diverged at outer iteration " << step + 1;
  if (inner >= 0) os << " (g step " << inner + 1 << ")";
  os << ": " << net << " loss = " << loss << (all_finite(grad, n) ? "" : ", non-finite gradient");
  throw models::Diverged(os.str());
}

void broadcast_double(double& v, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  // Bound: lockstep: every rank of the group makes this call at the same step; a rank that throws instead
  // reaches the task's outcome agreement, which aborts the job after screen.wait_timeout (task_runner.cpp),
  // and any other command aborts the job on an error (cli/commands.cpp fail()).
  if (size > 1 && MPI_Bcast(&v, 1, MPI_DOUBLE, 0, comm) != MPI_SUCCESS) throw RuntimeError("MPI_Bcast failed");
}

// XXH3-64 of the two parameter vectors (compared between the ranks of a group at the same step;
// never stored).
std::uint64_t params_hash(const std::vector<float>& f, const std::vector<float>& g) {
  Xxh3Stream h;
  h.update(f.data(), f.size() * sizeof(float));
  h.update(g.data(), g.size() * sizeof(float));
  return h.digest();
}

// True when every rank of comm holds the same value (one small allreduce: max of h and ~h).
bool same_on_all_ranks(std::uint64_t h, MPI_Comm comm) {
  std::uint64_t v[2] = {h, ~h};
  // Bound: lockstep: every rank of the group makes this call at the same step; a rank that throws instead
  // reaches the task's outcome agreement, which aborts the job after screen.wait_timeout (task_runner.cpp),
  // and any other command aborts the job on an error (cli/commands.cpp fail()).
  MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, comm);
  return v[0] == h && ~v[1] == h;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}


// One training run: the state, the optimisers and samplers, and the steps of the loop as methods.
class CellotRun {
 public:
  // `shared`: the step workspace of a pack (train_cellot_pack), used by its members in turn; it
  // must have been built for this run's shape, adapted batch, micro-batches and group; nullptr: own.
  CellotRun(const models::IcnnShape& shape, const CellotHyper& hp, const models::TrainInput& input,
            const models::TrainContext& ctx, CellotGroupStep* shared = nullptr);
  CellotResult run();

  // The loop of run() one outer iteration at a time, so that a pack can interleave several runs
  // (train_cellot_pack): begin() once, then advance() until it returns something other than
  // running, then end(). `stop_vote` is this rank's preemption vote for the iteration (the f
  // step's reduction carries it, so every rank of the group sees the same outcome).
  enum class Status { running, finished, interrupted };
  void begin();
  Status advance(bool stop_vote);
  CellotResult end();
  // After advance() returned interrupted (on every rank): the exception to report.
  models::Interrupted interrupted() const;

 private:
  void check_inputs() const;
  void restore();
  void replay_early_stop();
  void ensure_in_sync();
  double validation_w2(const std::vector<float>& t, const std::vector<float>& ft, const std::vector<float>& fy) const;
  void evaluate();
  void checkpoint();
  void g_steps();
  bool f_step(bool stop_vote);  // true when a rank asked the group to stop
  void show_progress(bool last);
  CellotResult result(bool stopped_early) const;

  const models::IcnnShape& shape_;
  const CellotHyper& hp_;
  const models::TrainInput& input_;
  const models::TrainContext& ctx_;
  int rank_ = 0, size_ = 1;
  std::int64_t d_, n_params_;
  std::vector<float> src_, tgt_, src_val_, tgt_val_;
  std::int64_t n_src_, n_tgt_, n_src_val_, n_tgt_val_;
  std::int64_t batch_;
  std::unique_ptr<CellotGroupStep> own_steps_;  // when not given a pack's
  CellotGroupStep& steps_;
  CellotState st_;
  Adam opt_f_, opt_g_;
  nn::EpochSampler src_batches_, tgt_batches_;
  std::string signature_;
  nn::EarlyStop early_;
  std::vector<float> gbuf_;  // the g gradient, copied (the group's total is read-only) to add the W penalty
  double last_w2_ = std::nan(""), last_metric_ = std::nan("");
  double g_loss_ = std::nan(""), f_loss_ = std::nan("");
  std::int64_t sync_checks_ = 0;
  std::int64_t first_step_ = 0;
  bool progress_enabled_ = false;
  std::chrono::steady_clock::time_point last_progress_;
  std::unique_ptr<log::Progress> progress_;  // between begin() and end()
  bool stopped_early_ = false;
};

int comm_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

int comm_size(MPI_Comm comm) {
  int s = 1;
  MPI_Comm_size(comm, &s);
  return s;
}

// The reference's loaders use min(batch_size, cells of either training set).
std::int64_t adapted_batch(const CellotHyper& hp, const models::TrainInput& input) {
  return std::min({hp.batch, input.source_train.rows, input.target_train.rows});
}

CellotRun::CellotRun(const models::IcnnShape& shape, const CellotHyper& hp, const models::TrainInput& input,
                     const models::TrainContext& ctx, CellotGroupStep* shared)
    : shape_(shape),
      hp_(hp),
      input_(input),
      ctx_(ctx),
      rank_(comm_rank(ctx.comm)),
      size_(comm_size(ctx.comm)),
      d_(shape.dim()),
      n_params_(shape.size()),
      src_((check_inputs(), to_float(input.source_train))),  // the inputs are checked before any use
      tgt_(to_float(input.target_train)),
      src_val_(to_float(input.source_val)),
      tgt_val_(to_float(input.target_val)),
      n_src_(input.source_train.rows),
      n_tgt_(input.target_train.rows),
      n_src_val_(input.source_val.rows),
      n_tgt_val_(input.target_val.rows),
      batch_(adapted_batch(hp, input)),
      own_steps_(shared ? nullptr : std::make_unique<CellotGroupStep>(shape, batch_, hp.micro_batches, ctx.comm)),
      steps_(shared ? *shared : *own_steps_),
      opt_f_(n_params_, hp.lr, hp.beta1, hp.beta2),
      opt_g_(n_params_, hp.lr, hp.beta1, hp.beta2),
      src_batches_(n_src_, batch_, Rng(ctx.seed, "cellot/batches/source")),
      tgt_batches_(n_tgt_, batch_, Rng(ctx.seed, "cellot/batches/target")),
      signature_(checkpoint_signature(shape, hp, ctx.seed, n_src_, n_tgt_)),
      early_(hp.patience, hp.min_iters),
      gbuf_(static_cast<std::size_t>(n_params_)) {
  // A warning in screens too: a batch capped by ~50 cells is a different training regime.
  if (batch_ < hp.batch && rank_ == 0)
    log::warn("cellot " + input.perturbation + ": batch size adapted to " + std::to_string(batch_) +
              " (training cells: " + std::to_string(n_src_) + " control, " + std::to_string(n_tgt_) + " perturbed)");
  st_.f.resize(static_cast<std::size_t>(n_params_));
  st_.g.resize(static_cast<std::size_t>(n_params_));
  Rng init_f(ctx.seed, "cellot/init/f"), init_g(ctx.seed, "cellot/init/g");
  shape.init(st_.f.data(), init_f);
  shape.init(st_.g.data(), init_g);
  st_.curves.columns = cellot_curve_columns(hp_.select_metric);
}

void CellotRun::check_inputs() const {
  const auto check_cells = [&](const Matrix& m, const char* what, bool required) {
    if (m.rows > 0 && m.cols != d_)
      throw InputError("training data", what, std::to_string(m.cols),
                       "has " + std::to_string(m.cols) + " features, the model " + std::to_string(d_));
    if (required && m.rows == 0) throw InputError("training data", what, "0 cells", "no cells to train on");
  };
  check_cells(input_.source_train, "control cells (train split)", true);
  check_cells(input_.target_train, "perturbed cells (train split)", true);
  check_cells(input_.source_val, "control cells (validation split)", false);
  check_cells(input_.target_val, "perturbed cells (validation split)", false);
}

// The checkpoint, if resuming and one exists; then every rank holds the root's parameters.
void CellotRun::restore() {
  bool resumed = false;
  if (ctx_.resume && !ctx_.checkpoint_path.empty()) resumed = load_checkpoint(ctx_.checkpoint_path, st_, signature_);
  {
    // Every rank must have read the same checkpoint (a shared file system is assumed).
    std::int64_t mine[2] = {resumed ? 1 : 0, st_.step}, lo_v[2], hi_v[2];
    // Bound: lockstep: every rank of the group makes this call at the same step; a rank that throws instead
    // reaches the task's outcome agreement, which aborts the job after screen.wait_timeout
    // (task_runner.cpp), and any other command aborts the job on an error (cli/commands.cpp fail()).
    MPI_Allreduce(mine, lo_v, 2, MPI_INT64_T, MPI_MIN, ctx_.comm);
    MPI_Allreduce(mine, hi_v, 2, MPI_INT64_T, MPI_MAX, ctx_.comm);
    if (lo_v[0] != hi_v[0] || lo_v[1] != hi_v[1])
      throw RuntimeError("ranks of the group disagree about checkpoint " + ctx_.checkpoint_path);
  }
  if (resumed) {
    opt_f_.set_state(st_.f_m, st_.f_v, st_.f_t);
    opt_g_.set_state(st_.g_m, st_.g_v, st_.g_t);
    const auto k = static_cast<std::ptrdiff_t>(nn::EpochSampler::kStateSize);
    src_batches_.set_state(std::vector<std::uint64_t>(st_.rng.begin(), st_.rng.begin() + k));
    tgt_batches_.set_state(std::vector<std::uint64_t>(st_.rng.begin() + k, st_.rng.end()));
    if (rank_ == 0 && ctx_.progress)
      log::info("resumed " + input_.perturbation + " from " + ctx_.checkpoint_path + " at step " + std::to_string(st_.step));
  }
  broadcast(st_.f.data(), n_params_, ctx_.comm);
  broadcast(st_.g.data(), n_params_, ctx_.comm);
  replay_early_stop();
}

// A resumed run continues the count of evaluations since the best one from its curves.
void CellotRun::replay_early_stop() {
  double best = std::numeric_limits<double>::infinity();
  for (const auto& row : st_.curves.rows) {
    const double m = row[4];  // the validation metric (cellot_curve_columns)
    early_.record(static_cast<std::int64_t>(row[0]), std::isfinite(m), std::isfinite(m) && m < best);
    if (std::isfinite(m) && m < best) best = m;
  }
}

// Every rank applies the same Adam update to the same reduced gradient, so the parameters are
// bit-identical across the group; this is checked (one 2-word allreduce of a hash) at every eval
// step, i.e. on every iterate that can become the result. A difference is an error, not something
// to repair: every rank completes the same reduction tree from the same gathered subtree sums, so
// ranks that drift apart applied different updates (a rank with other hyperparameters or code,
// memory corruption). Re-broadcasting the root's state would hide that, return a result that only
// the root computed, and make the "bit-identical" guarantee untestable.
void CellotRun::ensure_in_sync() {
  if (size_ == 1) return;
  ++sync_checks_;
  if (same_on_all_ranks(params_hash(st_.f, st_.g), ctx_.comm)) return;
  throw RuntimeError("cellot " + input_.perturbation + ": parameters differ between the ranks of the group at step " +
                     std::to_string(st_.step) + " (they must stay bit-identical: the ranks applied different updates)");
}

// CellOT's W2 estimate: E_x[f(T x) - <x, T x> + |x|^2/2] + E_y[|y|^2/2 - f(y)].
double CellotRun::validation_w2(const std::vector<float>& t, const std::vector<float>& ft,
                                const std::vector<float>& fy) const {
  double sx = 0, sy = 0;
  for (std::int64_t i = 0; i < n_src_val_; ++i) {
    double dot = 0, sq = 0;
    for (std::int64_t j = 0; j < d_; ++j) {
      const double x = src_val_[static_cast<std::size_t>(i * d_ + j)], tv = t[static_cast<std::size_t>(i * d_ + j)];
      dot += x * tv;
      sq += x * x;
    }
    sx += ft[static_cast<std::size_t>(i)] - dot + 0.5 * sq;
  }
  for (std::int64_t i = 0; i < n_tgt_val_; ++i) {
    double sq = 0;
    for (std::int64_t j = 0; j < d_; ++j) {
      const double y = tgt_val_[static_cast<std::size_t>(i * d_ + j)];
      sq += y * y;
    }
    sy += 0.5 * sq - fy[static_cast<std::size_t>(i)];
  }
  return sx / static_cast<double>(n_src_val_) + sy / static_cast<double>(n_tgt_val_);
}

// One curve row (mean losses since the last row, W2 and the validation metric on the validation
// split) and the best iterate so far.
void CellotRun::evaluate() {
  ensure_in_sync();
  double w2 = std::nan(""), metric = std::nan("");
  if (n_src_val_ > 0 && n_tgt_val_ > 0) {
    std::vector<float> t(static_cast<std::size_t>(n_src_val_ * d_)), ft(static_cast<std::size_t>(n_src_val_)),
        fy(static_cast<std::size_t>(n_tgt_val_));
    steps_.transport(st_.g.data(), src_val_.data(), n_src_val_, t.data());
    steps_.f_values(st_.f.data(), t.data(), n_src_val_, ft.data());
    steps_.f_values(st_.f.data(), tgt_val_.data(), n_tgt_val_, fy.data());
    w2 = validation_w2(t, ft, fy);
    if (ctx_.validation_metric) {
      Matrix pred(n_src_val_, d_);
      for (std::size_t k = 0; k < t.size(); ++k) pred.data[k] = t[k];
      metric = ctx_.validation_metric(pred, input_.target_val);
      // The root's value decides for everyone, so selection cannot differ between ranks.
      broadcast_double(metric, ctx_.comm);
    }
  }
  st_.curves.rows.push_back({static_cast<double>(st_.step),
                             st_.count_g ? st_.sum_g / static_cast<double>(st_.count_g) : std::nan(""),
                             st_.count_f ? st_.sum_f / static_cast<double>(st_.count_f) : std::nan(""), w2, metric});
  st_.sum_g = st_.sum_f = 0;
  st_.count_g = st_.count_f = 0;
  if (std::isfinite(metric) && metric < st_.best_metric) {
    st_.best_metric = metric;
    st_.best_step = st_.step;
    st_.best_f = st_.f;
    st_.best_g = st_.g;
  }
  last_w2_ = w2;
  last_metric_ = metric;
}

void CellotRun::checkpoint() {
  if (rank_ != 0 || ctx_.checkpoint_path.empty()) return;
  st_.f_m = opt_f_.m();
  st_.f_v = opt_f_.v();
  st_.f_t = opt_f_.steps();
  st_.g_m = opt_g_.m();
  st_.g_v = opt_g_.v();
  st_.g_t = opt_g_.steps();
  st_.rng = src_batches_.state();
  const auto tgt_state = tgt_batches_.state();
  st_.rng.insert(st_.rng.end(), tgt_state.begin(), tgt_state.end());
  save_checkpoint(ctx_.checkpoint_path, st_, signature_);
}

// hp.inner steps of g (the transport map's potential), each with the W penalty.
void CellotRun::g_steps() {
  float* g = st_.g.data();
  for (std::int64_t j = 0; j < hp_.inner; ++j) {
    const auto r = steps_.g_step(st_.f.data(), g, src_.data(), src_batches_.next());
    std::copy(r.grad, r.grad + n_params_, gbuf_.begin());
    const double penalty = shape_.add_w_penalty_grad(g, hp_.g_penalty, gbuf_.data());
    g_loss_ = static_cast<float>(r.loss) + hp_.g_penalty * penalty;
    check_step(gbuf_.data(), n_params_, g_loss_, "g", st_.step, j);
    opt_g_.step(g, gbuf_.data());
    st_.sum_g += g_loss_;
    ++st_.count_g;
  }
}

// One step of f; its allreduce carries every rank's stop vote.
bool CellotRun::f_step(bool stop_here) {
  const std::vector<std::int64_t> y_rows = tgt_batches_.next();
  g_steps();
  const auto r = steps_.f_step(st_.f.data(), st_.g.data(), tgt_.data(), y_rows, src_.data(), src_batches_.next(),
                               stop_here ? 1 : 0);
  f_loss_ = static_cast<float>(r.loss);
  check_step(r.grad, n_params_, f_loss_, "f", st_.step, -1);
  opt_f_.step(st_.f.data(), r.grad);
  shape_.clamp_w(st_.f.data());
  st_.sum_f += f_loss_;
  ++st_.count_f;
  ++st_.step;
  return r.votes > 0;
}

void CellotRun::show_progress(bool last) {
  if (!progress_enabled_) return;
  // The line is built about once a second (Progress prints at most one per 2 s).
  const auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::milliseconds(1000) && !last) return;
  last_progress_ = now;
  progress_->update(st_.step - first_step_, "step " + std::to_string(st_.step) + " g " + fmt(g_loss_) + " f " +
                                                  fmt(f_loss_) + " w2 " + fmt(last_w2_) + " val_" + hp_.select_metric + " " + fmt(last_metric_));
}

CellotResult CellotRun::result(bool stopped_early) const {
  CellotResult result;
  result.steps = st_.step;
  result.stopped_early = stopped_early;
  result.sync_checks = sync_checks_;
  result.curves = st_.curves;
  if (st_.best_step >= 0) {
    result.f = st_.best_f;
    result.g = st_.best_g;
    result.best_step = st_.best_step;
    result.best_metric = st_.best_metric;
  } else {
    result.f = st_.f;
    result.g = st_.g;
  }
  return result;
}

void CellotRun::begin() {
  restore();
  first_step_ = st_.step;
  progress_enabled_ = ctx_.progress && rank_ == 0;
  progress_ = std::make_unique<log::Progress>("cellot " + input_.perturbation, hp_.iters - first_step_,
                                              progress_enabled_);
  last_progress_ = std::chrono::steady_clock::now();
}

CellotRun::Status CellotRun::advance(bool stop_vote) {
  if (st_.step >= hp_.iters) return Status::finished;
  const bool stop = f_step(stop_vote);
  bool converged = false;
  if (st_.step % hp_.eval_every == 0 || st_.step == hp_.iters) {
    evaluate();
    converged = early_.record(st_.step, std::isfinite(last_metric_), st_.best_step == st_.step);
  }
  show_progress(st_.step == hp_.iters);
  if (ctx_.on_progress) ctx_.on_progress(static_cast<double>(st_.step) / static_cast<double>(hp_.iters));
  if (converged) {
    // Every rank decides alike (the metric is the root's, broadcast); the result is returned,
    // so there is nothing left to checkpoint.
    stopped_early_ = st_.step < hp_.iters;
    return Status::finished;
  }
  if (st_.step % hp_.checkpoint_every == 0 || stop) checkpoint();
  if (stop && st_.step < hp_.iters) {
    // Bound: lockstep: every rank of the group makes this call at the same step; a rank that
    // throws instead reaches the task's outcome agreement, which aborts the job after
    // screen.wait_timeout (task_runner.cpp), and any other command aborts the job on an error.
    MPI_Barrier(ctx_.comm);  // the checkpoint is on disk before anyone reports it
    return Status::interrupted;
  }
  return st_.step < hp_.iters ? Status::running : Status::finished;
}

models::Interrupted CellotRun::interrupted() const {
  return models::Interrupted("training of " + input_.perturbation + " stopped at step " + std::to_string(st_.step) +
                             (ctx_.checkpoint_path.empty() ? " (no checkpoint path)"
                                                           : "; checkpoint " + ctx_.checkpoint_path));
}

CellotResult CellotRun::end() {
  // Early stopping is on by default for CellOT (training.patience auto): say which rule ended it.
  const std::string why = " (stopped early: " + std::to_string(hp_.patience) + " evaluations without a new best, min_iters " +
                          std::to_string(hp_.min_iters) + ")";
  progress_->finish("step " + std::to_string(st_.step) + (stopped_early_ ? why : "") +
                    (st_.best_step >= 0 ? " best val_" + hp_.select_metric + " " + fmt(st_.best_metric) + " at step " +
                                              std::to_string(st_.best_step)
                                        : " (no validation metric: last iterate)"));
  progress_.reset();
  return result(stopped_early_);
}

CellotResult CellotRun::run() {
  begin();
  Status s = Status::running;
  while (s == Status::running && st_.step < hp_.iters) s = advance(ctx_.should_stop && ctx_.should_stop());
  if (s == Status::interrupted) throw interrupted();
  return end();
}

}  // namespace

CellotResult train_cellot(const models::IcnnShape& shape, const CellotHyper& hp, const models::TrainInput& input,
                          const models::TrainContext& ctx) {
  CellotRun run(shape, hp, input, ctx);
  return run.run();
}

std::vector<CellotPackOutcome> train_cellot_pack(const std::vector<CellotPackMember>& members) {
  const std::size_t k = members.size();
  std::vector<CellotPackOutcome> out(k);
  // The members run one at a time, so members of the same step shape share one step workspace
  // (the ICNN kernels' buffers, the micro-batch slots): a step's result depends only on its
  // arguments (cellot_group_step.hpp), and one workspace instead of K keeps it in cache between
  // the members' iterations.
  std::map<std::string, std::unique_ptr<CellotGroupStep>> shared;
  std::vector<std::unique_ptr<CellotRun>> runs(k);  // after `shared`: runs refer to it
  std::vector<CellotRun::Status> status(k, CellotRun::Status::running);
  for (std::size_t i = 0; i < k; ++i) {
    const CellotPackMember& m = members[i];
    CELLOT_CHECK(m.shape && m.hp && m.input, "pack member without shape, hyperparameters or input");
    // The shared workspace's reducer works on one group: a pack trains on one communicator.
    CELLOT_CHECK(m.ctx.comm == members.front().ctx.comm, "pack members on different communicators");
    try {
      const std::int64_t batch = adapted_batch(*m.hp, *m.input);
      const std::string key = m.shape->describe() + "|" + std::to_string(batch) + "|" +
                              std::to_string(m.hp->micro_batches);
      auto& step = shared[key];
      if (!step && batch > 0) step = std::make_unique<CellotGroupStep>(*m.shape, batch, m.hp->micro_batches, m.ctx.comm);
      runs[i] = std::make_unique<CellotRun>(*m.shape, *m.hp, *m.input, m.ctx, step.get());
      runs[i]->begin();
    } catch (const InputError&) {  // the task's own data (the same on every rank of the group)
      out[i].error = std::current_exception();
      status[i] = CellotRun::Status::finished;
      runs[i].reset();
    }
  }
  // One outer iteration of every running task in turn; the preemption vote is asked once per
  // round, from the first running task's hook, and carried by each task's f step.
  while (true) {
    std::size_t first = k;
    for (std::size_t i = 0; i < k && first == k; ++i)
      if (status[i] == CellotRun::Status::running) first = i;
    if (first == k) break;
    const auto& hook = members[first].ctx.should_stop;
    const bool vote = hook && hook();
    for (std::size_t i = first; i < k; ++i) {
      if (status[i] != CellotRun::Status::running) continue;
      try {
        status[i] = runs[i]->advance(vote);
      } catch (const models::Diverged&) {  // decided on the reduced gradient: alike on every rank
        out[i].error = std::current_exception();
        status[i] = CellotRun::Status::finished;
        runs[i].reset();
      }
    }
  }
  for (std::size_t i = 0; i < k; ++i) {
    if (!runs[i]) continue;
    if (status[i] == CellotRun::Status::interrupted)
      out[i].error = std::make_exception_ptr(runs[i]->interrupted());
    else
      out[i].result = runs[i]->end();
  }
  return out;
}

}  // namespace cellot::models
