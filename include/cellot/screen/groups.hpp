#pragma once
// The world split into G rank groups of R ranks (screen.ranks_per_task): a group trains one task
// at a time, data-parallel over its ranks. RAII over the communicators it creates.
#include <mpi.h>

#include <string>

namespace cellot::screen {

class Groups {
 public:
  // Collective over `world`. InputError (naming `where`, screen.ranks_per_task and the value)
  // when the world size is not a multiple of ranks_per_task.
  Groups(MPI_Comm world, int ranks_per_task, const std::string& where);
  ~Groups();
  Groups(const Groups&) = delete;
  Groups& operator=(const Groups&) = delete;

  MPI_Comm world() const { return world_; }      // a dup of the world (store, provenance)
  MPI_Comm control() const { return control_; }  // a dup of the world for scheduler messages
  MPI_Comm group() const { return group_; }      // this rank's group
  // A dup of the group for agreeing on a task's outcome: a rank that failed alone cannot match a
  // collective its peers are still in on group() (trainer, metrics).
  MPI_Comm outcome() const { return outcome_; }
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }
  int group_index() const { return group_index_; }
  int n_groups() const { return n_groups_; }
  int group_rank() const { return group_rank_; }
  int group_size() const { return group_size_; }
  bool is_group_root() const { return group_rank_ == 0; }
  // World rank of the root of group g (groups are contiguous blocks of world ranks).
  int root_of(int g) const { return g * group_size_; }

 private:
  MPI_Comm world_ = MPI_COMM_NULL, control_ = MPI_COMM_NULL, group_ = MPI_COMM_NULL, outcome_ = MPI_COMM_NULL;
  int world_rank_ = 0, world_size_ = 1, group_index_ = 0, n_groups_ = 1, group_rank_ = 0, group_size_ = 1;
};

}  // namespace cellot::screen
