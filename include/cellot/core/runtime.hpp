#pragma once
// The process's MPI lifetime in one RAII guard. MPI is initialised when the command needs it
// (Mpi::required) or when the process was started by a launcher (mpiexec, srun): a command that
// runs on one process does not pay for MPI's singleton start-up. Kokkos (metrics::KokkosScope)
// and the rank's threads (nn::set_threads) are set up by the layers that own them.
#include <mpi.h>

#include <string>

namespace cellot {

enum class Mpi { required, if_launched };

// True when an MPI launcher started this process (its rank variables are in the environment).
bool launched_by_mpi();
// True between MPI_Init and MPI_Finalize. Code that may run without MPI asks this before a call.
bool mpi_active();

class Runtime {
 public:
  Runtime(int& argc, char**& argv, Mpi mpi = Mpi::required);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int world_rank() const { return rank_; }
  int world_size() const { return size_; }
  bool has_mpi() const { return mpi_; }

  // Threads working for this rank, as nn::set_threads put them in effect (0 before).
  int threads() const { return threads_; }
  void record_threads(int n) { threads_ = n; }

 private:
  int rank_ = 0, size_ = 1, threads_ = 0;
  bool mpi_ = false, owns_mpi_ = false;
};

struct ThreadChoice {
  int threads = 1;
  std::string source;  // why: the key, the variable, or cores / ranks on the node
};

// Threads per rank: `requested` if > 0, else SLURM_CPUS_PER_TASK, else OMP_NUM_THREADS, else
// the node's cores divided by the ranks on this node (no oversubscription under mpiexec).
// Collective over `world` in the last case when MPI is active.
ThreadChoice choose_threads(int requested, MPI_Comm world);
int resolve_threads(int requested, MPI_Comm world);

}  // namespace cellot
