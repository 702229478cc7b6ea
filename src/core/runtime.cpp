#include "cellot/core/runtime.hpp"

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

int resolve_threads(int requested, MPI_Comm world) {
  if (requested > 0) return requested;
  if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int v = std::atoi(s);
    if (v > 0) return v;
  }
  if (const char* s = std::getenv("OMP_NUM_THREADS")) {
    const int v = std::atoi(s);
    if (v > 0) return v;
  }
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 1;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, (cores > 0 ? cores : 1) / std::max(1, local));
}

int Runtime::set_threads(int requested) {
  CELLOT_CHECK(threads_ == 0, "set_threads called twice");
  threads_ = resolve_threads(requested, MPI_COMM_WORLD);
  detail::torch_set_threads(threads_);
  return threads_;
}

}  // namespace cellot
