#pragma once
// Dynamic hand-out of tasks to rank groups, most expensive first.
//
// Design: world rank 0 (the root of group 0) is the coordinator *and* a worker. The world is
// initialised MPI_THREAD_FUNNELED, so a coordinator thread is not an option, and a dedicated
// coordinator rank would waste half of a 2-rank laptop. Rank 0 therefore serves requests as a
// service polled from its own work: between tasks, and from inside its training loop through
// poll(), which the screen calls from TrainContext::should_stop (every iteration; one
// MPI_Iprobe when nothing waits). Other group roots send a request to rank 0 and broadcast the
// answer inside their group. To hide the latency of a rank 0 busy in a phase that does not poll
// (data loading, metrics), each group root keeps `prefetch` requests ahead of the task it runs
// (default 2): the answers are waiting when the task ends, even when rank 0 spends longer than
// one task between polls. With tasks handed out most expensive first, reserved tasks are among
// the cheapest left, so prefetching costs little balance at the tail; and once no more tasks are
// left than there are groups, reservations are refused (a group asks again when idle), so no
// group ever holds a task another idle group could run. (An MPI-3 RMA counter,
// MPI_Fetch_and_op, would avoid the service, but its progress without target participation is
// not guaranteed across networks by this Open MPI, so we do not rely on it.)
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "cellot/dist/clock.hpp"
#include "cellot/dist/groups.hpp"

namespace cellot::dist {

enum class Outcome : std::int64_t {
  done = 0,
  failed = 1,
  diverged = 2,
  interrupted = 3,  // stopped by a preemption signal (checkpointed, not finished)
  skipped = 4,      // handed out but not started because a stop was requested
};
const char* outcome_name(Outcome o);

struct SchedulerStats {
  Stamp wait;                  // waiting for a task (group roots: the reply; members: the broadcast)
  Stamp serve;                 // rank 0: probing for and handling messages while it has work
  Stamp idle;                  // rank 0: serving others after its group ran out of tasks
  std::int64_t tasks_run = 0;  // by this rank's group
  std::int64_t messages = 0;   // rank 0: messages handled
};

class Coordinator {
 public:
  // Collective over the groups. `order` (task indices in hand-out order) is read on world rank 0.
  Coordinator(const Groups& groups, std::vector<std::int64_t> order, int prefetch = 2);

  // Runs tasks until none is left or a stop is requested. `run` is called on every rank of the
  // group that got the task (collective inside the group) and must return the same Outcome on
  // every rank of that group. Returns when this rank has nothing more to do (rank 0: when every
  // group has finished).
  void run(const std::function<Outcome(std::int64_t task)>& run);

  // World rank 0: answers waiting requests; no-op elsewhere. Safe to call from inside `run`.
  // Probes at most every millisecond unless `force` (a probe can cost a context switch where ranks
  // share cores: Open MPI yields the processor when oversubscribed and nothing is pending).
  void poll(bool force = false);

  // Checked at every scheduling point: when it returns true this rank requests no more tasks
  // (rank 0: hands out no more). Typically the preemption-signal flag.
  std::function<bool()> external_stop;
  // World rank 0: every finished task (own or reported by another group), for progress lines.
  std::function<void(std::int64_t task, Outcome outcome, int group)> on_finished;
  // World rank 0: stop handing out tasks once `n` tasks are done (tasks already handed out run
  // to completion). A test hook for resume (`cellot screen --stop-after N`).
  void stop_after(std::int64_t n) { stop_after_ = n; }

  bool stopping() const { return stopping_; }
  const SchedulerStats& stats() const { return stats_; }

 private:
  void handle(const std::int64_t msg[4], int source);
  void record(std::int64_t task, Outcome outcome, int group);
  std::int64_t take();  // rank 0: next task or a terminal code
  bool check_stop();
  std::int64_t wait_reply(void* request);
  void run_coordinator(const std::function<Outcome(std::int64_t)>& run);
  void run_client_root(const std::function<Outcome(std::int64_t)>& run);
  void run_member(const std::function<Outcome(std::int64_t)>& run);

  const Groups& groups_;
  std::deque<std::int64_t> queue_;
  int prefetch_ = 2;
  bool stopping_ = false;
  bool in_poll_ = false;
  double last_poll_ = 0;
  int clients_left_ = 0;
  std::int64_t done_ = 0, stop_after_ = -1;
  SchedulerStats stats_;
};

}  // namespace cellot::dist
