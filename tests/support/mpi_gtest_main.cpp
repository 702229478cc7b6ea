// One MPI-aware GoogleTest main for every test binary: MPI (through cellot::Runtime, so Kokkos
// is initialised too), the result combined across ranks (a failure on any rank fails the run on
// every rank). Rank 0 keeps GoogleTest's printer; the other ranks print only their failures,
// each line prefixed with the rank, so a failure on rank 1 alone is visible, not just an exit
// code.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "cellot/models/kinds.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/nn/threads.hpp"

namespace {

class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : prefix_("[rank " + std::to_string(rank) + "] ") {}

  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::ostringstream os;
    os << (r.file_name() ? r.file_name() : "unknown file") << ":" << r.line_number() << ": Failure\n"
       << r.summary();
    print(os.str());
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result() && info.result()->Failed())
      print(std::string("[  FAILED  ] ") + info.test_suite_name() + "." + info.name());
  }

 private:
  void print(const std::string& text) const {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out += prefix_ + line + "\n";
    std::fputs(out.c_str(), stdout);  // one write per report, so ranks' lines do not interleave
    std::fflush(stdout);
  }

  std::string prefix_;
};

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  ::testing::InitGoogleTest(&argc, argv);
  cellot::Runtime rt(argc, argv);
  cellot::metrics::KokkosScope kokkos;
  cellot::nn::set_threads(rt, 1);
  if (rt.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rt.world_rank()));
  }
  const int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rt.world_rank() == 0 && global != 0 && local == 0)
    std::printf("[  FAILED  ] on another rank: see the [rank N] lines above\n");
  return global;
}
