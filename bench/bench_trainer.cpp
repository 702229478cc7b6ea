// Speed of the CellOT trainer at the paper setting (d 48, batch 256, ICNN 4 x 64, 10 g steps per
// f step) on synthetic data shaped as in /work/shared/reference/ref_cellot.py (4000 cells,
// source N(0, 1), target 1.5 N(0, 1) + 0.5). Prints seconds per outer iteration of
// models::train_cellot (the real trainer, one rank), the GEMM work per iteration and the GFLOP/s
// achieved, and a measured single-thread sgemm peak (at::mm at the trainer's shapes and at 1024^3).
//
// usage: bench_trainer [--iters N] [--warmup N] [--threads T] [--dim D] [--repeat R] [--peak 0|1]
//                      [--tasks N --pack K] [--micro M]
// With --tasks N: N tasks (seeds 1..N, the same data) trained in packs of K
// (models::train_cellot_pack; K = 1: train_cellot one task after another); prints
// seconds_per_outer_iter_per_model = wall / (iters x N) and cpu_seconds_per_outer_iter_per_model
// (the process's CPU time, std::clock, over the same span: the measure to trust on a machine
// shared with other work), and skips the peak measurement. --micro M sets training.micro_batches
// (default 4).
// bench/trainer.sh runs it next to the reference and prints the ratio. Under mpiexec -n R the
// trainer runs data-parallel over the R ranks (rank 0 prints; GEMM figures are rank 0's share).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cellot/models/kinds.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/core/version.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/nn/threads.hpp"
#include "cellot/models/cellot/icnn.hpp"
#include "cellot/nn/blas.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Shape {
  std::int64_t m, n, k;
  bool trans_a;
};

