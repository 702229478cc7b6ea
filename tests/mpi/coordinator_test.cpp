// The coordinator with real ranks: every task runs exactly once, in one group, whatever the world
// size and group size; stops (drain after N, external stop) leave no task run twice.
#include "cellot/screen/coordinator.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/screen/groups.hpp"

using namespace cellot;

namespace {

int world_size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

struct RunLog {
  std::vector<int> ran;       // per task: times run by this rank's group (counted on group roots)
  std::vector<int> finished;  // per task: on_finished calls (rank 0)
  int local_runs = 0;         // tasks run by this rank
};

// Runs `n_tasks` fake tasks; each checks that every rank of its group got the same task (the
// group's own collective) and, on world rank 0, polls the service as a training loop would.
RunLog run_fake(const screen::Groups& g, int n_tasks, std::int64_t stop_after = -1, int external_stop_after = -1,
                int prefetch = 2, int sleep_ms = 0) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n_tasks));
  std::iota(order.rbegin(), order.rend(), 0);  // any order: the coordinator hands out in this order
  screen::Coordinator c(g, order, prefetch);
  RunLog log;
  log.ran.assign(static_cast<std::size_t>(n_tasks), 0);
  log.finished.assign(static_cast<std::size_t>(n_tasks), 0);
  c.on_finished = [&](std::int64_t t, screen::Outcome o, int) {
    EXPECT_EQ(o, screen::Outcome::done);
    ++log.finished[static_cast<std::size_t>(t)];
  };
  if (stop_after >= 0) c.stop_after(stop_after);
  int local_runs = 0;
  if (external_stop_after >= 0) c.external_stop = [&] { return local_runs >= external_stop_after; };
  c.run([&](std::int64_t t) {
    std::int64_t lo = t, hi = t;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT64_T, MPI_MIN, g.group());
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT64_T, MPI_MAX, g.group());
    EXPECT_EQ(lo, hi);
    for (int i = 0; i < 20; ++i) c.poll();  // "training iterations"
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (g.is_group_root()) ++log.ran[static_cast<std::size_t>(t)];
    ++local_runs;
    return screen::Outcome::done;
  });
  MPI_Allreduce(MPI_IN_PLACE, log.ran.data(), n_tasks, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  log.local_runs = local_runs;
  return log;
}

}  // namespace

TEST(Coordinator, EveryTaskRunsExactlyOnce) {
  for (int rpt : {1, 2}) {
    if (world_size() % rpt != 0) continue;
    screen::Groups g(MPI_COMM_WORLD, rpt, "test");
    EXPECT_EQ(g.n_groups(), world_size() / rpt);
    const auto log = run_fake(g, 37);
    for (int t = 0; t < 37; ++t) {
      EXPECT_EQ(log.ran[static_cast<std::size_t>(t)], 1) << "task " << t << " ranks_per_task " << rpt;
      if (g.world_rank() == 0) {
        EXPECT_EQ(log.finished[static_cast<std::size_t>(t)], 1) << t;
      }
    }
  }
}

TEST(Coordinator, EveryPrefetchDepthRunsEveryTaskOnce) {
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  for (int prefetch : {0, 1, 3}) {
    const auto log = run_fake(g, 23, -1, -1, prefetch);
    for (int t = 0; t < 23; ++t) EXPECT_EQ(log.ran[static_cast<std::size_t>(t)], 1) << t << " prefetch " << prefetch;
  }
}

TEST(Coordinator, ReservationsNeverStarveAGroup) {
  // As many (slow) tasks as groups: reservations are refused when few tasks are left, so every
  // group runs exactly one instead of one group running two while another idles.
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const auto log = run_fake(g, g.n_groups(), -1, -1, 2, 300);
  for (int t = 0; t < g.n_groups(); ++t) EXPECT_EQ(log.ran[static_cast<std::size_t>(t)], 1);
  EXPECT_EQ(log.local_runs, 1) << "rank " << g.world_rank();
}

TEST(Coordinator, MoreGroupsThanTasks) {
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const auto log = run_fake(g, 1);
  EXPECT_EQ(log.ran[0], 1);
}

TEST(Coordinator, StopAfterDrainsWithoutRunningATaskTwice) {
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const int n = 40;
  const auto log = run_fake(g, n, 5);
  int total = 0;
  for (int r : log.ran) {
    EXPECT_LE(r, 1);
    total += r;
  }
  EXPECT_GE(total, 5);
  // After the 5th done task nothing new is handed out: at most one task in flight plus two
  // reserved (the default prefetch) per other group can still finish.
  EXPECT_LE(total, 5 + 3 * (g.n_groups() - 1) + 1);
  EXPECT_LT(total, n);
}

TEST(Coordinator, AGroupThatStopsLosesNoTask) {
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const int n = 40;
  // Every group but rank 0's stops after 2 tasks (as after a signal that reached only them);
  // a task it had reserved goes back to the queue and rank 0 runs the rest.
  const auto log = run_fake(g, n, -1, g.world_rank() == 0 ? -1 : 2);
  int total = 0;
  for (int r : log.ran) {
    EXPECT_EQ(r, 1);
    total += r;
  }
  EXPECT_EQ(total, n);
  if (g.world_rank() != 0) {
    EXPECT_LE(log.local_runs, 2);
  }
}

TEST(Groups, WorldSizeMustBeAMultiple) {
  const int n = world_size();
  try {
    screen::Groups g(MPI_COMM_WORLD, n + 1, "screen.ini");
    FAIL() << "accepted ranks_per_task larger than the world";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "screen.ini");
    EXPECT_EQ(e.key(), "screen.ranks_per_task");
    EXPECT_EQ(e.value(), std::to_string(n + 1));
  }
  screen::Groups g(MPI_COMM_WORLD, n, "x");
  EXPECT_EQ(g.n_groups(), 1);
  EXPECT_EQ(g.group_size(), n);
  EXPECT_EQ(g.root_of(0), 0);
}
