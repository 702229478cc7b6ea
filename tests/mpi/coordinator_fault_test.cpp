// The coordinator's hand-out rule and its bounded waits, with real ranks: reservations take the
// cheapest task, a group that runs long tasks keeps the others fed, a lost scheduler message is
// diagnosed from the heartbeat counts, and a silent rank 0 fails a waiting group instead of
// hanging it. (Separate binary from coordinator_test: the fault cases leave unmatched messages.)
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/screen/coordinator.hpp"
#include "cellot/screen/groups.hpp"

using namespace cellot;
using screen::Coordinator;

TEST(CoordinatorAnswer, RunNowTakesTheMostExpensiveReservationTheCheapest) {
  std::deque<std::int64_t> q{7, 3, 9, 1, 4, 2};  // hand-out order: most expensive first
  EXPECT_EQ(Coordinator::answer(q, false, 2, false), 7);
  EXPECT_EQ(Coordinator::answer(q, true, 2, false), 2);   // a reservation: the cheapest left
  EXPECT_EQ(Coordinator::answer(q, true, 2, false), 4);
  EXPECT_EQ(Coordinator::answer(q, false, 2, false), 3);
  ASSERT_EQ(q.size(), 2u);
  // No more tasks left than groups: reservations are refused, run-now requests still served.
  EXPECT_EQ(Coordinator::answer(q, true, 2, false), Coordinator::kRetry);
  EXPECT_EQ(Coordinator::answer(q, false, 2, false), 9);
  EXPECT_EQ(Coordinator::answer(q, false, 2, true), Coordinator::kStopped);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(Coordinator::answer(q, false, 2, false), 1);
  EXPECT_EQ(Coordinator::answer(q, false, 2, false), Coordinator::kNoMoreTasks);
  EXPECT_EQ(Coordinator::answer(q, true, 2, false), Coordinator::kNoMoreTasks);
}

TEST(CoordinatorAnswer, AReservationNeverTakesATaskThatIsNotReservable) {
  std::deque<std::int64_t> q{7, 3, 9, 1, 4, 2};
  const auto cheap = [](std::int64_t t) { return t == 2 || t == 4; };  // the two last in the order
  EXPECT_EQ(Coordinator::answer(q, true, 1, false, cheap), 2);
  EXPECT_EQ(Coordinator::answer(q, true, 1, false, cheap), 4);
  // The cheapest left (1) is not reservable: refused, and nothing is taken.
  EXPECT_EQ(Coordinator::answer(q, true, 1, false, cheap), Coordinator::kRetry);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(Coordinator::answer(q, false, 1, false, cheap), 7);  // run-now requests are unaffected
  EXPECT_EQ(Coordinator::answer(q, true, 1, false, cheap), Coordinator::kRetry);
}

