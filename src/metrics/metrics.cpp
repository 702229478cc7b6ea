// Metric names, options and compute(): resampling as the reference CellOT evaluation (equal-size
// subsamples without replacement, repeated), every metric on each resample, mean and sd.
#include "cellot/metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "detail/change.hpp"
#include "detail/distributed.hpp"
#include "detail/knn.hpp"
#include "detail/moments.hpp"
#include "detail/pairwise.hpp"
#include "detail/sinkhorn.hpp"

namespace cellot::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Options options_from_config(const MetricsConfig& cfg, MPI_Comm comm, std::uint64_t seed) {
  Options o;
  o.mmd_gammas = parse_double_list(cfg.mmd_gammas, "config", "metrics.mmd_gammas");
  if (o.mmd_gammas.empty()) throw InputError("config", "metrics.mmd_gammas", cfg.mmd_gammas, "needs a bandwidth");
  for (const double g : o.mmd_gammas)
    if (!(g > 0)) throw InputError("config", "metrics.mmd_gammas", cfg.mmd_gammas, "bandwidths must be positive");
  if (!(cfg.epsilon > 0) || !std::isfinite(cfg.epsilon))
    throw InputError("config", "metrics.epsilon", format_number(cfg.epsilon), "must be positive");
  o.epsilon = cfg.epsilon;
  o.knn_k = parse_int_list(cfg.knn_k, "config", "metrics.knn_k");
  for (const int k : o.knn_k)
    if (k < 1) throw InputError("config", "metrics.knn_k", cfg.knn_k, "k must be >= 1");
  if (cfg.max_cells < 0)
    throw InputError("config", "metrics.max_cells", std::to_string(cfg.max_cells), "must be >= 0 (0: all cells)");
  if (cfg.bootstrap < 0)
    throw InputError("config", "metrics.bootstrap", std::to_string(cfg.bootstrap), "must be >= 0");
  if (!(cfg.sinkhorn_tol > 0) || !std::isfinite(cfg.sinkhorn_tol))
    throw InputError("config", "metrics.sinkhorn_tol", format_number(cfg.sinkhorn_tol), "must be a finite number > 0");
  if (cfg.sinkhorn_max_iter < 1)
    throw InputError("config", "metrics.sinkhorn_max_iter", std::to_string(cfg.sinkhorn_max_iter), "must be >= 1");
  o.sinkhorn_tol = cfg.sinkhorn_tol;
  o.sinkhorn_max_iter = cfg.sinkhorn_max_iter;
  o.max_cells = cfg.max_cells;
  o.bootstrap = cfg.bootstrap;
  o.top_k = parse_int_list(cfg.top_k, "config", "metrics.top_k");
  for (const int k : o.top_k)
    if (k < 1) throw InputError("config", "metrics.top_k", cfg.top_k, "k must be >= 1");
  o.names = expand_names(cfg.names, o.sinkhorn_epsilons, o.knn_k, o.top_k);
  o.seed = seed;
  o.comm = comm;
  return o;
}

std::vector<double> spearman_per_cell(const Matrix& control, const Matrix& predicted) {
  return detail::spearman_rows(control, predicted);
}

std::vector<double> knn_mix_per_cell(const Matrix& predicted, const Matrix& observed, int k, MPI_Comm comm) {
  std::vector<double> per_cell;
  detail::knn_mix(predicted, observed, {k}, comm, &per_cell);
  return per_cell;
}

