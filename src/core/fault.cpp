#include "cellot/core/fault.hpp"

#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <vector>

namespace cellot::fault {

namespace {

struct Entry {
  std::string name;
  int rank = -1;  // -1: every rank
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = [] {
    std::vector<Entry> out;
    const char* env = std::getenv("CELLOT_FAULT");
    if (!env) return out;
    std::istringstream in(env);
    for (std::string item; std::getline(in, item, ',');) {
      if (item.empty()) continue;
      Entry e;
      const auto at = item.find('@');
      e.name = item.substr(0, at);
      if (at != std::string::npos) e.rank = std::atoi(item.c_str() + at + 1);
      out.push_back(e);
    }
    return out;
  }();
  return list;
}

int world_rank() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  int rank = 0;
  if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

bool armed(const std::string& name) {
  for (const auto& e : entries())
    if (e.name == name && (e.rank < 0 || e.rank == world_rank())) return true;
  return false;
}

void kill_point(const char* phase) {
  if (entries().empty()) return;
  if (armed(std::string("kill:") + phase)) ::kill(::getpid(), SIGKILL);
}

}  // namespace cellot::fault
