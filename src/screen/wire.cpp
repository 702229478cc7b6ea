#include "detail/wire.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"

namespace cellot::screen::detail {

Wire& Wire::operator()(std::string& s) {
  auto n = static_cast<std::int64_t>(s.size());
  (*this)(n);
  if (writing_) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  } else {
    need(static_cast<std::size_t>(n));
    s.assign(bytes_.data() + pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
  }
  return *this;
}

void Wire::need(std::size_t n) const {
  if (pos_ + n > bytes_.size()) throw InternalError(__FILE__, __LINE__, "wire: read past the end of the message");
}

void Wire::broadcast(MPI_Comm comm, int root) {
  auto n = static_cast<std::int64_t>(bytes_.size());
  // Bound: every rank broadcasts the plan at the same point of the screen's set-up; the root's errors before
  // it are broadcast as a flag first (screen.cpp), and any error aborts the job (cli/commands.cpp fail()).
  MPI_Bcast(&n, 1, MPI_INT64_T, root, comm);
  bytes_.resize(static_cast<std::size_t>(n));
  // Chunks below 2^31 bytes (MPI counts are int).
  constexpr std::int64_t kChunk = 1 << 30;
  for (std::int64_t off = 0; off < n; off += kChunk)
    MPI_Bcast(bytes_.data() + off, static_cast<int>(std::min(kChunk, n - off)), MPI_CHAR, root, comm);
  writing_ = false;
  pos_ = 0;
}

void transfer(Wire& w, Task& t) {
  w(t.index)(t.key)(t.perturbation)(t.model)(t.fold)(t.seed)(t.task_seed)(t.cost)(t.n_control)(t.n_treated)(
      t.prediction_capacity)(t.n_treated_test);
}

void transfer(Wire& w, Plan& p) {
  w(p.perturbations)(p.models)(p.features)(p.config_ini)(p.plan_text)(p.hash)(p.folds)(p.seeds)(p.tasks)(
      p.fingerprint_hash);
}

void transfer(Wire& w, io::AnnData::Array& a) { w(a.shape)(a.data); }

void broadcast_plan(Plan& plan, MPI_Comm comm, int root) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  Wire w(rank == root);
  if (rank == root) transfer(w, plan);
  w.broadcast(comm, root);
  if (rank != root) {
    plan = Plan();
    transfer(w, plan);
  }
}

void broadcast_uns(io::AnnData& uns, MPI_Comm comm, int root) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  Wire w(rank == root);
  auto fields = [&] { w(uns.uns_strings)(uns.uns_numbers)(uns.uns_string_arrays)(uns.uns_arrays); };
  if (rank == root) fields();
  w.broadcast(comm, root);
  if (rank != root) fields();
}

}  // namespace cellot::screen::detail