namespace {

struct Sample {
  Matrix pred, obs, ctrl, truth;
};

// Draws `m` of `n` indices without replacement (a partial Fisher-Yates shuffle), sorted so that
// row order (and with it every fixed-order sum) follows the input.
std::vector<std::int64_t> draw(std::int64_t n, std::int64_t m, Rng& rng) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  for (std::int64_t i = 0; i < m; ++i) {
    const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
  idx.resize(static_cast<std::size_t>(m));
  std::sort(idx.begin(), idx.end());
  return idx;
}

struct Result {
  double value = kNaN;
  int iterations = 0;
  bool converged = true;
  double marginal_error = 0;
  bool available = true;
};

// Sinkhorn solves of one metric: the most iterations, all converged, the largest error.
void add_solve(Result& r, const SinkhornResult& s) {
  r.iterations = std::max(r.iterations, s.iterations);
  r.converged = r.converged && s.converged;
  r.marginal_error = std::max(r.marginal_error, s.marginal_error);
}

// knn_mix needs sets of equal size (see compute()): the larger set of `s` is subsampled to the
// smaller one's size, without replacement and deterministically in (seed, resample).
// (Not copyable: a pointer may refer to its own `drawn`.)
struct KnnSets {
  KnnSets(const Sample& s, std::uint64_t seed, int resample) : pred(&s.pred), obs(&s.obs) {
    if (s.pred.rows == s.obs.rows) return;
    Rng rng(derive_seed(seed, "metrics/knn_mix/" + std::to_string(resample)));
    const bool pred_larger = s.pred.rows > s.obs.rows;
    const Matrix& larger = pred_larger ? s.pred : s.obs;
    drawn = larger.select_rows(draw(larger.rows, std::min(s.pred.rows, s.obs.rows), rng));
    (pred_larger ? pred : obs) = &drawn;
  }
  KnnSets(const KnnSets&) = delete;
  KnnSets& operator=(const KnnSets&) = delete;

  const Matrix* pred;
  const Matrix* obs;
  Matrix drawn;  // the subsample of the larger set (empty when the sizes agree)
};

// What the expression-change metrics measure from (fixed over resamples).
struct ChangeRefs {
  const std::vector<double>* control_mean = nullptr;
  const std::vector<std::int64_t>* markers = nullptr;
};

std::map<std::string, Result> evaluate_once(const Sample& s, bool has_ctrl, bool has_truth, bool paired,
                                            const ChangeRefs& change, const Options& o, int resample) {
  std::map<std::string, Result> r;
  const MPI_Comm comm = o.comm;
  const std::int64_t cache_bytes = o.sinkhorn_cache_bytes > 0 ? o.sinkhorn_cache_bytes : kSinkhornCacheBytes;
  std::vector<int> ks;
  std::vector<std::string> knn_names;
  bool need_moments = false;
  for (const auto& name : o.names) {
    if (o.tick) o.tick();
    const auto [base, param] = split_name(name);
    Result v;
    if (base == "mmd") {
      v.value = detail::mmd_replicated(s.pred, s.obs, o.mmd_gammas, comm);
    } else if (base == "w2_eps") {
      const auto res = detail::sinkhorn_replicated(
          s.pred, s.obs, detail::SinkhornSettings{o.epsilon, o.sinkhorn_tol, o.sinkhorn_max_iter, cache_bytes},
          comm);
      v.value = res.cost;
      add_solve(v, res);
    } else if (base == "sinkhorn_div") {
      const auto d = detail::sinkhorn_divergence_replicated(
          s.pred, s.obs,
          detail::SinkhornSettings{std::stod(param), o.sinkhorn_tol, o.sinkhorn_max_iter, cache_bytes}, comm);
      v.value = d.value;
      for (const auto* solve : {&d.xy, &d.xx, &d.yy}) add_solve(v, *solve);
    } else if (base == "energy") {
      v.value = detail::energy_replicated(s.pred, s.obs, comm);
    } else if (base == "knn_mix") {
      ks.push_back(std::stoi(param));
      knn_names.push_back(name);
      continue;
    } else if (base == "spearman_pair") {
      if (!has_ctrl || !paired) {
        v.available = false;
      } else {
        const auto rho = detail::spearman_rows(s.ctrl, s.pred);
        double sum = 0;
        std::int64_t n = 0;
        for (const double x : rho)
          if (!std::isnan(x)) {
            sum += x;
            ++n;
          }
        v.value = n > 0 ? sum / static_cast<double>(n) : kNaN;
      }
    } else if (base == "uvp") {
      if (!has_truth || !paired) v.available = false;
      else v.value = detail::uvp(s.pred, s.truth);
    } else {
      need_moments = true;
      continue;
    }
    r[name] = v;
  }
  if (!ks.empty()) {
    const KnnSets eq(s, o.seed, resample);
    const auto fr = detail::knn_mix(*eq.pred, *eq.obs, ks, comm);
    for (std::size_t t = 0; t < ks.size(); ++t) r[knn_names[t]].value = fr[t];
  }
  if (need_moments) {
    const auto mp = detail::feature_moments(s.pred), mo = detail::feature_moments(s.obs);
    for (const auto& name : o.names) {
      Result v;
      if (name == "l2_ds") {
        if (has_ctrl) {
          // ||(mu_treated - mu_control) - (mu_pred - mu_control)||: the control mean cancels up to
          // rounding; it is kept so the value is the reference's expression.
          const auto mc = detail::feature_moments(s.ctrl);
          double sq = 0;
          for (std::size_t k = 0; k < mc.mean.size(); ++k) {
            const double diff = (mo.mean[k] - mc.mean[k]) - (mp.mean[k] - mc.mean[k]);
            sq += diff * diff;
          }
          v.value = std::sqrt(sq);
        } else {
          v.value = detail::l2(mo.mean, mp.mean);
        }
      } else if (name == "r_means") {
        v.value = detail::pearson(mo.mean, mp.mean);
      } else if (name == "l2_means") {
        v.value = detail::l2(mo.mean, mp.mean);
      } else if (name == "r_stds") {
        v.value = detail::pearson(mo.sd, mp.sd);
      } else if (name == "l2_stds") {
        v.value = detail::l2(mo.sd, mp.sd);
      } else if (const auto [base, param] = split_name(name); detail::is_change_metric(base)) {
        const detail::ChangeInput ci{&mp, &mo, s.pred.rows, s.obs.rows, change.control_mean, change.markers};
        const auto cv = detail::change_metric(base, param, ci);
        v.value = cv.value;
        v.available = cv.available;
      } else {
        continue;
      }
      r[name] = v;
    }
  }
  return r;
}

// One line per Sinkhorn metric that stopped at the cap (rank 0 of the communicator only: every
// rank has the same values).
void warn_unconverged(const std::vector<Value>& values, const Options& o) {
  if (detail::comm_rank(o.comm) != 0) return;
  for (const auto& v : values) {
    if (!v.available || v.converged || !is_sinkhorn_metric(v.name)) continue;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "metrics: %s stopped at the Sinkhorn iteration cap (metrics.sinkhorn_max_iter = %d) without "
                  "converging: marginal error %.3g > metrics.sinkhorn_tol = %.3g; the value is that of the capped "
                  "iterate (raise the cap or the tolerance)",
                  v.name.c_str(), o.sinkhorn_max_iter, v.marginal_error, o.sinkhorn_tol);
    log::warn(buf);
  }
}

}  // namespace

