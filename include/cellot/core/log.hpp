#pragma once
// Logging with timestamps and rank, and rank-0 progress lines with rate and ETA.
#include <chrono>
#include <cstdint>
#include <string>

namespace cellot::log {

enum class Level { quiet = 0, info = 1, debug = 2 };

void set_level(Level level);
Level level();
void set_rank(int rank);  // world rank shown in every line
int rank();

// "[2026-11-23T21:04:05.123Z r0] message" on stderr. info() prints on every rank (callers decide);
// root_info() only on world rank 0. warn() and error() ignore the quiet level.
void info(const std::string& message);
void root_info(const std::string& message);
void debug(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

std::string timestamp_utc();  // ISO 8601, milliseconds
std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"

// Throttled progress reporter: prints at most every `min_interval` seconds (and at the end) on
// the calling rank when `enabled`; callers pass enabled = (rank == 0 && !quiet).
class Progress {
 public:
  Progress(std::string label, std::int64_t total, bool enabled, double min_interval = 2.0);
  // Reports that `done` of `total` units are finished; `extra` is appended (losses, failures).
  void update(std::int64_t done, const std::string& extra = "");
  // Same, with the ETA from the fraction of the total work done (in [0, 1]) instead of the
  // count: for units of very unequal cost handed out largest first, the count-based ETA is far
  // too pessimistic early on.
  void update(std::int64_t done, double work_fraction, const std::string& extra);
  // Prints the current line again if nothing was printed for `keepalive` seconds (a long task
  // in flight), so a log never goes silent for an hour.
  void keepalive(const std::string& extra = "");
  // The same with a fresh fraction of the work done (tasks still running count their progress).
  void keepalive(double work_fraction, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double elapsed() const;

 private:
  std::string label_;
  std::int64_t total_;
  bool enabled_;
  double min_interval_;
  std::chrono::steady_clock::time_point start_, last_;
  std::int64_t last_done_ = 0;
  double last_fraction_ = -1;  // < 0: count-based ETA
  double keepalive_ = 60;
  void print(std::int64_t done, double fraction, const std::string& extra);
};

}  // namespace cellot::log
