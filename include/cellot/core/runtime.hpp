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

  // Threads per rank: `requested` if > 0, else SLURM_CPUS_PER_TASK, else the node's cores
  // divided by the ranks on this node (no oversubscription under mpiexec). Returns the value set.
  int set_threads(int requested);
  int threads() const { return threads_; }

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
}  // namespace detail

}  // namespace cellot
