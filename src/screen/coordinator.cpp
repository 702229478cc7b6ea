#include "cellot/screen/coordinator.hpp"

#include <mpi.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/core/fault.hpp"
#include "cellot/core/log.hpp"

namespace cellot::screen {

namespace {

constexpr int kTagToCoordinator = 101;
constexpr int kTagReply = 102;
constexpr int kTagKeepalive = 103;
// kTaskDone: one task of a unit has finished {kTaskDone, task, outcome, work} (report_task).
constexpr std::int64_t kRequest = 0, kReport = 1, kLeave = 2, kHeartbeat = 3, kTaskDone = 4;
constexpr std::int64_t kNoMoreTasks = Coordinator::kNoMoreTasks, kStopped = Coordinator::kStopped;
// Answer to a prefetch request when few tasks are left: no reservation now, ask again when idle
// (so that a group holding reservations never starves another group of the last tasks).
constexpr std::int64_t kRetry = Coordinator::kRetry;

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

std::string seconds(double s) { return std::to_string(static_cast<long long>(s)) + " s"; }

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
    : Coordinator(groups, std::move(order), CoordinatorOptions{prefetch}) {}

Coordinator::Coordinator(const Groups& groups, std::vector<std::int64_t> order, const CoordinatorOptions& options)
    : groups_(groups), options_(options), prefetch_(std::max(0, options.prefetch)) {
  if (groups_.world_rank() == 0) queue_.assign(order.begin(), order.end());
  clients_left_ = groups_.n_groups() - 1;
  const double t = now();
  last_watch_ = last_beat_ = last_keepalive_ = t;
  drop_next_request_ = fault::armed("drop_request");
  if (groups_.world_rank() == 0) {
    clients_.assign(static_cast<std::size_t>(groups_.n_groups()), Client{});
    for (auto& c : clients_) c.last_heard = t;
  }
}

std::int64_t Coordinator::answer(std::deque<std::int64_t>& queue, bool prefetch, int n_groups, bool stopping,
                                 const std::function<bool(std::int64_t)>& reservable) {
  if (stopping) return kStopped;
  if (queue.empty()) return kNoMoreTasks;
  std::int64_t t;
  if (!prefetch) {
    t = queue.front();
    queue.pop_front();
  } else {
    if (queue.size() <= static_cast<std::size_t>(n_groups)) return kRetry;
    if (reservable && !reservable(queue.back())) return kRetry;
    t = queue.back();
    queue.pop_back();
  }
  return t;
}

bool Coordinator::check_stop() {
  if (!stopping_ && external_stop && external_stop()) stopping_ = true;
  return stopping_;
}

std::int64_t Coordinator::take() { return answer(queue_, false, groups_.n_groups(), check_stop()); }

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

std::string Coordinator::client_state() const {
  std::string s;
  const double t = now();
  for (std::size_t g = 1; g < clients_.size(); ++g) {
    const Client& c = clients_[g];
    if (c.left) continue;
    s += (s.empty() ? "" : "; ") + std::string("group ") + std::to_string(g) + " (world rank " +
         std::to_string(static_cast<long long>(g) * groups_.group_size()) + "): last heard " +
         seconds(t - c.last_heard) + " ago, " + std::to_string(c.requests) + " requests, " +
         std::to_string(c.reports) + " reports, tasks in flight [";
    for (std::size_t i = 0; i < c.in_flight.size(); ++i)
      s += (i ? "," : "") + std::to_string(c.in_flight[i]);
    s += "]";
  }
  return s.empty() ? "every group has left" : s;
}

void Coordinator::handle(const std::int64_t msg[4], int source) {
  ++stats_.messages;
  const auto g = static_cast<std::size_t>(source / groups_.group_size());
  Client& c = clients_.at(g);
  c.last_heard = now();
  switch (msg[0]) {
    case kRequest: {
      ++c.requests;
      const bool prefetch = msg[2] != 0;
      const std::int64_t reply = answer(queue_, prefetch, groups_.n_groups(), check_stop(), options_.reservable);
      if (reply >= 0) c.in_flight.push_back(reply);
      // Bound: a 32-byte message goes eagerly (Open MPI's eager limit is kilobytes): the send completes
      // without the receiver.
      MPI_Send(&reply, 1, MPI_INT64_T, source, kTagReply, groups_.control());
      break;
    }
    case kReport: {
      ++c.reports;
      auto it = std::find(c.in_flight.begin(), c.in_flight.end(), msg[1]);
      if (it != c.in_flight.end()) c.in_flight.erase(it);
      record(msg[1], static_cast<Outcome>(msg[2]), static_cast<int>(msg[3]));
      break;
    }
    case kTaskDone:
      c.inflight_work = std::max(0.0, c.inflight_work - static_cast<double>(msg[3]));
      if (on_task) on_task(msg[1], static_cast<Outcome>(msg[2]), static_cast<int>(g), static_cast<double>(msg[3]));
      break;
    case kLeave:
      c.left = true;
      --clients_left_;
      break;
    case kHeartbeat:
      // Messages from one rank arrive in the order sent: every request and report sent before
      // this heartbeat has been received by now, so a difference is a lost message.
      if (msg[1] != c.requests || msg[2] != c.reports)
        throw CoordinatorError("coordinator: group " + std::to_string(g) + " (world rank " + std::to_string(source) +
                           ") has sent " + std::to_string(msg[1]) + " task requests and " + std::to_string(msg[2]) +
                           " reports, rank 0 received " + std::to_string(c.requests) + " and " +
                           std::to_string(c.reports) +
                           ": a scheduler message was lost below MPI matching (stale Open MPI/PMIx session "
                           "state after a requeue is a known cause); failing the job so it can be resumed");
      c.inflight_work = static_cast<double>(msg[3]);
      break;
    default:
      throw InternalError(__FILE__, __LINE__, "unknown scheduler message");
  }
}

void Coordinator::watch_clients(double t) {
  if (t - last_watch_ < options_.warn_every) return;
  last_watch_ = t;
  double worst = 0;
  for (std::size_t g = 1; g < clients_.size(); ++g)
    if (!clients_[g].left) worst = std::max(worst, t - clients_[g].last_heard);
  // A group root sends something at least every heartbeat; silence beyond wait_timeout is a
  // failure, beyond two heartbeats (or warn_every) worth a line.
  if (options_.wait_timeout > 0 && worst > options_.wait_timeout)
    throw CoordinatorError("coordinator: no message from a group for " + seconds(worst) + " (screen.wait_timeout " +
                       seconds(options_.wait_timeout) + "): " + client_state() +
                       "; failing the job so it can be resumed (--resume)");
  if (worst < std::max(2 * options_.heartbeat, warn_after())) return;
  log::warn("coordinator: a group has been silent for " + seconds(worst) + ": " + client_state());
}

void Coordinator::send_heartbeat(double t) {
  last_beat_ = t;
  const std::int64_t work = inflight ? std::llround(inflight()) : 0;
  const std::int64_t msg[4] = {kHeartbeat, requests_sent_, reports_sent_, work};
  // Bound: as every control message, 32 bytes sent eagerly.
  MPI_Send(msg, 4, MPI_INT64_T, 0, kTagToCoordinator, groups_.control());
}

double Coordinator::inflight_work() const {
  double w = inflight ? inflight() : 0.0;
  for (std::size_t g = 1; g < clients_.size(); ++g)
    if (!clients_[g].left) w += clients_[g].inflight_work;
  return w;
}

void Coordinator::report_task(std::int64_t task, Outcome outcome, double work) {
  if (!groups_.is_group_root()) return;
  if (groups_.world_rank() == 0) {
    if (on_task) on_task(task, outcome, groups_.group_index(), work);
    return;
  }
  const std::int64_t msg[4] = {kTaskDone, task, static_cast<std::int64_t>(outcome), std::llround(work)};
  // Bound: 32 bytes, sent eagerly.
  MPI_Send(msg, 4, MPI_INT64_T, 0, kTagToCoordinator, groups_.control());
}

void Coordinator::poll(bool force) {
  if (in_poll_) return;
  if (groups_.world_rank() != 0) {
    if (groups_.is_group_root()) {
      const double t = now();
      if (t - last_beat_ >= options_.heartbeat) send_heartbeat(t);
    }
    return;
  }
  const double t = now();
  if (!force && t - last_poll_ < options_.poll_interval) return;
  last_poll_ = t;
  if (!force && fault::armed("coordinator_poll"))
    throw CoordinatorError("coordinator: injected poll failure (CELLOT_FAULT=coordinator_poll)");
  // Ranks of groups that have left wait at the end of the screen while this rank still works.
  if (t - last_keepalive_ >= options_.heartbeat) send_keepalives(t, false);
  in_poll_ = true;
  const Stamp t0 = Stamp::now();
  // One MPI_Iprobe runs one round of Open MPI's progress engine, which may not yet match a
  // message that arrived while this rank computed; a forced poll (rank 0 about to take a task
  // for itself) probes once more so that waiting groups are served first.
  int misses = 0;
  try {
    while (true) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagToCoordinator, groups_.control(), &flag, &st);
      if (!flag) {
        if (force && ++misses < 2) continue;
        break;
      }
      std::int64_t msg[4];
      // Bound: the message was matched by MPI_Iprobe above, so this receive completes at once.
      MPI_Recv(msg, 4, MPI_INT64_T, st.MPI_SOURCE, kTagToCoordinator, groups_.control(), MPI_STATUS_IGNORE);
      handle(msg, st.MPI_SOURCE);
    }
    watch_clients(t);
  } catch (...) {
    in_poll_ = false;
    throw;
  }
  stats_.serve += Stamp::now() - t0;
  in_poll_ = false;
}

