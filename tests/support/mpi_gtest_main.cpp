// One MPI-aware GoogleTest main for every test binary: MPI (through cellot::Runtime, so Kokkos
// is initialised too), printers silenced on non-root ranks, and the result combined across ranks
// (a failure on any rank fails the run on every rank).
#include <gtest/gtest.h>
#include <mpi.h>

#include "cellot/core/runtime.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cellot::Runtime rt(argc, argv);
  rt.set_threads(1);
  if (rt.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return global;
}
