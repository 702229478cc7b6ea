#include "detail/summary.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdio>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot::screen::detail {

ScreenResult agree_result(const Groups& groups, const RunTally& tally, std::string& outcome_text) {
  // Bound: every rank reaches the end of the screen after the bounded final barrier
  // (screen.cpp), so these blocking collectives are bounded as well.
  int interrupted = tally.interrupted ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &interrupted, 1, MPI_INT, MPI_MAX, groups.world());
  std::int64_t counts[5] = {tally.done, tally.failed, tally.diverged, tally.already_done, tally.owned};
  MPI_Bcast(counts, 5, MPI_INT64_T, 0, groups.world());
  ScreenResult result;
  result.done = counts[3] + counts[0];
  result.failed = counts[1];
  result.diverged = counts[2];
  result.unfinished = counts[4] - result.done - result.failed - result.diverged;
  result.interrupted = interrupted != 0;
  if (result.interrupted)
    outcome_text = "interrupted by signal";
  else if (result.unfinished > 0)
    outcome_text = "stopped with " + std::to_string(result.unfinished) + " tasks unfinished";
  else
    outcome_text = "complete";
  outcome_text += ": done " + std::to_string(result.done) + ", failed " + std::to_string(result.failed) +
                  ", diverged " + std::to_string(result.diverged);
  return result;
}

namespace {

void log_clock(const double* v, int k_n, int n_groups, double total_wall, int clock, std::int64_t ran) {
  static const char* names[] = {"plan",  "setup",   "wait",    "serve", "idle",  "load",
                                "train", "predict", "metrics", "write", "finish"};
  const double capacity = std::max(1e-12, clock == 0 ? static_cast<double>(n_groups) * total_wall : v[k_n - 1]);
  std::string line = std::string("screen: ") + (clock == 0 ? "wall" : "cpu") + " time, " +
                     (clock == 0 ? std::to_string(n_groups) + " groups x " + log::format_duration(total_wall)
                                 : std::string("group roots' CPU ") + log::format_duration(capacity)) +
                     ":";
  char buf[512];
  double work = 0, accounted = 0;
  for (int k = 0; k < k_n - 1; ++k) {
    std::snprintf(buf, sizeof buf, " %s %.3fs (%.2f%%)", names[k], v[k], 100.0 * v[k] / capacity);
    line += buf;
    accounted += v[k];
    if (k >= 5 && k <= 9) work += v[k];
  }
  std::snprintf(buf, sizeof buf, " other %.3fs (%.2f%%)", capacity - accounted,
                100.0 * (capacity - accounted) / capacity);
  line += buf;
  log::info(line);
  const double strict = v[6] + v[8] + v[9];
  std::snprintf(buf, sizeof buf,
                "screen: %s overhead outside load/train/predict/metrics/write %.2f%%, outside "
                "train/metrics/write %.2f%%; store write %.3f ms per task (%lld tasks)",
                clock == 0 ? "wall" : "cpu", 100.0 * (1.0 - work / capacity), 100.0 * (1.0 - strict / capacity),
                ran > 0 ? 1000.0 * v[9] / static_cast<double>(ran) : 0.0, static_cast<long long>(ran));
  log::info(buf);
}

}  // namespace

void log_phase_summary(const Groups& groups, const PhaseTimes& ph, std::int64_t ran, bool log_it) {
  // Every phase summed over group roots, against groups x wall (wall time) and against the CPU
  // time the group roots used (CPU time: where ranks share cores, wall time in a phase includes
  // time the rank was descheduled). The batch system's overhead is what lies outside the tasks'
  // own work (load, train, predict, metrics, store write).
  constexpr int kN = 12;
  const Stamp* slots[kN] = {&ph.plan,  &ph.setup,   &ph.wait,    &ph.serve, &ph.idle,   &ph.load,
                            &ph.train, &ph.predict, &ph.metrics, &ph.write, &ph.finish, &ph.total};
  double mine[2 * kN] = {0};
  if (groups.is_group_root())
    for (int k = 0; k < kN; ++k) {
      mine[k] = slots[k]->wall;
      mine[kN + k] = slots[k]->cpu;
    }
  double sum[2 * kN] = {0};
  // Bound: as agree_result: every rank is past the screen's bounded final barrier.
  MPI_Reduce(mine, sum, 2 * kN, MPI_DOUBLE, MPI_SUM, 0, groups.world());
  if (!log_it) return;
  for (int clock = 0; clock < 2; ++clock) log_clock(sum + clock * kN, kN, groups.n_groups(), ph.total.wall, clock, ran);
}

void warn_unconverged(const Groups& groups, const RunTally& tally, const std::vector<std::string>& metric_names,
                      const Config& cfg) {
  // Sinkhorn metrics that stopped at the iteration cap: one line for the whole screen (the
  // store's iterations column equals metrics.sinkhorn_max_iter for those tasks).
  std::vector<std::int64_t> mine(metric_names.size(), 0), all(metric_names.size(), 0);
  if (groups.is_group_root() && tally.unconverged.size() == mine.size()) mine = tally.unconverged;
  if (!mine.empty())
    // Bound: as agree_result: every rank is past the screen's bounded final barrier.
    MPI_Reduce(mine.data(), all.data(), static_cast<int>(mine.size()), MPI_INT64_T, MPI_SUM, 0, groups.world());
  std::string parts;
  for (std::size_t k = 0; k < all.size(); ++k)
    if (all[k] > 0) parts += (parts.empty() ? "" : ", ") + metric_names[k] + " in " + std::to_string(all[k]);
  char tol_text[32];
  std::snprintf(tol_text, sizeof tol_text, "%g", cfg.metrics.sinkhorn_tol);
  if (groups.world_rank() == 0 && !parts.empty())
    log::warn("screen: Sinkhorn stopped at the iteration cap (metrics.sinkhorn_max_iter = " +
              std::to_string(cfg.metrics.sinkhorn_max_iter) + ", tolerance " + std::string(tol_text) +
              ") without converging: " + parts +
              " tasks; their values are those of the capped iterate (raise metrics.sinkhorn_max_iter, or "
              "standardise the features)");
}

void finish_result(ScreenResult& result, bool root, const std::string& store_path) {
  if (result.interrupted) {
    result.exit_code = kExitRuntime;
    if (root)
      log::error("screen interrupted by a signal: running tasks were checkpointed where supported and the store " +
                 store_path + " was closed cleanly; requeue the job and resume with --resume");
  } else if (result.failed > 0 || result.unfinished > 0) {
    result.exit_code = kExitRuntime;
    if (root)
      log::error(std::to_string(result.failed) + " tasks failed and " + std::to_string(result.unfinished) +
                 " are unfinished in " + store_path + " (cellot inspect --store " + store_path +
                 " lists them); run again with --resume to retry them");
  }
}

}  // namespace cellot::screen::detail
