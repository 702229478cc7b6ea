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
// one task between polls. A request for a task to run now gets the most expensive task left (the
// front of the queue); a reservation gets the cheapest (the back), so a reserving group never
// sits on an expensive task another group could start, and the expensive tasks still start
// first. Once no more tasks are left than there are groups, reservations are refused (a group
// asks again when idle), so no group ever holds a task an idle group could run. Reservations
// are refused too when the cheapest task left is not `reservable` (the screen: a trained model
// costing more than 1% of the plan's most expensive unit): such tasks are handed out only to a
// group asking to run one now, so every group takes them in the queue's order, most expensive
// first, and a screen ends on its cheapest tasks. (Before, a group that held reservations ran
// only reserved tasks, taken from the cheap end: once the cheap tasks were gone it ran the
// expensive ones cheapest first while rank 0 ran them from the other end, so the screen ended on
// expensive tasks with one group idle: 2.9 min of 62 on the paper's Table 1.) For such tasks
// the latency hidden is small: rank 0 answers from its training loop every `poll_interval`.
//
// No wait is unbounded. Group roots send a heartbeat (with how many requests and reports they
// have sent, and the progress of the tasks they run) every `heartbeat` seconds, from their training loop and while they wait. Rank 0
// compares the counts with what it received: messages between two ranks do not overtake, so a
// heartbeat that reports more requests than arrived proves a lost message and fails the job at
// once with that diagnosis. A group silent for `wait_timeout` seconds, or a group root left
// without a reply that long, fails the job (RuntimeError: the screen exits 1, the store keeps
// every finished task, and `--resume` continues); both warn every `warn_every` seconds from a
// quarter of the timeout on (a long data load or metrics phase is silent too, so no earlier).
// Waiting ranks outside the group roots' exchange are bounded too: group members wait for their
// root's next task, and every rank waits at the end of the screen for the others, in
// non-blocking collectives polled asleep; the rank they wait for sends them a keepalive every
// `heartbeat` seconds while it waits or serves (client roots: their members; rank 0: its members
// and every rank of a group that has left), and `wait_timeout` seconds without the collective
// completing or a keepalive fail the job with a diagnosis (CoordinatorError).
// (An MPI-3 RMA counter, MPI_Fetch_and_op, would avoid the service, but its progress without
// target participation is not guaranteed across networks by this Open MPI, so we do not rely
// on it.)
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/screen/clock.hpp"
#include "cellot/screen/groups.hpp"

namespace cellot::screen {

enum class Outcome : std::int64_t {
  done = 0,
  failed = 1,
  diverged = 2,
  interrupted = 3,  // stopped by a preemption signal (checkpointed, not finished)
  skipped = 4,      // handed out but not started because a stop was requested
};
const char* outcome_name(Outcome o);

// A failure of the scheduler itself (a lost message, a silent group, a missing answer): not a
// task's failure. The screen fails the job with it (exit 1, every rank), so --resume continues.
class CoordinatorError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

struct SchedulerStats {
  Stamp wait;                  // waiting for a task (group roots: the reply; members: the broadcast)
  Stamp serve;                 // rank 0: probing for and handling messages while it has work
  Stamp idle;                  // rank 0: serving others after its group ran out of tasks
  std::int64_t tasks_run = 0;  // by this rank's group
  std::int64_t messages = 0;   // rank 0: messages handled
};

struct CoordinatorOptions {
  int prefetch = 2;             // reservations each group root keeps ahead of the task it runs
  // Rank 0: whether a reservation may take a task (unset: every task may be reserved).
  std::function<bool(std::int64_t task)> reservable;
  double poll_interval = 0.001;  // s: rank 0 probes at most this often from inside its own work
  double wait_timeout = 3600;   // s: fail after a group is silent / a reply is missing this long (0: never)
  double heartbeat = 30;        // s: group roots tell rank 0 they are alive this often
  double warn_every = 60;       // s: log a warning with the wait's state this often
};

class Coordinator {
 public:
  // Collective over the groups. `order` (task indices in hand-out order) is read on world rank 0.
  Coordinator(const Groups& groups, std::vector<std::int64_t> order, int prefetch = 2);
  Coordinator(const Groups& groups, std::vector<std::int64_t> order, const CoordinatorOptions& options);

  // The hand-out rule on rank 0's queue (exposed for tests): a request for a task to run now
  // takes the front (most expensive); a reservation (`prefetch`) takes the back (cheapest), or
  // is refused with kRetry when no more tasks are left than `n_groups` or the back is not
  // `reservable` (unset: every task is). With `stopping` or an empty queue the answer is a
  // terminal code (< 0).
  static std::int64_t answer(std::deque<std::int64_t>& queue, bool prefetch, int n_groups, bool stopping,
                             const std::function<bool(std::int64_t)>& reservable = {});
  static constexpr std::int64_t kNoMoreTasks = -1, kStopped = -2, kRetry = -3;

