#include "cellot/screen/groups.hpp"

#include "cellot/core/error.hpp"

namespace cellot::screen {

Groups::Groups(MPI_Comm world, int ranks_per_task, const std::string& where) {
  MPI_Comm_rank(world, &world_rank_);
  MPI_Comm_size(world, &world_size_);
  if (ranks_per_task < 1 || world_size_ % ranks_per_task != 0)
    throw InputError(where, "screen.ranks_per_task", std::to_string(ranks_per_task),
                     "the world size (" + std::to_string(world_size_) + " ranks) must be a multiple of it");
  // Separate communicators keep scheduler messages from ever matching a receive posted by the
  // store, the metrics or the trainer (which use their own communicators).
  MPI_Comm_dup(world, &world_);
  MPI_Comm_dup(world, &control_);
  group_size_ = ranks_per_task;
  n_groups_ = world_size_ / ranks_per_task;
  group_index_ = world_rank_ / ranks_per_task;
  MPI_Comm_split(world, group_index_, world_rank_, &group_);
  MPI_Comm_rank(group_, &group_rank_);
  MPI_Comm_dup(group_, &outcome_);
}

Groups::~Groups() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  for (MPI_Comm* c : {&outcome_, &group_, &control_, &world_})
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
}

}  // namespace cellot::screen
