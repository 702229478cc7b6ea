#include "detail/distributed.hpp"

#include <climits>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/core/runtime.hpp"

namespace cellot::metrics::detail {

namespace {
void check_mpi(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw RuntimeError(std::string("MPI call failed in metrics: ") + what);
}
}  // namespace

// Bound (file): the ranks of a group compute each metric together with identical arguments, so every rank
// makes these collectives in the same order; an error on one rank aborts the job or, in a screen, reaches
// the task's outcome agreement (bounded by screen.wait_timeout).
// MPI_COMM_NULL or no MPI at all: one process (a command run outside a launcher).
int comm_rank(MPI_Comm comm) {
  int r = 0;
  if (comm == MPI_COMM_NULL || !mpi_active()) return r;
  check_mpi(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int comm_size(MPI_Comm comm) {
  int s = 1;
  if (comm == MPI_COMM_NULL || !mpi_active()) return s;
  check_mpi(MPI_Comm_size(comm, &s), "MPI_Comm_size");
  return s;
}

std::vector<std::int64_t> gather_counts(std::int64_t local_rows, MPI_Comm comm) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm_size(comm)));
  check_mpi(MPI_Allgather(&local_rows, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, comm), "MPI_Allgather");
  return counts;
}

Matrix allgather_rows(const Matrix& local, MPI_Comm comm) {
  const int size = comm_size(comm);
  if (size == 1) return local;
  // Ranks with no rows may not know the width; take the widest and require agreement.
  std::int64_t cols = local.rows > 0 ? local.cols : -1;
  std::int64_t max_cols = 0, min_cols = 0;
  std::int64_t probe = cols < 0 ? INT64_MAX : cols;
  check_mpi(MPI_Allreduce(&cols, &max_cols, 1, MPI_INT64_T, MPI_MAX, comm), "MPI_Allreduce");
  check_mpi(MPI_Allreduce(&probe, &min_cols, 1, MPI_INT64_T, MPI_MIN, comm), "MPI_Allreduce");
  if (max_cols >= 0 && min_cols != INT64_MAX && min_cols != max_cols)
    throw InputError("metrics", "features", std::to_string(local.cols), "ranks hold slices with different feature counts");
  const std::int64_t width = max_cols < 0 ? local.cols : max_cols;
  const auto counts = gather_counts(local.rows, comm);
  std::vector<int> elems(counts.size()), displs(counts.size());
  std::int64_t total = 0, offset = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const std::int64_t e = counts[r] * width;
    if (e > INT_MAX || offset > INT_MAX) throw RuntimeError("metrics: cell set too large for one MPI_Allgatherv");
    elems[r] = static_cast<int>(e);
    displs[r] = static_cast<int>(offset);
    offset += e;
    total += counts[r];
  }
  Matrix all(total, width);
  check_mpi(MPI_Allgatherv(local.data.data(), static_cast<int>(local.rows * width), MPI_DOUBLE, all.data.data(),
                           elems.data(), displs.data(), MPI_DOUBLE, comm),
            "MPI_Allgatherv");
  return all;
}

std::vector<std::int64_t> my_blocks(std::int64_t n_blocks, MPI_Comm comm) {
  const int rank = comm_rank(comm), size = comm_size(comm);
  std::vector<std::int64_t> out;
  for (std::int64_t b = rank; b < n_blocks; b += size) out.push_back(b);
  return out;
}

std::vector<double> combine_block_partials(std::vector<double> partials, std::int64_t n_out, MPI_Comm comm) {
  if (comm_size(comm) > 1) {
    CELLOT_CHECK(partials.size() < static_cast<std::size_t>(INT_MAX), "partials too large");
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, partials.data(), static_cast<int>(partials.size()), MPI_DOUBLE, MPI_SUM, comm),
              "MPI_Allreduce");
  }
  std::vector<double> total(static_cast<std::size_t>(n_out), 0.0);
  const std::size_t n_blocks = partials.size() / static_cast<std::size_t>(n_out);
  for (std::size_t b = 0; b < n_blocks; ++b)
    for (std::int64_t o = 0; o < n_out; ++o) total[static_cast<std::size_t>(o)] += partials[b * n_out + o];
  return total;
}

std::vector<double> ordered_sum(const std::vector<double>& local, MPI_Comm comm) {
  const int size = comm_size(comm);
  if (size == 1) return local;
  std::vector<double> all(local.size() * static_cast<std::size_t>(size));
  check_mpi(MPI_Allgather(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, all.data(),
                          static_cast<int>(local.size()), MPI_DOUBLE, comm),
            "MPI_Allgather");
  std::vector<double> out(local.size(), 0.0);
  for (int r = 0; r < size; ++r)
    for (std::size_t i = 0; i < local.size(); ++i) out[i] += all[static_cast<std::size_t>(r) * local.size() + i];
  return out;
}

double ordered_sum(double local, MPI_Comm comm) { return ordered_sum(std::vector<double>{local}, comm)[0]; }

}  // namespace cellot::metrics::detail

namespace cellot::metrics::detail {

Matrix arrange(const Matrix& m, MPI_Comm comm, Layout layout, const char* what) {
  if (layout == Layout::sliced) return allgather_rows(m, comm);
  if (comm_size(comm) > 1) {
    std::int64_t lo = m.rows, hi = m.rows;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT64_T, MPI_MIN, comm);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT64_T, MPI_MAX, comm);
    if (lo != hi)
      throw InputError("metrics", what, std::to_string(lo) + ".." + std::to_string(hi),
                       "replicated layout needs the same cells on every rank (pass Layout::sliced for slices)");
  }
  return m;
}

}  // namespace cellot::metrics::detail
