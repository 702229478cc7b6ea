#include "detail/signals.hpp"

#include <atomic>

#include "cellot/screen/screen.hpp"

namespace cellot::screen {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
// Set from the lease's heartbeat thread (rank 0 only), read by the task threads and the end.
std::atomic<bool> g_lease_lost{false};

// Internal linkage (a C++ function in an anonymous namespace is a valid handler): no clash
// with other handlers of the program.
void screen_stop_handler(int sig) { g_stop_signal = sig; }

}  // namespace

int stop_signal() { return static_cast<int>(g_stop_signal); }

namespace detail {

SignalGuard::SignalGuard() {
  g_stop_signal = 0;
  g_lease_lost.store(false);
  struct sigaction sa {};
  sa.sa_handler = screen_stop_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
}

SignalGuard::~SignalGuard() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
}

bool stop_requested() { return g_stop_signal != 0; }

void request_stop() { g_stop_signal = SIGTERM; }

void lose_lease() {
  g_lease_lost.store(true);
  request_stop();
}

bool lease_lost() { return g_lease_lost.load(); }

}  // namespace detail
}  // namespace cellot::screen
