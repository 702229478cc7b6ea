#pragma once
// The writer lease of a results store: one job at a time writes a store. The lease is the file
// <store>.lease beside it (one line: host, pid, Slurm job id and restart count, start time, a
// random token), taken atomically (link(2) of a private file, which fails if the lease exists,
// also on NFS) and kept alive by a heartbeat thread that touches it every `stale_after / 4`
// seconds. A second writer is refused with an InputError naming the holder and its heartbeat's
// age. A lease is stale, and is broken with a warning, when its heartbeat is older than
// `stale_after`, when its process is gone (same host; a live one gets 5 s to exit), or when it belongs to an earlier run of
// the same Slurm job (a requeue: Slurm ends a job's run before it starts the next). `force`
// (`cellot screen --break-lease`) breaks any lease: the documented way out for a holder known to
// be dead. A writer whose lease was broken by another stops as on SIGTERM (running tasks
// checkpoint) at its next write (lease_holds) or heartbeat, and writes nothing more to the store.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace cellot::screen {

std::string lease_path(const std::string& store);
// Whether the lease file `lease_file` holds the lease whose token is `token` (reads the file now;
// false when it is gone or unreadable). Every group root asks this before each write to the store,
// so no rank writes after another job took the lease (only the instant between this read and the
// write remains: there is no fencing token in HDF5).
bool lease_holds(const std::string& lease_file, const std::string& token);
// Who holds the lease in `lease_file` now ("host:pid (Slurm job J, run R), started T"; "?" fields
// when unreadable), for error lines.
std::string lease_holder(const std::string& lease_file);
// This machine's host name ("unknown" if it has none), as leases and the store's rows name it.
std::string hostname();

class StoreLease {
 public:
  // `on_lost` runs on the heartbeat thread once, when the file no longer holds this lease.
  static std::unique_ptr<StoreLease> acquire(const std::string& store, double stale_after, bool force,
                                             void (*on_lost)());
  ~StoreLease();  // stops the heartbeat; removes the file if it still holds this lease
  // Reads the lease file now: false (with the error line the heartbeat writes) if another job
  // took it. The end of a screen asks before its last writes, so a loss between two heartbeats
  // is not missed.
  bool still_held() const;
  StoreLease(const StoreLease&) = delete;
  StoreLease& operator=(const StoreLease&) = delete;

  const std::string& path() const { return path_; }
  const std::string& token() const { return token_; }

 private:
  StoreLease() = default;
  void heartbeat_loop(double interval, void (*on_lost)());

  std::string path_, token_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cellot::screen
