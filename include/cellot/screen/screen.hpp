#pragma once
// `cellot screen`: the plan run by rank groups into one results store (DESIGN.md
// 'Distribution', docs/STORE.md). Collective over MPI_COMM_WORLD.
#include <cstdint>
#include <optional>
#include <string>

#include "cellot/core/config.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/screen/clock.hpp"
#include "cellot/screen/plan.hpp"

namespace cellot::screen {

struct ScreenOptions {
  Config cfg;                           // validated; screen.store and screen.ranks_per_task already resolved
  std::string origin = "command line";  // the config file (for InputErrors)
  bool resume = false;                  // continue an existing store of the same plan (fresh start if missing)
  std::optional<Shard> shard;           // run only this LPT share of the plan
  bool quiet = false;                   // no progress lines, no summary
  std::int64_t stop_after = -1;         // test hook: stop handing out tasks after this many are done
  int prefetch = 2;                     // tasks each group root reserves ahead of the one it runs
  double lease_timeout = 300;           // seconds without a heartbeat after which a store's lease is stale
  bool break_lease = false;             // take the store's lease whoever holds it (screen/lease.hpp)
  std::string command_line;
};

// Per-rank wall and CPU time in each phase of the screen (seconds). wait: for a task from the
// coordinator; serve: rank 0 answering the other groups while it has work of its own; idle:
// rank 0 serving after its own group ran out of tasks (the tail of the schedule).
struct PhaseTimes {
  Stamp plan, setup, wait, serve, idle, load, train, predict, metrics, write, finish, total;
};

struct ScreenResult {
  int exit_code = 0;  // 0: every task of this store done or diverged; 1: failures, interruption
  std::int64_t tasks = 0, done = 0, failed = 0, diverged = 0, unfinished = 0;
  bool interrupted = false;
};

ScreenResult run_screen(const ScreenOptions& options, Runtime& rt);

// The preemption flag set by SIGTERM / SIGUSR1 / SIGINT while a screen runs (0: none).
int stop_signal();

}  // namespace cellot::screen