void Coordinator::wait_reply(void* request) {
  auto* req = static_cast<MPI_Request*>(request);
  const Stamp t0 = Stamp::now();
  const double start = now();
  double warned = start;
  Backoff backoff;
  int flag = 0;
  while (true) {
    MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (flag) break;
    backoff.pause();
    const double t = now();
    if (t - last_beat_ >= options_.heartbeat) {
      send_heartbeat(t);
      send_keepalives(t, true);
    }
    const double waited = t - start;
    if (options_.wait_timeout > 0 && waited > options_.wait_timeout) {
      MPI_Cancel(req);
      // Bound: completes at once: the request was cancelled (or had completed).
      MPI_Wait(req, MPI_STATUS_IGNORE);
      throw CoordinatorError("coordinator: group " + std::to_string(groups_.group_index()) + " waited " +
                         seconds(waited) + " for rank 0's answer (screen.wait_timeout " +
                         seconds(options_.wait_timeout) + "; " + std::to_string(requests_sent_) +
                         " requests sent, " + std::to_string(replies_) + " answered, " +
                         std::to_string(stats_.tasks_run) +
                         " tasks run); failing the job so it can be resumed (--resume)");
    }
    if (t - warned >= options_.warn_every &&
        waited >= warn_after()) {
      warned = t;
      log::warn("coordinator: group " + std::to_string(groups_.group_index()) + " has waited " + seconds(waited) +
                " for rank 0's answer (" + std::to_string(requests_sent_) + " requests sent, " +
                std::to_string(replies_) + " answered); rank 0 answers between its own task phases and from its "
                "training loop, so a long data load or metrics phase there delays it");
    }
  }
  ++replies_;
  stats_.wait += Stamp::now() - t0;
}

