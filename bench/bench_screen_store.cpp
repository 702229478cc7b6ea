// Store row writes: every rank writes rows of its own tasks independently into one preallocated
// store (as group roots do in a screen), timed per row. Rows are CellOT-sized: metrics, a curve
// and --params float32 parameters.
//   mpiexec -n 4 build/bin/bench_screen_store [--tasks 2000] [--params 12000] [--path rows.h5]
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cellot/models/kinds.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/io/store.hpp"

using namespace cellot;

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  Runtime rt(argc, argv);
  metrics::KokkosScope kokkos;
  std::int64_t tasks = 2000, params = 12000;
  std::string path = "bench_screen_store.h5";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--tasks")
      tasks = std::atoll(argv[i + 1]);
    else if (k == "--params")
      params = std::atoll(argv[i + 1]);
    else if (k == "--path")
      path = argv[i + 1];
  }
  io::StoreSpec spec;
  for (std::int64_t t = 0; t < tasks; ++t) {
    io::PlanRow r;
    r.key = "drug_" + std::to_string(t / 4) + "|cellot|fold0|seed" + std::to_string(t % 4);
    r.perturbation = "drug_" + std::to_string(t / 4);
    r.model = "cellot";
    spec.tasks.push_back(r);
  }
  spec.plan_hash = "0000000000000000";
  spec.perturbations = {"drug"};
  spec.models = {"cellot"};
  spec.metric_names = {"mmd", "w2_eps", "l2_ds", "r_means", "energy", "knn_mix@50", "uvp"};
  spec.features = std::vector<std::string>(16, "f");
  io::ParamLayout p;
  p.model = "cellot";
  p.names = {"all"};
  p.shapes = {{params}};
  p.max_size = params;
  spec.params = {p};

  const auto t0 = std::chrono::steady_clock::now();
  io::Store store = io::Store::create(path, spec, MPI_COMM_WORLD);
  const double create = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io::TaskRow row;
  row.state = io::TaskState::done;
  row.value.assign(spec.metric_names.size(), 0.5);
  row.sd.assign(spec.metric_names.size(), 0.0);
  row.iterations.assign(spec.metric_names.size(), 10);
  row.curve_columns = {"step", "g_loss", "f_loss", "w2", "val_mmd"};
  for (int i = 0; i < 30; ++i) row.curve_rows.push_back({double(i), 1, 2, 3, 4});
  row.params.assign(static_cast<std::size_t>(params), 0.25f);
  row.params_count = params;
  row.host = "bench";
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t1 = std::chrono::steady_clock::now();
  std::int64_t mine = 0;
  for (std::int64_t t = rt.world_rank(); t < tasks; t += rt.world_size(), ++mine) store.write_row(t, row);
  const double local = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  double worst = 0;
  MPI_Reduce(&local, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  store.close();
  if (rt.world_rank() == 0) {
    std::printf("store create (collective, %lld tasks x %lld params): %.3f s\n", static_cast<long long>(tasks),
                static_cast<long long>(params), create);
    std::printf("rows: %lld per rank, slowest rank %.3f s = %.3f ms per row (%.1f MB/s per rank)\n",
                static_cast<long long>(mine), worst, 1000.0 * worst / static_cast<double>(mine),
                static_cast<double>(mine) * static_cast<double>(params) * 4.0 / 1e6 / worst);
    unlink(path.c_str());
  }
  return 0;
}
