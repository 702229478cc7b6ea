// The writer lease of a results store (see screen/lease.hpp).
#include "cellot/screen/lease.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot::screen {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The lease file's fields ("key=value" separated by spaces); empty when unreadable.
std::map<std::string, std::string> read_lease(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string field;
  while (in >> field)
    if (const auto eq = field.find('='); eq != std::string::npos) out[field.substr(0, eq)] = field.substr(eq + 1);
  return out;
}

double age_seconds(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double mtime = static_cast<double>(st.st_mtim.tv_sec) + 1e-9 * static_cast<double>(st.st_mtim.tv_nsec);
  return std::chrono::duration<double>(now).count() - mtime;
}

std::string describe(const std::map<std::string, std::string>& h) {
  auto get = [&](const char* k) {
    const auto it = h.find(k);
    return it == h.end() ? std::string("?") : it->second;
  };
  std::string s = get("host") + ":" + get("pid");
  if (get("job") != "-") s += " (Slurm job " + get("job") + ", run " + get("restart") + ")";
  return s + ", started " + get("started");
}

// Why the holder `h` of a lease last touched `age` seconds ago no longer holds it ("" if it does).
std::string stale_reason(const std::map<std::string, std::string>& h, double age, double stale_after,
                         const std::string& host, const std::string& job, long restart) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", age);
  if (h.empty()) return "the lease file is unreadable";
  if (h.count("host") && h.at("host") == host && h.count("pid")) {
    // A holder in its last moments (an aborted job whose launcher returned first) gets 5 s.
    const auto pid = static_cast<pid_t>(std::strtol(h.at("pid").c_str(), nullptr, 10));
    for (int i = 0; pid > 0 && i <= 50; ++i) {
      if (kill(pid, 0) != 0 && errno == ESRCH) return "its process is gone";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (job != "-" && h.count("job") && h.at("job") == job && h.count("restart") &&
      std::strtol(h.at("restart").c_str(), nullptr, 10) < restart)
    return "it belongs to an earlier run of this Slurm job (requeued)";
  if (age > stale_after) return std::string("no heartbeat for ") + buf + " s";
  return "";
}

// The lease's content into `tmp` (then linked to its name). The directory was found writable
// (an unwritable one is refused earlier as bad input), so a failure here is the file system's:
// a full disk, a quota, an I/O error.
void write_lease_file(const std::string& tmp, const std::string& store, const std::string& text) {
  errno = 0;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  if (fd >= 0 && ::close(fd) != 0) ok = false;
  if (!ok)
    throw RuntimeError(tmp + ": cannot write the lease of the store " + store + ": " +
                       std::strerror(err ? err : errno) + " (nothing else was written)");
}

}  // namespace

std::string lease_path(const std::string& store) { return store + ".lease"; }

std::string lease_holder(const std::string& lease_file) { return describe(read_lease(lease_file)); }

bool lease_holds(const std::string& lease_file, const std::string& token) {
  const auto held = read_lease(lease_file);
  return held.count("token") && held.at("token") == token;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::unique_ptr<StoreLease> StoreLease::acquire(const std::string& store, double stale_after, bool force,
                                                void (*on_lost)()) {
  std::unique_ptr<StoreLease> lease(new StoreLease());
  lease->path_ = lease_path(store);
  const std::string host = hostname(), job = env_or("SLURM_JOB_ID", "-");
  const long restart = std::strtol(env_or("SLURM_RESTART_COUNT", "0").c_str(), nullptr, 10);
  {
    std::random_device rd;
    std::ostringstream t;
    t << std::hex << rd() << rd();
    lease->token_ = t.str();
  }
  const std::string tmp = lease->path_ + "." + host + "." + std::to_string(getpid()) + ".tmp";
  struct Cleanup {
    const std::string& p;
    ~Cleanup() { std::remove(p.c_str()); }
  } cleanup{tmp};
  write_lease_file(tmp, store, "host=" + host + " pid=" + std::to_string(getpid()) + " job=" + job +
                                   " restart=" + std::to_string(restart) + " started=" + log::timestamp_utc() +
                                   " token=" + lease->token_ + "\n");
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (link(tmp.c_str(), lease->path_.c_str()) == 0) break;
    if (errno != EEXIST)
      throw InputError(lease->path_, "lease", store, std::string("cannot take the store's lease: ") + std::strerror(errno));
    const auto holder = read_lease(lease->path_);
    const double age = age_seconds(lease->path_);
    if (age < 0) continue;  // released meanwhile: try again
    std::string why = force ? "--break-lease" : stale_reason(holder, age, stale_after, host, job, restart);
    if (why.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f", age);
      throw InputError(lease->path_, "lease", describe(holder),
                       std::string("another job is writing this store (heartbeat ") + buf +
                           " s ago); wait for it to end, or, if it is dead, rerun with --break-lease");
    }
    log::warn("screen: breaking the lease of " + describe(holder) + " on " + store + " (" + why + ")");
    if (std::rename(tmp.c_str(), lease->path_.c_str()) != 0)
      throw InputError(lease->path_, "lease", store, std::string("cannot take the store's lease: ") + std::strerror(errno));
    break;
  }
  // Two breakers may rename at once: the file names the one that holds the lease.
  const auto now_held = read_lease(lease->path_);
  if (!now_held.count("token") || now_held.at("token") != lease->token_)
    throw InputError(lease->path_, "lease", describe(now_held), "another job took this store's lease at the same time");
  lease->thread_ = std::thread([l = lease.get(), stale_after, on_lost] { l->heartbeat_loop(stale_after / 4, on_lost); });
  return lease;
}

void StoreLease::heartbeat_loop(double interval, void (*on_lost)()) {
  using clock = std::chrono::steady_clock;
  auto next = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(interval));
  while (!stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (clock::now() < next) continue;
    next += std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(interval));
    if (!still_held()) {
      if (on_lost) on_lost();
      return;
    }
    utimensat(AT_FDCWD, path_.c_str(), nullptr, 0);  // the heartbeat: mtime = now
  }
}

bool StoreLease::still_held() const {
  if (lease_holds(path_, token_)) return true;
  const auto held = read_lease(path_);
  log::error("screen: the lease " + path_ + " was taken by " + describe(held) +
             "; stopping: running tasks checkpoint, nothing more is written to the store");
  return false;
}

StoreLease::~StoreLease() {
  stop_.store(true);
  // Bound: the heartbeat thread checks stop_ every 100 ms and never blocks otherwise (a file touch).
  if (thread_.joinable()) thread_.join();
  if (lease_holds(path_, token_)) std::remove(path_.c_str());
}

}  // namespace cellot::screen
