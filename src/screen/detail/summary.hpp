#pragma once
// The end of a screen: the ranks agree on what happened (counts, interruption), and rank 0
// reports it (the outcome line, the phase summary, the Sinkhorn cap warning, what to do next).
#include <cstdint>
#include <string>
#include <vector>

#include "cellot/screen/groups.hpp"
#include "cellot/screen/screen.hpp"

namespace cellot::screen::detail {

// Adds the time since construction to a phase counter.
class PhaseTimer {
 public:
  explicit PhaseTimer(Stamp& slot) : slot_(slot), t0_(Stamp::now()) {}
  ~PhaseTimer() { slot_ += Stamp::now() - t0_; }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  Stamp& slot_;
  Stamp t0_;
};

// What this rank saw of the run (counts are rank 0's: the coordinator records every task).
struct RunTally {
  std::int64_t done = 0, failed = 0, diverged = 0;
  std::int64_t already_done = 0;  // rank 0: done before this run (--resume)
  std::int64_t owned = 0;         // rank 0: tasks this store (shard) runs
  bool interrupted = false;       // this rank saw an interrupted task or a signal
  std::vector<std::int64_t> unconverged;  // group roots: per metric, tasks stopped at the Sinkhorn cap
};

// Collective over the world: rank 0's counts and anyone's interruption on every rank, with the
// outcome text for the history line.
ScreenResult agree_result(const Groups& groups, const RunTally& tally, std::string& outcome_text);

// Collective over the world (a reduce to rank 0); rank 0 logs the phase summary when `log_it`.
void log_phase_summary(const Groups& groups, const PhaseTimes& ph, std::int64_t ran, bool log_it);

// Collective over the world; rank 0 warns once about Sinkhorn solves stopped at the cap.
void warn_unconverged(const Groups& groups, const RunTally& tally, const std::vector<std::string>& metric_names,
                      const Config& cfg);

// Rank 0: the exit code and the line saying what the user does next.
void finish_result(ScreenResult& result, bool root, const std::string& store_path);

}  // namespace cellot::screen::detail