TEST(CoordinatorBalance, GroupsRunTheUnreservableTasksMostExpensiveFirst) {
  // Tasks 0..7 are expensive (not reservable) and handed out in that order; 8..11 are cheap. A
  // group may hold cheap tasks as reservations, but takes every expensive task by asking for
  // one to run now, so each group runs the expensive tasks in the queue's order. (Without the
  // rule a client group, once the cheap tasks were gone, reserved expensive tasks from the back
  // of the queue and ran them cheapest first: a screen then ends on its most expensive tasks.)
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const int n_tasks = 12, n_expensive = 8;
  std::vector<std::int64_t> order(n_tasks);
  std::iota(order.begin(), order.end(), 0);
  screen::CoordinatorOptions o;
  o.poll_interval = 0;
  o.reservable = [&](std::int64_t t) { return t >= n_expensive; };
  Coordinator c(g, order, o);
  std::vector<std::int64_t> expensive_here;
  int ran = 0;
  c.run([&](std::int64_t t) {
    ++ran;
    if (t < n_expensive) {
      expensive_here.push_back(t);
      for (int i = 0; i < 10; ++i) {  // "training": 0.1 s, polling
        c.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return screen::Outcome::done;
  });
  EXPECT_TRUE(std::is_sorted(expensive_here.begin(), expensive_here.end()))
      << "world rank " << g.world_rank() << " ran expensive tasks out of the queue's order";
  int total = 0;
  MPI_Allreduce(&ran, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, n_tasks);
}

TEST(CoordinatorBalance, ReservationsNeverHoldTheExpensiveTasks) {
  // 2 expensive tasks (first in the order) and many cheap ones. Whoever reserves gets cheap
  // tasks, so the two expensive tasks start at once on different groups (with the old rule, a
  // group could reserve the second expensive task behind its first).
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  const int n_tasks = 12;
  std::vector<std::int64_t> order(n_tasks);
  std::iota(order.begin(), order.end(), 0);  // tasks 0 and 1 are the expensive ones
  screen::CoordinatorOptions o;
  o.poll_interval = 0;
  Coordinator c(g, order, o);
  std::vector<int> expensive_here;
  c.run([&](std::int64_t t) {
    if (t < 2) {
      expensive_here.push_back(static_cast<int>(t));
      for (int i = 0; i < 40; ++i) {  // "training": 0.4 s, polling
        c.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return screen::Outcome::done;
  });
  int mine = static_cast<int>(expensive_here.size()), most = 0;
  MPI_Allreduce(&mine, &most, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(most, 1) << "one group ran both expensive tasks";
}

TEST(CoordinatorFault, ALostRequestIsDiagnosedFromTheHeartbeat) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  std::vector<std::int64_t> order(4);
  std::iota(order.begin(), order.end(), 0);
  screen::CoordinatorOptions o;
  o.heartbeat = 0.05;
  o.warn_every = 0.1;
  o.wait_timeout = 2.0;
  Coordinator c(g, order, o);
  if (g.world_rank() == 1) c.drop_next_request_for_test();
  std::string what;
  try {
    c.run([&](std::int64_t) { return screen::Outcome::done; });
  } catch (const RuntimeError& e) {
    what = e.what();
  }
  if (g.world_rank() == 0) {
    EXPECT_NE(what.find("lost"), std::string::npos) << what;
    EXPECT_NE(what.find("group 1"), std::string::npos) << what;
  } else if (g.world_rank() == 1) {
    // Rank 1's request never arrived: it gives up after wait_timeout with its own account.
    EXPECT_NE(what.find("waited"), std::string::npos) << what;
    EXPECT_NE(what.find("1 requests sent, 0 answered"), std::string::npos) << what;
  }
  // Let every rank finish its side before the next test (rank 0 may fail first).
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(CoordinatorFault, ASilentRankZeroFailsTheWaitingGroupsAndViceVersa) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  std::vector<std::int64_t> order(2 * n);
  std::iota(order.begin(), order.end(), 0);
  screen::CoordinatorOptions o;
  o.heartbeat = 100;  // no heartbeats: the other groups fall silent while they wait
  o.warn_every = 0.1;
  o.wait_timeout = 0.5;
  Coordinator c(g, order, o);
  std::string what;
  try {
    c.run([&](std::int64_t) {
      // Rank 0's first task runs 1.5 s without polling (a long phase that does not serve).
      static bool first = true;
      if (g.world_rank() == 0 && first) {
        first = false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      }
      return screen::Outcome::done;
    });
  } catch (const RuntimeError& e) {
    what = e.what();
  }
  if (g.world_rank() == 0) {
    EXPECT_NE(what.find("no message from a group"), std::string::npos) << what;
  } else {
    EXPECT_NE(what.find("waited"), std::string::npos) << what;
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// Group members wait for their root's next task in a non-blocking broadcast; a root that stops
// making progress (here: never starts) fails them after wait_timeout instead of hanging them.
TEST(CoordinatorFault, AMemberWaitingForAFrozenRootFailsAfterTheTimeout) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n != 2) GTEST_SKIP() << "needs exactly 2 ranks (one group of 2)";
  screen::Groups g(MPI_COMM_WORLD, 2, "test");
  screen::CoordinatorOptions o;
  o.heartbeat = 100;
  o.wait_timeout = 0.5;
  Coordinator c(g, {}, o);
  std::string what;
  if (g.world_rank() == 1) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.run([&](std::int64_t) { return screen::Outcome::done; });
    } catch (const screen::CoordinatorError& e) {
      what = e.what();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(what.find("its group root's next task"), std::string::npos) << what;
    EXPECT_LT(s, 5.0);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    c.run([&](std::int64_t) { return screen::Outcome::done; });  // completes the member's broadcast
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// The end of the screen: a rank waiting for the others fails after wait_timeout of silence...
TEST(CoordinatorFault, TheFinalWaitIsBounded) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  screen::CoordinatorOptions o;
  o.heartbeat = 100;
  o.wait_timeout = 0.5;
  Coordinator c(g, {}, o);
  std::string what;
  if (g.world_rank() != 0) {
    try {
      c.wait_all();
    } catch (const screen::CoordinatorError& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("the other groups to finish"), std::string::npos) << what;
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a rank 0 that does not serve
    c.wait_all();
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// ...but not while rank 0 still works: its polls keep the ranks of groups that left alive.
TEST(CoordinatorFault, KeepalivesHoldTheFinalWaitWhileRankZeroWorks) {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  if (n < 2) GTEST_SKIP() << "needs 2 ranks";
  screen::Groups g(MPI_COMM_WORLD, 1, "test");
  screen::CoordinatorOptions o;
  o.heartbeat = 0.05;
  o.wait_timeout = 0.5;
  o.poll_interval = 0;
  Coordinator c(g, {0}, o);
  bool threw = false;
  try {
    c.run([&](std::int64_t) {
      // Rank 0's own task: 1.5 s of "training" that polls, while the other groups have left.
      for (int i = 0; i < 150; ++i) {
        c.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return screen::Outcome::done;
    });
    c.wait_all();
  } catch (const screen::CoordinatorError& e) {
    threw = true;
    ADD_FAILURE() << e.what();
  }
  EXPECT_FALSE(threw);
  MPI_Barrier(MPI_COMM_WORLD);
}
