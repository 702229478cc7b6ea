#pragma once
// The body of the MPI-aware GoogleTest mains (mpi_gtest_main.cpp links every layer and torch;
// mpi_gtest_main_torch_free.cpp links only the torch-free layers): MPI (through cellot::Runtime)
// and Kokkos are started, `setup` runs, and the result is combined across ranks (a failure on any
// rank fails the run on every rank). Rank 0 keeps GoogleTest's printer; the other ranks print only
// their failures, each line prefixed with the rank, so a failure on rank 1 alone is visible, not
// just an exit code. The caller registers the model kinds before (configs name models).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "cellot/core/runtime.hpp"
#include "cellot/metrics/kokkos_scope.hpp"

namespace cellot::test {

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

inline int run_mpi_gtest(int argc, char** argv, void (*setup)(cellot::Runtime&)) {
  ::testing::InitGoogleTest(&argc, argv);
  cellot::Runtime rt(argc, argv);
  cellot::metrics::KokkosScope kokkos;
  if (setup) setup(rt);
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

}  // namespace cellot::test
