#include "cellot/core/runtime.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot {

Runtime::Runtime(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw RuntimeError("MPI_Init_thread failed");
    owns_mpi_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  log::set_rank(rank_);
  detail::kokkos_initialize();
}

Runtime::~Runtime() {
  detail::kokkos_finalize();
  if (owns_mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

namespace {

struct ThreadChoice {
  int threads = 1;
  std::string source;  // why: the key, the variable, or cores / ranks on the node
};

int positive_env(const char* name) {
  const char* s = std::getenv(name);
  return s ? std::max(0, std::atoi(s)) : 0;
}

// Collective over `world` only in the last case (MPI_Comm_split_type), which every rank of a
// job reaches alike (same config, same environment).
ThreadChoice choose_threads(int requested, MPI_Comm world) {
  if (requested > 0) return {requested, "training.threads"};
  if (const int v = positive_env("SLURM_CPUS_PER_TASK")) return {v, "SLURM_CPUS_PER_TASK"};
  if (const int v = positive_env("OMP_NUM_THREADS")) return {v, "OMP_NUM_THREADS"};
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 1;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return {std::max(1, cores / std::max(1, local)),
          std::to_string(cores) + " cores / " + std::to_string(local) + " rank(s) on this node"};
}

}  // namespace

int resolve_threads(int requested, MPI_Comm world) { return choose_threads(requested, world).threads; }

int Runtime::set_threads(int requested) {
  CELLOT_CHECK(threads_ == 0, "set_threads called twice");
  const ThreadChoice choice = choose_threads(requested, MPI_COMM_WORLD);
  detail::torch_set_threads(choice.threads);
  threads_ = detail::torch_threads();  // what is in effect, not what was asked for
  log::debug("threads: " + std::to_string(choice.threads) + " per rank (" + choice.source + "); torch uses " +
             std::to_string(threads_));
  if (threads_ != choice.threads)
    log::warn("torch uses " + std::to_string(threads_) + " thread(s), not the " + std::to_string(choice.threads) +
              " chosen from " + choice.source);
  return threads_;
}

}  // namespace cellot
