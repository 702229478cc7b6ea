#include "cellot/dist/coordinator.hpp"

#include <mpi.h>
#include <time.h>

#include <algorithm>
#include <chrono>

#include "cellot/core/error.hpp"

namespace cellot::dist {

namespace {

constexpr int kTagToCoordinator = 101;
constexpr int kTagReply = 102;
constexpr std::int64_t kRequest = 0, kReport = 1, kLeave = 2;
constexpr std::int64_t kNoMoreTasks = -1, kStopped = -2;
// Answer to a prefetch request when few tasks are left: no reservation now, ask again when idle
// (so that a group holding reservations never starves another group of the last tasks).
constexpr std::int64_t kRetry = -3;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Waiting loops sleep between polls (50 us, backing off to 250 us) instead of spinning: on an
// oversubscribed node a spinning rank steals the core of a rank that is training.
class Backoff {
 public:
  void pause() {
    timespec ts{0, static_cast<long>(ns_)};
    nanosleep(&ts, nullptr);
    ns_ = std::min<long long>(ns_ * 2, 250000);
  }
  void reset() { ns_ = 50000; }

 private:
  long long ns_ = 50000;
};

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::done:
      return "done";
    case Outcome::failed:
      return "failed";
    case Outcome::diverged:
      return "diverged";
    case Outcome::interrupted:
      return "interrupted";
    case Outcome::skipped:
      return "skipped";
  }
  return "unknown";
}

Coordinator::Coordinator(const Groups& groups, std::vector<std::int64_t> order, int prefetch)
    : groups_(groups), prefetch_(std::max(0, prefetch)) {
  if (groups_.world_rank() == 0) queue_.assign(order.begin(), order.end());
  clients_left_ = groups_.n_groups() - 1;
}

bool Coordinator::check_stop() {
  if (!stopping_ && external_stop && external_stop()) stopping_ = true;
  return stopping_;
}

std::int64_t Coordinator::take() {
  if (check_stop()) return kStopped;
  if (queue_.empty()) return kNoMoreTasks;
  const std::int64_t t = queue_.front();
  queue_.pop_front();
  return t;
}

void Coordinator::record(std::int64_t task, Outcome outcome, int group) {
  // A task handed out but not finished goes back to the front of the queue: if only some
  // groups were stopped, the others still run it in this job.
  if (outcome == Outcome::skipped || outcome == Outcome::interrupted) queue_.push_front(task);
  if (outcome == Outcome::skipped) return;
  if (outcome == Outcome::interrupted) stopping_ = true;  // one group preempted: the job is going down
  if (outcome == Outcome::done) {
    ++done_;
    if (stop_after_ >= 0 && done_ >= stop_after_) stopping_ = true;
  }
  if (on_finished) on_finished(task, outcome, group);
}

void Coordinator::handle(const std::int64_t msg[4], int source) {
  ++stats_.messages;
  switch (msg[0]) {
    case kRequest: {
      const bool prefetch = msg[2] != 0;
      const bool few_left = queue_.size() <= static_cast<std::size_t>(groups_.n_groups());
      const std::int64_t reply = (prefetch && few_left && !check_stop() && !queue_.empty()) ? kRetry : take();
      MPI_Send(&reply, 1, MPI_INT64_T, source, kTagReply, groups_.control());
      break;
    }
    case kReport:
      record(msg[1], static_cast<Outcome>(msg[2]), static_cast<int>(msg[3]));
      break;
    case kLeave:
      --clients_left_;
      break;
    default:
      throw InternalError(__FILE__, __LINE__, "unknown scheduler message");
  }
}

void Coordinator::poll(bool force) {
  if (groups_.world_rank() != 0 || in_poll_) return;
  const double t = now();
  if (!force && t - last_poll_ < 1e-3) return;
  last_poll_ = t;
  in_poll_ = true;
  const Stamp t0 = Stamp::now();
  // One MPI_Iprobe runs one round of Open MPI's progress engine, which may not yet match a
  // message that arrived while this rank computed; a forced poll (rank 0 about to take a task
  // for itself) probes once more so that waiting groups are served first.
  int misses = 0;
  while (true) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagToCoordinator, groups_.control(), &flag, &st);
    if (!flag) {
      if (force && ++misses < 2) continue;
      break;
    }
    std::int64_t msg[4];
    MPI_Recv(msg, 4, MPI_INT64_T, st.MPI_SOURCE, kTagToCoordinator, groups_.control(), MPI_STATUS_IGNORE);
    handle(msg, st.MPI_SOURCE);
  }
  stats_.serve += Stamp::now() - t0;
  in_poll_ = false;
}

