#pragma once
// Wall and CPU time stamps for the screen's phase accounting. Where ranks share cores, wall
// time spent in a phase includes time the rank was descheduled (Open MPI yields the processor
// in its polling loops when oversubscribed); the process CPU time says what the phase really
// consumed. Both are reported.
#include <time.h>

#include <chrono>

namespace cellot::screen {

struct Stamp {
  double wall = 0, cpu = 0;
  static Stamp now() {
    Stamp s;
    s.wall = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    s.cpu = static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    return s;
  }
  Stamp operator-(const Stamp& o) const { return {wall - o.wall, cpu - o.cpu}; }
  Stamp& operator+=(const Stamp& o) {
    wall += o.wall;
    cpu += o.cpu;
    return *this;
  }
};

}  // namespace cellot::screen