  // Runs tasks until none is left or a stop is requested. `run` is called on every rank of the
  // group that got the task (collective inside the group) and must return the same Outcome on
  // every rank of that group. Returns when this rank has nothing more to do (rank 0: when every
  // group has finished).
  void run(const std::function<Outcome(std::int64_t task)>& run);

  // World rank 0: answers waiting requests. Safe to call from inside `run`. Probes at most every
  // `poll_interval` unless `force` (a probe can cost a context switch where ranks share cores:
  // Open MPI yields the processor when oversubscribed and nothing is pending). Other group
  // roots: sends the heartbeat when it is due. No-op on group members.
  void poll(bool force = false);

  // Fault injection for tests: this group root counts its next request as sent but does not send
  // it (a message lost below MPI matching), so the diagnosis path can be exercised.
  void drop_next_request_for_test() { drop_next_request_ = true; }

  // Checked at every scheduling point: when it returns true this rank requests no more tasks
  // (rank 0: hands out no more). Typically the preemption-signal flag.
  std::function<bool()> external_stop;
  // World rank 0: every finished task (own or reported by another group), for progress lines.
  std::function<void(std::int64_t task, Outcome outcome, int group)> on_finished;
  // World rank 0: every task a group root reported with report_task (a pack's tasks one by one,
  // with the work they actually did in the plan's cost unit), for progress and the ETA.
  std::function<void(std::int64_t task, Outcome outcome, int group, double work)> on_task;
  // Group roots: one task of the unit being run has finished (`work`: the cost it actually
  // took). Rank 0 calls on_task at once; other roots send it (not counted by the heartbeat's
  // message check: a lost one costs a progress line, not a task).
  void report_task(std::int64_t task, Outcome outcome, double work);
  // Group roots: the planned cost done so far on the tasks being run (a task's cost times the
  // fraction of its steps done); other roots send it with each heartbeat.
  std::function<double()> inflight;
  // World rank 0 while it has nothing of its own to run and only serves the other groups
  // (called between probes, at most every few ms): the progress line's keepalive, so the log
  // does not go silent while other groups run long tasks.
  std::function<void()> on_idle;
  // World rank 0: that work summed over every group (the others' as of their last heartbeat),
  // for the progress line's ETA while long tasks run.
  double inflight_work() const;
  // World rank 0: stop handing out tasks once `n` tasks are done (tasks already handed out run
  // to completion). A test hook for resume (`cellot screen --stop-after N`).
  void stop_after(std::int64_t n) { stop_after_ = n; }

  // Every rank, after run(): waits until every rank of the world has finished run(), asleep
  // (non-blocking barrier), draining keepalives; CoordinatorError after wait_timeout without the
  // barrier completing or a keepalive.
  void wait_all();

  bool stopping() const { return stopping_; }
  const SchedulerStats& stats() const { return stats_; }

 private:
  struct Client {  // rank 0's view of another group's root
    double last_heard = 0;
    std::int64_t requests = 0, reports = 0;
    std::vector<std::int64_t> in_flight;  // tasks handed out, not yet reported
    double inflight_work = 0;             // its last heartbeat's `inflight`, less what it reported since
    bool left = false;
  };
  void handle(const std::int64_t msg[4], int source);
  void record(std::int64_t task, Outcome outcome, int group);
  std::int64_t take();  // rank 0: next task or a terminal code
  bool check_stop();
  void wait_reply(void* request);
  void watch_clients(double t);           // rank 0: warn about / fail on silent groups
  void send_heartbeat(double t);          // other group roots
  void group_bcast(std::int64_t& value);  // inside the group, waiting asleep (bounded on members)
  // Waits for `request` asleep, draining keepalives; CoordinatorError naming `what` after
  // wait_timeout of silence.
  void wait_bounded(MPI_Request& request, const std::string& what);
  void send_keepalives(double t, bool own_members);  // to ranks that may be waiting for this one
  bool drain_keepalives();
  std::string client_state() const;
  // Waits shorter than this are not worth a warning (a long data load or metrics phase is silent
  // too): a quarter of the timeout, 15 minutes without one.
  double warn_after() const { return options_.wait_timeout > 0 ? options_.wait_timeout / 4 : 900; }
  void run_coordinator(const std::function<Outcome(std::int64_t)>& run);
  void run_client_root(const std::function<Outcome(std::int64_t)>& run);
  void run_member(const std::function<Outcome(std::int64_t)>& run);

  const Groups& groups_;
  std::deque<std::int64_t> queue_;
  CoordinatorOptions options_;
  int prefetch_ = 2;
  bool stopping_ = false;
  bool in_poll_ = false;
  double last_poll_ = 0, last_watch_ = 0, last_beat_ = 0, last_keepalive_ = 0;
  std::vector<Client> clients_;  // rank 0, by group index
  std::int64_t requests_sent_ = 0, reports_sent_ = 0, replies_ = 0;  // group roots
  bool drop_next_request_ = false;
  int clients_left_ = 0;
  std::int64_t done_ = 0, stop_after_ = -1;
  SchedulerStats stats_;
};

}  // namespace cellot::screen
