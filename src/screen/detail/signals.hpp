#pragma once
// Preemption signals of a running screen: SIGTERM (Slurm's time limit and scancel), SIGUSR1
// (Slurm's --signal, jobs/*.sbatch) and SIGINT set one flag that the trainers' stop hook, the
// coordinator and the end of the screen read. Handling a signal only sets the flag: everything
// else (checkpointing, closing the store) happens at the next poll on the normal path.
#include <array>
#include <csignal>

namespace cellot::screen::detail {

// Installs the handlers for its lifetime (clearing the flag) and restores the previous ones.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGTERM, SIGUSR1, SIGINT};
  std::array<struct sigaction, 3> old_{};
};

// True once a preemption signal arrived during the current screen.
bool stop_requested();
// Stops the screen as SIGTERM would (e.g. when another job broke this job's store lease).
void request_stop();
// The store's lease was taken by another job (the heartbeat found another token): stops the
// screen as request_stop does, and from then on this job writes nothing more to the store
// (another writer owns it): no row, no state, no run record, no close (its flush would write).
void lose_lease();
// True once lose_lease was called during the current screen (on rank 0, which holds the lease).
bool lease_lost();

}  // namespace cellot::screen::detail
