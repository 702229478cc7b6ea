// The GoogleTest main of the tests that use torch (nn, models, the screen run): every layer is
// linked, and the rank's worker threads are set to 1 (nn::set_threads pins BLAS and torch's own
// operators too). The torch-free tests use mpi_gtest_main_torch_free.cpp.
#include "cellot/core/model_kinds.hpp"
#include "cellot/models/kinds.hpp"
#include "cellot/nn/threads.hpp"
#include "mpi_gtest_run.hpp"

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  return cellot::test::run_mpi_gtest(argc, argv, [](cellot::Runtime& rt) { cellot::nn::set_threads(rt, 1); });
}