std::int64_t Coordinator::wait_reply(void* request) {
  auto* req = static_cast<MPI_Request*>(request);
  const Stamp t0 = Stamp::now();
  Backoff backoff;
  int flag = 0;
  while (true) {
    MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (flag) break;
    backoff.pause();
  }
  stats_.wait += Stamp::now() - t0;
  return 0;
}

void Coordinator::run(const std::function<Outcome(std::int64_t)>& run) {
  if (groups_.world_rank() == 0)
    run_coordinator(run);
  else if (groups_.is_group_root())
    run_client_root(run);
  else
    run_member(run);
}

void Coordinator::run_coordinator(const std::function<Outcome(std::int64_t)>& run) {
  // Group 0 runs tasks while there are any; with the queue empty it serves the other groups
  // until each has left, still taking a task that comes back (a group stopped with tasks
  // reserved: they are requeued and must not be lost).
  Backoff backoff;
  while (true) {
    poll(true);
    std::int64_t task = take();
    if (task >= 0) {
      backoff.reset();
      if (groups_.group_size() > 1) MPI_Bcast(&task, 1, MPI_INT64_T, 0, groups_.group());
      const Outcome o = run(task);
      ++stats_.tasks_run;
      record(task, o, groups_.group_index());
      continue;
    }
    if (clients_left_ == 0) break;
    const Stamp t0 = Stamp::now();
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagToCoordinator, groups_.control(), &flag, &st);
    if (flag) {
      backoff.reset();
      std::int64_t msg[4];
      MPI_Recv(msg, 4, MPI_INT64_T, st.MPI_SOURCE, kTagToCoordinator, groups_.control(), MPI_STATUS_IGNORE);
      handle(msg, st.MPI_SOURCE);
    } else {
      backoff.pause();
    }
    stats_.idle += Stamp::now() - t0;
  }
  std::int64_t end = stopping_ ? kStopped : kNoMoreTasks;
  if (groups_.group_size() > 1) MPI_Bcast(&end, 1, MPI_INT64_T, 0, groups_.group());
}

void Coordinator::run_client_root(const std::function<Outcome(std::int64_t)>& run) {
  const MPI_Comm ctl = groups_.control();
  const int me = groups_.group_index();
  auto send = [&](std::int64_t kind, std::int64_t task, Outcome o) {
    const std::int64_t msg[4] = {kind, task, static_cast<std::int64_t>(o), me};
    MPI_Send(msg, 4, MPI_INT64_T, 0, kTagToCoordinator, ctl);
  };
  // Requests in flight, answered in order (messages between two ranks do not overtake). Each
  // slot owns its reply buffer; a deque never moves its elements.
  struct Slot {
    std::int64_t reply = kNoMoreTasks;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::deque<Slot> pending;
  bool asking = true;  // false after a terminal answer or a stop: no new requests
  // A request for a task to run now (`prefetch` false) or a reservation (true); the request
  // message carries the flag in its outcome field.
  auto ask = [&](bool prefetch) {
    pending.emplace_back();
    MPI_Irecv(&pending.back().reply, 1, MPI_INT64_T, 0, kTagReply, ctl, &pending.back().request);
    send(kRequest, -1, static_cast<Outcome>(prefetch ? 1 : 0));
  };

  while (true) {
    if (asking && check_stop()) asking = false;
    if (pending.empty()) {
      if (!asking) break;
      ask(false);
    }
    wait_reply(&pending.front().request);
    std::int64_t task = pending.front().reply;
    pending.pop_front();
    if (task == kRetry) continue;
    if (task < 0) {
      asking = false;  // later answers are drained; any task among them (a requeued one) still runs
      continue;
    }
    if (check_stop()) {
      asking = false;
      send(kReport, task, Outcome::skipped);
      continue;
    }
    while (asking && static_cast<int>(pending.size()) < prefetch_) ask(true);
    if (groups_.group_size() > 1) MPI_Bcast(&task, 1, MPI_INT64_T, 0, groups_.group());
    const Outcome o = run(task);
    ++stats_.tasks_run;
    if (o == Outcome::interrupted) stopping_ = true;
    send(kReport, task, o);
  }
  std::int64_t end = kNoMoreTasks;
  if (groups_.group_size() > 1) MPI_Bcast(&end, 1, MPI_INT64_T, 0, groups_.group());
  send(kLeave, -1, Outcome::done);
}

void Coordinator::run_member(const std::function<Outcome(std::int64_t)>& run) {
  while (true) {
    std::int64_t task = 0;
    const Stamp t0 = Stamp::now();
    MPI_Bcast(&task, 1, MPI_INT64_T, 0, groups_.group());
    stats_.wait += Stamp::now() - t0;
    if (task < 0) break;
    run(task);
    ++stats_.tasks_run;
  }
}

}  // namespace cellot::dist
