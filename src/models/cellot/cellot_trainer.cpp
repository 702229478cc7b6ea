#include "cellot/models/cellot/cellot_trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
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
  hp.patience = t.patience;
  hp.min_iters = t.min_iters;
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

const std::vector<std::string>& cellot_curve_columns() {
  static const std::vector<std::string> columns = {"step", "g_loss", "f_loss", "w2", "val_mmd"};
  return columns;
}

namespace {

std::vector<float> to_float(const Matrix& m) {
  std::vector<float> out(m.data.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(m.data[i]);
  return out;
}

bool all_finite(const float* v, std::int64_t n) {
  // A sum propagates NaN/Inf and vectorises; a finite sum overflowing to Inf also means trouble.
  float acc = 0.f;
  for (std::int64_t i = 0; i < n; ++i) acc += v[i] * 0.f;
  return acc == 0.f;
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
  MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, comm);
  return v[0] == h && ~v[1] == h;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

CellotResult train_cellot(const models::IcnnShape& shape, const CellotHyper& hp, const models::TrainInput& input,
                          const models::TrainContext& ctx) {
  int rank = 0, size = 1;
  MPI_Comm_rank(ctx.comm, &rank);
  MPI_Comm_size(ctx.comm, &size);
  const std::int64_t d = shape.dim(), n_params = shape.size();
  const auto check_cells = [&](const Matrix& m, const char* what, bool required) {
    if (m.rows > 0 && m.cols != d)
      throw InputError("training data", what, std::to_string(m.cols), "has " + std::to_string(m.cols) +
                                                                         " features, the model " + std::to_string(d));
    if (required && m.rows == 0) throw InputError("training data", what, "0 cells", "no cells to train on");
  };
  check_cells(input.source_train, "control cells (train split)", true);
  check_cells(input.target_train, "perturbed cells (train split)", true);
  check_cells(input.source_val, "control cells (validation split)", false);
  check_cells(input.target_val, "perturbed cells (validation split)", false);

  const std::vector<float> src = to_float(input.source_train), tgt = to_float(input.target_train);
  const std::vector<float> src_val = to_float(input.source_val), tgt_val = to_float(input.target_val);
  const std::int64_t n_src = input.source_train.rows, n_tgt = input.target_train.rows;
  const std::int64_t n_src_val = input.source_val.rows, n_tgt_val = input.target_val.rows;

  // The reference's loaders use min(batch_size, cells of either training set).
  const std::int64_t batch = std::min({hp.batch, n_src, n_tgt});
  // A warning in screens too: a batch capped by ~50 cells is a different training regime.
  if (batch < hp.batch && rank == 0)
    log::warn("cellot " + input.perturbation + ": batch size adapted to " + std::to_string(batch) +
              " (training cells: " + std::to_string(n_src) + " control, " + std::to_string(n_tgt) + " perturbed)");
  CellotGroupStep steps(shape, batch, hp.micro_batches, ctx.comm);

  CellotState st;
  st.f.resize(static_cast<std::size_t>(n_params));
  st.g.resize(static_cast<std::size_t>(n_params));
  {
    Rng init_f(ctx.seed, "cellot/init/f"), init_g(ctx.seed, "cellot/init/g");
    shape.init(st.f.data(), init_f);
    shape.init(st.g.data(), init_g);
  }
  st.curves.columns = cellot_curve_columns();
  Adam opt_f(n_params, hp.lr, hp.beta1, hp.beta2), opt_g(n_params, hp.lr, hp.beta1, hp.beta2);
  nn::EpochSampler src_batches(n_src, batch, Rng(ctx.seed, "cellot/batches/source"));
  nn::EpochSampler tgt_batches(n_tgt, batch, Rng(ctx.seed, "cellot/batches/target"));

  const std::string signature = checkpoint_signature(shape, hp, ctx.seed, n_src, n_tgt);
  bool resumed = false;
  if (ctx.resume && !ctx.checkpoint_path.empty()) resumed = load_checkpoint(ctx.checkpoint_path, st, signature);
  {
    // Every rank must have read the same checkpoint (a shared file system is assumed).
    std::int64_t mine[2] = {resumed ? 1 : 0, st.step}, lo_v[2], hi_v[2];
    MPI_Allreduce(mine, lo_v, 2, MPI_INT64_T, MPI_MIN, ctx.comm);
    MPI_Allreduce(mine, hi_v, 2, MPI_INT64_T, MPI_MAX, ctx.comm);
    if (lo_v[0] != hi_v[0] || lo_v[1] != hi_v[1])
      throw RuntimeError("ranks of the group disagree about checkpoint " + ctx.checkpoint_path);
  }
  if (resumed) {
    opt_f.set_state(st.f_m, st.f_v, st.f_t);
    opt_g.set_state(st.g_m, st.g_v, st.g_t);
    const auto k = static_cast<std::ptrdiff_t>(nn::EpochSampler::kStateSize);
    src_batches.set_state(std::vector<std::uint64_t>(st.rng.begin(), st.rng.begin() + k));
    tgt_batches.set_state(std::vector<std::uint64_t>(st.rng.begin() + k, st.rng.end()));
    if (rank == 0 && ctx.progress)
      log::info("resumed " + input.perturbation + " from " + ctx.checkpoint_path + " at step " + std::to_string(st.step));
  }
  broadcast(st.f.data(), n_params, ctx.comm);
  broadcast(st.g.data(), n_params, ctx.comm);
  nn::EarlyStop early(hp.patience, hp.min_iters);
  {
    // A resumed run continues the count of evaluations since the best one from its curves.
    double best = std::numeric_limits<double>::infinity();
    for (const auto& row : st.curves.rows) {
      const double m = row[4];  // val_mmd (cellot_curve_columns)
      early.record(static_cast<std::int64_t>(row[0]), std::isfinite(m), std::isfinite(m) && m < best);
      if (std::isfinite(m) && m < best) best = m;
    }
  }

  // The g gradient is copied (the group's total is read-only) to add the W penalty.
  std::vector<float> gbuf(static_cast<std::size_t>(n_params));
  std::vector<std::int64_t> y_rows;

  double last_w2 = std::nan(""), last_metric = std::nan("");
  std::int64_t sync_checks = 0;
  // Every rank applies the same Adam update to the same reduced gradient, so the parameters
  // are bit-identical across the group; this is checked (one 2-word allreduce of a hash) at
  // every eval step, i.e. on every iterate that can become the result. A difference is an
  // error, not something to repair: every rank completes the same reduction tree from the same
  // gathered subtree sums, so ranks that drift apart applied different updates (a rank with other
  // hyperparameters or code, memory corruption). Re-broadcasting the root's state would hide that, return a
  // result that only the root computed, and make the "bit-identical" guarantee untestable.
  auto ensure_in_sync = [&]() {
    if (size == 1) return;
    ++sync_checks;
    if (same_on_all_ranks(params_hash(st.f, st.g), ctx.comm)) return;
    throw RuntimeError("cellot " + input.perturbation + ": parameters differ between the ranks of the group at step " +
                       std::to_string(st.step) +
                       " (they must stay bit-identical: the ranks applied different updates)");
  };
  auto evaluate = [&]() {
    ensure_in_sync();
    double w2 = std::nan(""), metric = std::nan("");
    if (n_src_val > 0 && n_tgt_val > 0) {
      std::vector<float> t(static_cast<std::size_t>(n_src_val * d)), ft(static_cast<std::size_t>(n_src_val)),
          fy(static_cast<std::size_t>(n_tgt_val));
      steps.transport(st.g.data(), src_val.data(), n_src_val, t.data());
      steps.f_values(st.f.data(), t.data(), n_src_val, ft.data());
      steps.f_values(st.f.data(), tgt_val.data(), n_tgt_val, fy.data());
      // CellOT's W2 estimate: E_x[f(T x) - <x, T x> + |x|^2/2] + E_y[|y|^2/2 - f(y)].
      double sx = 0, sy = 0;
      for (std::int64_t i = 0; i < n_src_val; ++i) {
        double dot = 0, sq = 0;
        for (std::int64_t j = 0; j < d; ++j) {
          const double x = src_val[static_cast<std::size_t>(i * d + j)], tv = t[static_cast<std::size_t>(i * d + j)];
          dot += x * tv;
          sq += x * x;
        }
        sx += ft[static_cast<std::size_t>(i)] - dot + 0.5 * sq;
      }
      for (std::int64_t i = 0; i < n_tgt_val; ++i) {
        double sq = 0;
        for (std::int64_t j = 0; j < d; ++j) {
          const double y = tgt_val[static_cast<std::size_t>(i * d + j)];
          sq += y * y;
        }
        sy += 0.5 * sq - fy[static_cast<std::size_t>(i)];
      }
      w2 = sx / static_cast<double>(n_src_val) + sy / static_cast<double>(n_tgt_val);
      if (ctx.validation_metric) {
        Matrix pred(n_src_val, d);
        for (std::size_t k = 0; k < t.size(); ++k) pred.data[k] = t[k];
        metric = ctx.validation_metric(pred, input.target_val);
        // The root's value decides for everyone, so selection cannot differ between ranks.
        broadcast_double(metric, ctx.comm);
      }
    }
    st.curves.rows.push_back({static_cast<double>(st.step),
                              st.count_g ? st.sum_g / static_cast<double>(st.count_g) : std::nan(""),
                              st.count_f ? st.sum_f / static_cast<double>(st.count_f) : std::nan(""), w2, metric});
    st.sum_g = st.sum_f = 0;
    st.count_g = st.count_f = 0;
    if (std::isfinite(metric) && metric < st.best_metric) {
      st.best_metric = metric;
      st.best_step = st.step;
      st.best_f = st.f;
      st.best_g = st.g;
    }
    last_w2 = w2;
    last_metric = metric;
  };
  auto checkpoint = [&]() {
    if (rank != 0 || ctx.checkpoint_path.empty()) return;
    st.f_m = opt_f.m();
    st.f_v = opt_f.v();
    st.f_t = opt_f.steps();
    st.g_m = opt_g.m();
    st.g_v = opt_g.v();
    st.g_t = opt_g.steps();
    st.rng = src_batches.state();
    const auto tgt_state = tgt_batches.state();
    st.rng.insert(st.rng.end(), tgt_state.begin(), tgt_state.end());
    save_checkpoint(ctx.checkpoint_path, st, signature);
  };

  const std::int64_t first_step = st.step;
  const bool progress_enabled = ctx.progress && rank == 0;
  log::Progress progress("cellot " + input.perturbation, hp.iters - first_step, progress_enabled);
  auto last_progress = std::chrono::steady_clock::now();
  float* f = st.f.data();
  float* g = st.g.data();
  double g_loss = std::nan(""), f_loss = std::nan("");
  bool stopped_early = false;
  while (st.step < hp.iters) {
    y_rows = tgt_batches.next();
    for (std::int64_t j = 0; j < hp.inner; ++j) {
      const auto r = steps.g_step(f, g, src.data(), src_batches.next());
      std::copy(r.grad, r.grad + n_params, gbuf.begin());
      const double penalty = shape.add_w_penalty_grad(g, hp.g_penalty, gbuf.data());
      g_loss = static_cast<float>(r.loss) + hp.g_penalty * penalty;
      check_step(gbuf.data(), n_params, g_loss, "g", st.step, j);
      opt_g.step(g, gbuf.data());
      st.sum_g += g_loss;
      ++st.count_g;
    }
    const bool stop_here = ctx.should_stop && ctx.should_stop();
    const auto r = steps.f_step(f, g, tgt.data(), y_rows, src.data(), src_batches.next(), stop_here ? 1 : 0);
    f_loss = static_cast<float>(r.loss);
    check_step(r.grad, n_params, f_loss, "f", st.step, -1);
    opt_f.step(f, r.grad);
    shape.clamp_w(f);
    st.sum_f += f_loss;
    ++st.count_f;
    ++st.step;
    const bool stop = r.votes > 0;

    bool converged = false;
    if (st.step % hp.eval_every == 0 || st.step == hp.iters) {
      evaluate();
      converged = early.record(st.step, std::isfinite(last_metric), st.best_step == st.step);
    }
    if (progress_enabled) {
      // The line is built about once a second (Progress prints at most one per 2 s).
      const auto now = std::chrono::steady_clock::now();
      if (now - last_progress >= std::chrono::milliseconds(1000) || st.step == hp.iters) {
        last_progress = now;
        progress.update(st.step - first_step, "step " + std::to_string(st.step) + " g " + fmt(g_loss) + " f " +
                                                  fmt(f_loss) + " w2 " + fmt(last_w2) + " val_mmd " + fmt(last_metric));
      }
    }
    if (converged) {
      // Every rank decides alike (the metric is the root's, broadcast); the result is returned,
      // so there is nothing left to checkpoint.
      stopped_early = st.step < hp.iters;
      break;
    }
    if (st.step % hp.checkpoint_every == 0 || stop) checkpoint();
    if (stop && st.step < hp.iters) {
      MPI_Barrier(ctx.comm);  // the checkpoint is on disk before anyone reports it
      throw models::Interrupted("training of " + input.perturbation + " stopped at step " + std::to_string(st.step) +
                                (ctx.checkpoint_path.empty() ? " (no checkpoint path)"
                                                             : "; checkpoint " + ctx.checkpoint_path));
    }
  }
  progress.finish("step " + std::to_string(st.step) + (stopped_early ? " (stopped early)" : "") +
                  (st.best_step >= 0 ? " best val_mmd " + fmt(st.best_metric) + " at step " + std::to_string(st.best_step)
                                     : " (no validation metric: last iterate)"));

  CellotResult result;
  result.steps = st.step;
  result.stopped_early = stopped_early;
  result.sync_checks = sync_checks;
  result.curves = st.curves;
  if (st.best_step >= 0) {
    result.f = st.best_f;
    result.g = st.best_g;
    result.best_step = st.best_step;
    result.best_metric = st.best_metric;
  } else {
    result.f = st.f;
    result.g = st.g;
  }
  return result;
}

}  // namespace cellot::models
