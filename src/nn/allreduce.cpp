#include "cellot/nn/allreduce.hpp"

#include <climits>

#include "cellot/core/error.hpp"

namespace cellot::nn {

std::pair<std::int64_t, std::int64_t> share(std::int64_t global, int rank, int size) {
  CELLOT_CHECK(size > 0 && rank >= 0 && rank < size, "bad rank/size");
  const std::int64_t base = global / size, extra = global % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

namespace {
int comm_size(MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  return size;
}
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw RuntimeError(std::string(what) + " failed");
}
}  // namespace

void allreduce_sum(float* buffer, std::int64_t n, MPI_Comm comm) {
  if (comm_size(comm) == 1) return;
  CELLOT_CHECK(n <= INT_MAX, "allreduce buffer too large");
  // Bound (file): the ranks of comm call these helpers in lockstep (the trainers' steps; see the bound at each
  // caller's loop); an error on one rank aborts the job (task_runner.cpp, cli/commands.cpp fail()).
  check(MPI_Allreduce(MPI_IN_PLACE, buffer, static_cast<int>(n), MPI_FLOAT, MPI_SUM, comm), "MPI_Allreduce");
}

void allreduce_sum(double* buffer, std::int64_t n, MPI_Comm comm) {
  if (comm_size(comm) == 1) return;
  CELLOT_CHECK(n <= INT_MAX, "allreduce buffer too large");
  check(MPI_Allreduce(MPI_IN_PLACE, buffer, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce");
}

void broadcast(float* buffer, std::int64_t n, MPI_Comm comm, int root) {
  if (comm_size(comm) == 1) return;
  CELLOT_CHECK(n <= INT_MAX, "broadcast buffer too large");
  check(MPI_Bcast(buffer, static_cast<int>(n), MPI_FLOAT, root, comm), "MPI_Bcast");
}

}  // namespace cellot::nn
