#include "cellot/core/log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace cellot::log {

namespace {
Level g_level = Level::info;
int g_rank = 0;
std::mutex g_mutex;

void emit(const char* tag, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[%s r%d]%s %s\n", timestamp_utc().c_str(), g_rank, tag, message.c_str());
  std::fflush(stderr);
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void set_rank(int rank) { g_rank = rank; }
int rank() { return g_rank; }

void info(const std::string& message) {
  if (g_level >= Level::info) emit("", message);
}
void root_info(const std::string& message) {
  if (g_rank == 0) info(message);
}
void debug(const std::string& message) {
  if (g_level >= Level::debug) emit(" debug:", message);
}
void warn(const std::string& message) { emit(" warning:", message); }
void error(const std::string& message) { emit(" error:", message); }

std::string timestamp_utc() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const int s = static_cast<int>(seconds);
    std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  } else {
    const int m = static_cast<int>(seconds / 60);
    std::snprintf(buf, sizeof buf, "%dh%02dm", m / 60, m % 60);
  }
  return buf;
}

Progress::Progress(std::string label, std::int64_t total, bool enabled, double min_interval)
    : label_(std::move(label)), total_(total), enabled_(enabled), min_interval_(min_interval) {
  // CELLOT_PROGRESS_KEEPALIVE=s: repeat the line after s seconds without one (default 60).
  if (const char* env = std::getenv("CELLOT_PROGRESS_KEEPALIVE")) {
    char* end = nullptr;
    const double s = std::strtod(env, &end);
    if (end != env && *end == '\0' && s > 0) keepalive_ = s;
  }
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::int64_t done, const std::string& extra) { update(done, -1.0, extra); }

void Progress::update(std::int64_t done, double work_fraction, const std::string& extra) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (since_last < min_interval_ && done < total_) return;
  print(done, work_fraction, extra);
}

void Progress::keepalive(const std::string& extra) { keepalive(last_fraction_, extra); }

void Progress::keepalive(double work_fraction, const std::string& extra) {
  if (!enabled_) return;
  const double since_last = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count();
  if (since_last >= keepalive_) print(last_done_, work_fraction, extra.empty() ? "still running" : extra);
}

void Progress::print(std::int64_t done, double fraction, const std::string& extra) {
  last_ = std::chrono::steady_clock::now();
  last_done_ = done;
  last_fraction_ = fraction;
  const double el = elapsed();
  const double rate = el > 0 ? static_cast<double>(done) / el : 0.0;
  double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
  if (fraction > 0) eta = el * (1.0 - std::min(1.0, fraction)) / fraction;
  if (fraction == 0) eta = NAN;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld (%.1f%%) %.3g/s elapsed %s ETA %s", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_),
                total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0, rate,
                format_duration(el).c_str(), format_duration(eta).c_str());
  std::string line = buf;
  if (!extra.empty()) line += " | " + extra;
  if (g_level >= Level::info) emit("", line);
}

void Progress::finish(const std::string& extra) {
  if (!enabled_) return;
  const double el = elapsed();
  std::string line = label_ + " done in " + format_duration(el);
  if (!extra.empty()) line += " | " + extra;
  if (g_level >= Level::info) emit("", line);
}

}  // namespace cellot::log
