#include "cellot/core/runtime.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

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

namespace {

// Sanitizer build (CELLOT_SANITIZE): what MPI_Init allocates on this thread is not leak-checked.
// Open MPI's components (dlopened in MPI_Init) leak small one-time strings in their constructors
// and registration, and the components not selected are unloaded again before MPI_Init returns:
// their leaks have stacks in unloaded code, which no suppression can name. None of our code
// runs inside MPI_Init.
int init_mpi_unchecked_for_leaks(int& argc, char**& argv, int& provided) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_disable();
#endif
  const int rc = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
#if defined(__SANITIZE_ADDRESS__)
  __lsan_enable();
#endif
  return rc;
}

}  // namespace

Runtime::Runtime(int& argc, char**& argv, Mpi mpi) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && (mpi == Mpi::required || launched_by_mpi())) {
    int provided = 0;
    if (init_mpi_unchecked_for_leaks(argc, argv, provided) != MPI_SUCCESS)
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

namespace {

// Sanitizer build (CELLOT_SANITIZE): LeakSanitizer's check runs here, just before MPI_Finalize,
// instead of at exit. MPI_Finalize unloads Open MPI's and PMIx's plugins (dlclose) and abandons
// their one-time allocations; at exit those leaks have stacks through unloaded code, which can
// be neither symbolised nor suppressed. Here everything Open MPI holds is still reachable from
// its globals, so a leak reported is a real one. A leak ends the process with a report and a
// non-zero status; the check turns the at-exit one off. Leak checking stays on for all our
// code: only MPI_Finalize and the static destructors run after this point.
void leak_check_before_mpi_finalize() {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_do_leak_check();
#endif
}

}  // namespace

Runtime::~Runtime() {
  if (owns_mpi_ && mpi_active()) {
    leak_check_before_mpi_finalize();
    MPI_Finalize();
  }
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
