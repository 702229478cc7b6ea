// Threads of a rank (see nn/threads.hpp): an OpenMP team per parallel_items call; BLAS and
// torch's operators pinned to one thread.
//
// OpenMP rather than std::thread: the OpenMP build of OpenBLAS (Debian's libopenblas0-openmp)
// gives each OpenMP thread its own buffers, but two plain threads calling it at once share one
// and corrupt each other's products (measured: run-to-run differences with a std::thread pool).
// On an oversubscribed node libgomp's idle threads spin between steps; OMP_WAIT_POLICY=passive
// avoids that (docs/BENCHMARKS.md).
#include "cellot/nn/threads.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <omp.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/version.hpp"

namespace cellot::nn {

namespace {

// OpenBLAS's own setter, looked up like sgemm_ (nn/blas.cpp): no link dependency, and a BLAS
// without it (reference BLAS) is single-threaded anyway.
void pin_blas_to_one_thread() {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
}

int n_threads = 1;
thread_local int this_worker = -1;  // >= 0 inside parallel_items

}  // namespace

void set_threads(int n) {
  CELLOT_CHECK(n > 0, "thread count must be positive");
  // The OpenMP build of OpenBLAS also sets OpenMP's thread count here; it then stays
  // single-threaded (it only follows OpenMP's count while it is multithreaded). Our teams name
  // their size explicitly.
  pin_blas_to_one_thread();
  // Torch's own operators (the autoencoders' ATen calls) run single-threaded too: ATen splits
  // large reductions across its threads, which would make their bits depend on the count.
  at::set_num_threads(1);
  n_threads = n;
}

int workers() { return n_threads; }

int set_threads(Runtime& rt, int requested) {
  CELLOT_CHECK(rt.threads() == 0, "set_threads called twice");
  const ThreadChoice choice = choose_threads(requested, MPI_COMM_WORLD);
  set_threads(choice.threads);
  at::set_num_interop_threads(1);
  rt.record_threads(workers());  // what is in effect, not what was asked for
  // "torch uses": the threads that train (the worker team; torch's own operators run on one).
  log::debug("threads: " + std::to_string(choice.threads) + " per rank (" + choice.source + "); torch uses " +
             std::to_string(rt.threads()));
  log::debug("blas: " + blas_kernels());
  if (rt.threads() != choice.threads)
    log::warn("torch uses " + std::to_string(rt.threads()) + " thread(s), not the " + std::to_string(choice.threads) +
              " chosen from " + choice.source);
  return rt.threads();
}

std::string torch_version() { return TORCH_VERSION; }

void parallel_for(std::int64_t n, const std::function<void(std::int64_t)>& fn) {
  parallel_items(n, [&](std::int64_t item, int) { fn(item); });
}

void parallel_items(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) {
  if (n <= 0) return;
  if (n == 1 || n_threads == 1 || this_worker >= 0) {
    // Serial, also when called from inside a team (its thread keeps its workspace index).
    const int worker = this_worker >= 0 ? this_worker : 0;
    for (std::int64_t i = 0; i < n; ++i) fn(i, worker);
    return;
  }
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const int team = static_cast<int>(std::min<std::int64_t>(n_threads, n));
#pragma omp parallel num_threads(team)
  {
    const int worker = omp_get_thread_num();
    this_worker = worker;
    // Items are claimed one at a time: a thread that starts late takes fewer.
    for (std::int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    this_worker = -1;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace cellot::nn
