#include "cellot/core/runtime.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

namespace cellot {

bool launched_by_mpi() {
  // Open MPI's mpiexec, PMIx (Open MPI 4/5, srun --mpi=pmix), PMI-1/2 (srun --mpi=pmi2, MPICH).
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

bool mpi_active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return false;
  MPI_Finalized(&finalized);
  return !finalized;
}

Runtime::Runtime(int& argc, char**& argv, Mpi mpi) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && (mpi == Mpi::required || launched_by_mpi())) {
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw RuntimeError("MPI_Init_thread failed");
    owns_mpi_ = true;
    initialized = 1;
  }
  mpi_ = initialized != 0;
  if (mpi_) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  log::set_rank(rank_);
}

Runtime::~Runtime() {
  if (owns_mpi_ && mpi_active()) MPI_Finalize();
}

namespace {

int positive_env(const char* name) {
  const char* s = std::getenv(name);
  return s ? std::max(0, std::atoi(s)) : 0;
}

}  // namespace

ThreadChoice choose_threads(int requested, MPI_Comm world) {
  if (requested > 0) return {requested, "training.threads"};
  if (const int v = positive_env("SLURM_CPUS_PER_TASK")) return {v, "SLURM_CPUS_PER_TASK"};
  if (const int v = positive_env("OMP_NUM_THREADS")) return {v, "OMP_NUM_THREADS"};
  int local = 1;
  if (mpi_active()) {
    MPI_Comm node;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return {std::max(1, cores / std::max(1, local)),
          std::to_string(cores) + " cores / " + std::to_string(local) + " rank(s) on this node"};
}

int resolve_threads(int requested, MPI_Comm world) { return choose_threads(requested, world).threads; }

}  // namespace cellot