std::vector<Value> compute(const Input& input, const Options& opts) {
  if (input.predicted == nullptr || input.observed == nullptr)
    throw InputError("metrics", "input", "", "needs predicted and observed cells");
  Sample full;
  full.pred = detail::arrange(*input.predicted, opts.comm, opts.layout, "predicted");
  full.obs = detail::arrange(*input.observed, opts.comm, opts.layout, "observed");
  const bool has_ctrl = input.control != nullptr && input.control->rows > 0;
  const bool has_truth = input.truth != nullptr && input.truth->rows > 0;
  if (has_ctrl) full.ctrl = detail::arrange(*input.control, opts.comm, opts.layout, "control");
  if (has_truth) full.truth = detail::arrange(*input.truth, opts.comm, opts.layout, "truth");
  if (full.pred.rows == 0 || full.obs.rows == 0)
    throw InputError("metrics", "cells", std::to_string(full.pred.rows) + " predicted, " + std::to_string(full.obs.rows) +
                     " observed", "needs at least one predicted and one observed cell");
  if (full.pred.cols != full.obs.cols)
    throw InputError("metrics", "features", std::to_string(full.pred.cols) + " vs " + std::to_string(full.obs.cols),
                     "predicted and observed cells have different features");
  if (has_ctrl && (full.ctrl.rows != full.pred.rows || full.ctrl.cols != full.pred.cols))
    throw InputError("metrics", "control", std::to_string(full.ctrl.rows) + " x " + std::to_string(full.ctrl.cols),
                     "control cells must pair row by row with the predictions");
  if (has_truth && (full.truth.rows != full.pred.rows || full.truth.cols != full.pred.cols))
    throw InputError("metrics", "truth", std::to_string(full.truth.rows) + " x " + std::to_string(full.truth.cols),
                     "true responses must pair row by row with the predictions");
  if (opts.names.empty()) return {};
  // The control mean of the whole evaluation (not of a resample): resampling varies the
  // predicted and observed sets, the point changes are measured from stays put.
  std::vector<double> control_mean;
  ChangeRefs change;
  if (input.control_mean != nullptr) {
    if (static_cast<std::int64_t>(input.control_mean->size()) != full.pred.cols)
      throw InputError("metrics", "control mean", std::to_string(input.control_mean->size()),
                       "needs one value per feature (" + std::to_string(full.pred.cols) + ")");
    change.control_mean = input.control_mean;
  } else if (has_ctrl) {
    control_mean = detail::feature_moments(full.ctrl).mean;
    change.control_mean = &control_mean;
  }
  if (input.markers != nullptr) {
    std::vector<char> seen(static_cast<std::size_t>(full.pred.cols), 0);
    bool ok = static_cast<std::int64_t>(input.markers->size()) == full.pred.cols;
    for (std::size_t i = 0; ok && i < input.markers->size(); ++i) {
      const std::int64_t k = (*input.markers)[i];
      ok = k >= 0 && k < full.pred.cols && !seen[static_cast<std::size_t>(k)];
      if (ok) seen[static_cast<std::size_t>(k)] = 1;
    }
    if (!ok)
      throw InputError("metrics", "markers", std::to_string(input.markers->size()) + " entries",
                       "markers must rank every feature exactly once (metrics::rank_markers)");
    change.markers = input.markers;
  }

  // Which cells each metric sees. The reference CellOT evaluation draws the same number of cells
  // (<= min(|P|, |O|)) from both sets for every metric. Here:
  //  - knn_mix always compares equal-size sets, n = min(max_cells if > 0, |P|, |O|): its raw
  //    fraction means "mixed" at 0.5 only then (report.cpp ranks it by closeness to 0.5); with
  //    the defaults (|P| ~ 4 |O| in the 4i data) all-cell sets would put perfect mixing near 0.8.
  //  - every other metric is a distance between distributions (MMD, Sinkhorn, energy), a
  //    comparison of feature moments, or paired per cell: all well defined for unequal sizes
  //    (DESIGN.md defines them on the test split's cells), so without resampling they use every
  //    cell, which only lowers their variance. metrics.max_cells / metrics.bootstrap subsample
  //    all metrics alike, as the reference.
  const int reps = std::max(1, opts.bootstrap);
  const bool resample = opts.bootstrap > 0 || (opts.max_cells > 0 && (opts.max_cells < full.pred.rows ||
                                                                      opts.max_cells < full.obs.rows));
  // As the reference: both sets subsampled to the same size (the smaller set, or max_cells, each
  // capped by its own size; knn_mix then evens out what the caps left unequal).
  std::int64_t per_set = opts.max_cells > 0 ? opts.max_cells : std::min(full.pred.rows, full.obs.rows);
  std::map<std::string, std::vector<Result>> runs;
  for (int r = 0; r < reps; ++r) {
    Sample s;
    const Sample* use = &full;
    if (resample) {
      Rng rng(derive_seed(opts.seed, "metrics/resample/" + std::to_string(r)));
      const auto ip = draw(full.pred.rows, std::min(per_set, full.pred.rows), rng);
      const auto io = draw(full.obs.rows, std::min(per_set, full.obs.rows), rng);
      s.pred = full.pred.select_rows(ip);
      s.obs = full.obs.select_rows(io);
      if (has_ctrl) s.ctrl = full.ctrl.select_rows(ip);  // pairs follow the predictions
      if (has_truth) s.truth = full.truth.select_rows(ip);
      use = &s;
    }
    for (auto& [name, v] : evaluate_once(*use, has_ctrl, has_truth, input.paired, change, opts, r))
      runs[name].push_back(v);
  }
  std::vector<Value> out;
  for (const auto& name : opts.names) {
    const auto& rs = runs.at(name);
    Value v;
    v.name = name;
    v.available = rs.front().available;
    if (!v.available) {
      v.value = v.sd = kNaN;
      out.push_back(v);
      continue;
    }
    double sum = 0;
    for (const auto& x : rs) {
      sum += x.value;
      v.iterations = std::max(v.iterations, x.iterations);
      v.converged = v.converged && x.converged;
      v.marginal_error = std::max(v.marginal_error, x.marginal_error);
    }
    v.value = sum / static_cast<double>(rs.size());
    if (rs.size() > 1) {
      double q = 0;
      for (const auto& x : rs) q += (x.value - v.value) * (x.value - v.value);
      v.sd = std::sqrt(q / static_cast<double>(rs.size() - 1));
    }
    out.push_back(v);
  }
  if (opts.warn_unconverged) warn_unconverged(out, opts);
  return out;
}

}  // namespace cellot::metrics