void Coordinator::group_bcast(std::int64_t& value) {
  // Non-blocking broadcast, waited on asleep: a member waiting for its root's next task (which
  // may be hours away while the root serves the other groups) must not spin on a shared core.
  if (groups_.group_size() <= 1) return;
  MPI_Request req;
  MPI_Ibcast(&value, 1, MPI_INT64_T, 0, groups_.group(), &req);
  if (groups_.is_group_root()) {
    // Bound: the root's side completes once its message is handed to MPI (members post theirs
    // while they wait, below).
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    return;
  }
  wait_bounded(req, "its group root's next task (group " + std::to_string(groups_.group_index()) + ")");
}

bool Coordinator::drain_keepalives() {
  bool any = false;
  while (true) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagKeepalive, groups_.control(), &flag, &st);
    if (!flag) return any;
    std::int64_t x = 0;
    // Bound: matched by MPI_Iprobe above.
    MPI_Recv(&x, 1, MPI_INT64_T, st.MPI_SOURCE, kTagKeepalive, groups_.control(), MPI_STATUS_IGNORE);
    any = true;
  }
}

void Coordinator::send_keepalives(double t, bool own_members) {
  last_keepalive_ = t;
  const std::int64_t x = 1;
  const int me = groups_.world_rank(), r = groups_.group_size();
  if (own_members)
    for (int k = 1; k < r; ++k)
      // Bound: 8-byte keepalives, sent eagerly.
      MPI_Send(&x, 1, MPI_INT64_T, me + k, kTagKeepalive, groups_.control());
  if (me != 0) return;
  for (std::size_t g = 1; g < clients_.size(); ++g)
    if (clients_[g].left)
      for (int k = 0; k < r; ++k)
        MPI_Send(&x, 1, MPI_INT64_T, groups_.root_of(static_cast<int>(g)) + k, kTagKeepalive, groups_.control());
}

