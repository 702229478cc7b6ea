// The GoogleTest main of the torch-free tests (cellot_add_test ... LAYERS): it links the metrics
// layer (Kokkos) and what that uses, never nn/ or models/, so these tests build without compiling
// a torch-using source (the sanitizer stage, tests/sanitize/README.md). The model kinds, which
// configs name, come from the model registry's source (src/models/kinds.cpp, plain data with no
// dependency), compiled into this main rather than linked from the models layer.
#include "cellot/core/model_kinds.hpp"
#include "cellot/models/kinds.hpp"
#include "mpi_gtest_run.hpp"

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  return cellot::test::run_mpi_gtest(argc, argv, nullptr);
}
