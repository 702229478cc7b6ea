#pragma once
// Initialisation order in one RAII guard: MPI (FUNNELED) -> Kokkos -> torch threads; reverse at
// exit. Torch threads are set once, before any torch work, by set_threads().
#include <mpi.h>

#include <string>

namespace cellot {

class Runtime {
 public:
  Runtime(int& argc, char**& argv);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int world_rank() const { return rank_; }
  int world_size() const { return size_; }

  // Threads per rank: `requested` if > 0, else SLURM_CPUS_PER_TASK, else OMP_NUM_THREADS, else
  // the node's cores divided by the ranks on this node (no oversubscription under mpiexec).
  // Returns the count torch reports in effect afterwards (logged at debug level with the
  // source of the choice; a warning when torch did not take the value).
  int set_threads(int requested);
  int threads() const { return threads_; }  // torch's thread count in effect (0 before set_threads)

 private:
  int rank_ = 0, size_ = 1, threads_ = 0;
  bool owns_mpi_ = false;
};

// Threads per rank as set_threads() would choose them, without setting anything.
int resolve_threads(int requested, MPI_Comm world);

// Torch and Kokkos live in separate translation units; these are their one-time hooks.
namespace detail {
void kokkos_initialize();
void kokkos_finalize();
void torch_set_threads(int n);
int torch_threads();  // threads working for this rank now (nn::workers(); torch operators use one)
}  // namespace detail

}  // namespace cellot