void Coordinator::wait_bounded(MPI_Request& req, const std::string& what) {
  // Bound: wait_timeout seconds of silence. The rank waited for sends a keepalive every heartbeat
  // while it waits or serves itself, so only a rank that stopped making progress (or died without
  // the launcher ending the job) lets the timeout expire.
  Backoff backoff;
  const double start = now();
  double heard = start;
  int flag = 0;
  while (true) {
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
    if (flag) break;
    backoff.pause();
    const double t = now();
    if (drain_keepalives()) heard = t;
    if (options_.wait_timeout > 0 && t - heard > options_.wait_timeout)
      throw CoordinatorError("coordinator: world rank " + std::to_string(groups_.world_rank()) + " waited " +
                             seconds(t - start) + " for " + what + ", nothing heard for " + seconds(t - heard) +
                             " (screen.wait_timeout " + seconds(options_.wait_timeout) +
                             "); failing the job so it can be resumed (--resume)");
  }
}

void Coordinator::wait_all() {
  // Groups finish at different times; the early ones wait here asleep rather than spinning in a
  // blocking collective, so that on shared cores the groups still working get the CPU.
  MPI_Request barrier;
  MPI_Ibarrier(groups_.world(), &barrier);
  wait_bounded(barrier, "the other groups to finish");
  drain_keepalives();
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
      group_bcast(task);
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
      // Bound: matched by MPI_Iprobe above.
      MPI_Recv(msg, 4, MPI_INT64_T, st.MPI_SOURCE, kTagToCoordinator, groups_.control(), MPI_STATUS_IGNORE);
      handle(msg, st.MPI_SOURCE);
    } else {
      backoff.pause();
      const double t = now();
      watch_clients(t);
      if (t - last_keepalive_ >= options_.heartbeat) send_keepalives(t, true);
      if (on_idle) on_idle();
    }
    stats_.idle += Stamp::now() - t0;
  }
  std::int64_t end = stopping_ ? kStopped : kNoMoreTasks;
  group_bcast(end);
}

void Coordinator::run_client_root(const std::function<Outcome(std::int64_t)>& run) {
  const MPI_Comm ctl = groups_.control();
  const int me = groups_.group_index();
  auto send = [&](std::int64_t kind, std::int64_t task, Outcome o) {
    const std::int64_t msg[4] = {kind, task, static_cast<std::int64_t>(o), me};
    if (kind == kRequest) {
      ++requests_sent_;
      if (drop_next_request_) {
        drop_next_request_ = false;
        return;
      }
    }
    if (kind == kReport) ++reports_sent_;
    // Bound: 32 bytes, sent eagerly.
    MPI_Send(msg, 4, MPI_INT64_T, 0, kTagToCoordinator, ctl);
  };
  // Requests in flight, answered in order (messages between two ranks do not overtake). Each
  // slot owns its reply buffer; a deque never moves its elements.
  struct Slot {
    std::int64_t reply = kNoMoreTasks;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::deque<Slot> pending;
  // A throw (a wait that timed out, a failed broadcast) leaves later reservations' receives
  // posted: each is cancelled before its slot goes, or rank 0's answer, arriving later, is written
  // into freed memory (found by ASan in test_coordinator_fault at 3 ranks).
  struct CancelPending {
    std::deque<Slot>& slots;
    ~CancelPending() {
      for (Slot& s : slots) {
        if (s.request == MPI_REQUEST_NULL) continue;
        MPI_Cancel(&s.request);
        // Bound: completes at once: the receive was cancelled (or had its 8 bytes already).
        MPI_Wait(&s.request, MPI_STATUS_IGNORE);
      }
    }
  } cancel_pending{pending};
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
    group_bcast(task);
    const Outcome o = run(task);
    ++stats_.tasks_run;
    if (o == Outcome::interrupted) stopping_ = true;
    send(kReport, task, o);
  }
  std::int64_t end = kNoMoreTasks;
  group_bcast(end);
  send(kLeave, -1, Outcome::done);
}

void Coordinator::run_member(const std::function<Outcome(std::int64_t)>& run) {
  while (true) {
    std::int64_t task = 0;
    const Stamp t0 = Stamp::now();
    group_bcast(task);
    stats_.wait += Stamp::now() - t0;
    if (task < 0) break;
    run(task);
    ++stats_.tasks_run;
  }
}

}  // namespace cellot::screen