// Best of `reps` timed batches of at::mm into a preallocated output.
double mm_gflops(const Shape& s, int inner) {
  at::Tensor a = s.trans_a ? at::randn({s.k, s.m}).t() : at::randn({s.m, s.k});
  at::Tensor b = at::randn({s.k, s.n});
  at::Tensor c = at::empty({s.m, s.n});
  for (int i = 0; i < std::max(1, inner / 10); ++i) at::mm_out(c, a, b);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now();
    for (int i = 0; i < inner; ++i) at::mm_out(c, a, b);
    const double dt = now() - t0;
    best = std::max(best, 2.0 * static_cast<double>(s.m * s.n * s.k) * inner / dt / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  cellot::Runtime rt(argc, argv);  // MPI (the trainer takes a communicator)
  cellot::metrics::KokkosScope kokkos;
  std::int64_t iters = 200, warmup = 20, dim = 48, tasks = 0, pack = 1, micro = 0;
  int threads = 1, repeat = 3;
  bool peak = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* v = argv[i + 1];
    if (key == "--iters") iters = std::atoll(v);
    else if (key == "--warmup") warmup = std::atoll(v);
    else if (key == "--threads") threads = std::atoi(v);
    else if (key == "--dim") dim = std::atoll(v);
    else if (key == "--repeat") repeat = std::atoi(v);
    else if (key == "--peak") peak = std::atoi(v) != 0;
    else if (key == "--tasks") tasks = std::atoll(v);
    else if (key == "--pack") pack = std::atoll(v);
    else if (key == "--micro") micro = std::atoll(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  cellot::nn::set_threads(rt, threads);

  cellot::Rng rng(0);
  cellot::models::TrainInput in;
  in.perturbation = "bench";
  in.source_train = cellot::Matrix(4000, dim);
  in.target_train = cellot::Matrix(4000, dim);
  for (auto& v : in.source_train.data) v = rng.normal();
  for (auto& v : in.target_train.data) v = 1.5 * rng.normal() + 0.5;

  const cellot::models::IcnnShape shape(dim, {64, 64, 64, 64});
  cellot::models::CellotHyper hp;  // paper setting: batch 256, inner 10, lr 1e-4, betas 0.5/0.9
  hp.eval_every = hp.checkpoint_every = 1 << 30;
  if (micro > 0) hp.micro_batches = micro;  // training.micro_batches (default 4)
  cellot::models::TrainContext ctx;
  ctx.seed = 1;
  ctx.comm = MPI_COMM_WORLD;  // under mpiexec -n R: the data-parallel trainer over R ranks
  const bool root = rt.world_rank() == 0;

  hp.iters = warmup;
  cellot::models::train_cellot(shape, hp, in, ctx);
  if (tasks > 0) {
    hp.iters = iters;
    const double t0 = now();
    const std::clock_t c0 = std::clock();
    for (std::int64_t first = 0; first < tasks; first += pack) {
      std::vector<cellot::models::CellotPackMember> members;
      for (std::int64_t s = first; s < std::min(tasks, first + pack); ++s) {
        cellot::models::TrainContext c = ctx;
        c.seed = static_cast<std::uint64_t>(s + 1);
        members.push_back({&shape, &hp, &in, c});
      }
      if (pack == 1)
        cellot::models::train_cellot(shape, hp, in, members.front().ctx);
      else
        cellot::models::train_cellot_pack(members);
    }
    const double spm = (now() - t0) / static_cast<double>(iters * tasks);
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC / static_cast<double>(iters * tasks);
    if (root) {
      std::printf("blas_kernels %s\n", cellot::blas_kernels().c_str());
      std::printf("tasks %lld\npack %lld\nseconds_per_outer_iter_per_model %.6f\ncpu_seconds_per_outer_iter_per_model %.6f\n",
                  static_cast<long long>(tasks), static_cast<long long>(pack), spm, cpu);
    }
    return 0;
  }
  hp.iters = iters;
  std::vector<double> times;
  std::uint64_t flop = 0;
  for (int r = 0; r < repeat; ++r) {
    cellot::nn::blas::reset_flops();
    const double t0 = now();
    cellot::models::train_cellot(shape, hp, in, ctx);
    times.push_back((now() - t0) / static_cast<double>(iters));
    flop = cellot::nn::blas::flops();
  }
  std::sort(times.begin(), times.end());
  const double spi = times[times.size() / 2];
  const double flop_per_iter = static_cast<double>(flop) / static_cast<double>(iters);

  if (!root) return 0;
  std::printf("blas_backend %s\n", cellot::nn::blas::backend());
  std::printf("blas_kernels %s\n", cellot::blas_kernels().c_str());
  std::printf("ranks %d\n", rt.world_size());
  std::printf("threads %d\n", threads);
  // Per rank: each rank multiplies its share of the batch.
  std::printf("gemm_gflop_per_outer_iter %.4f\n", flop_per_iter / 1e9);
  std::printf("achieved_gflops %.1f\n", flop_per_iter / spi / 1e9);
  if (!peak) {
    std::printf("seconds_per_outer_iter %.6f\n", spi);
    return 0;
  }
  const std::vector<Shape> shapes = {{256, 257, dim, false}, {256, 64, 64, false}, {257, dim, 256, true},
                                     {64, 64, 256, true},     {512, 257, dim, false}};
  double peak_small = 0;
  std::printf("sgemm (at::mm, %d thread%s):\n", threads, threads == 1 ? "" : "s");
  for (const auto& s : shapes) {
    const double gf = mm_gflops(s, 2000);
    peak_small = std::max(peak_small, gf);
    std::printf("  %4lld x %4lld x %4lld%s  %6.1f GFLOP/s\n", static_cast<long long>(s.m), static_cast<long long>(s.n),
                static_cast<long long>(s.k), s.trans_a ? " (A^T)" : "      ", gf);
  }
  const double peak_large = mm_gflops({1024, 1024, 1024, false}, 10);
  std::printf("  1024 x 1024 x 1024         %6.1f GFLOP/s\n", peak_large);

  std::printf("sgemm_peak_gflops_trainer_shapes %.1f\n", peak_small);
  std::printf("sgemm_peak_gflops_1024 %.1f\n", peak_large);
  std::printf("fraction_of_peak %.2f\n", flop_per_iter / spi / 1e9 / std::max(peak_small, peak_large));
  std::printf("seconds_per_outer_iter %.6f\n", spi);
  return 0;
}
