#pragma once
// Threads of a rank, used only where they cannot change a result: each item of a fixed list
// (micro-batches of a training step, chunks of a prediction, elements of an element-wise sum)
// is computed by one thread with single-threaded arithmetic, and items are combined afterwards
// in a fixed order. So the number of threads changes the speed, never the bits.
//
// BLAS is pinned to one thread for the same reason: OpenBLAS splits a product across its own
// threads (and picks its kernels) by thread count, so multithreaded BLAS would make a result
// depend on the threads of the rank.
#include <cstdint>
#include <functional>
#include <string>

#include "cellot/core/runtime.hpp"

namespace cellot::nn {

// One-time setting (cellot::Runtime calls it before any torch work; tests may call it again to
// vary the count): BLAS and torch's intra-op pool single-threaded, `n` threads (the caller and
// n - 1 pool threads) for parallel_items.
void set_threads(int n);
int workers();  // threads parallel_items may use

// The rank's threads for a command, once, before any torch work: cellot::choose_threads
// (training.threads, SLURM_CPUS_PER_TASK, OMP_NUM_THREADS or cores / ranks on the node), torch's
// inter-op pool at one thread; records the count in effect in `rt` and returns it.
int set_threads(Runtime& rt, int requested);

std::string torch_version();  // the libtorch this binary was built against

// fn(item, worker) for every item in [0, n); worker < workers() identifies the calling thread
// (for per-thread workspaces). Items are handed out in contiguous runs; which thread runs which
// item must not (and does not) matter to the caller's results. The first exception thrown by fn
// is rethrown after all threads finished.
void parallel_items(std::int64_t n, const std::function<void(std::int64_t item, int worker)>& fn);
// The same without the worker index (the data layer's ParallelFor, data/pca.hpp).
void parallel_for(std::int64_t n, const std::function<void(std::int64_t item)>& fn);

}  // namespace cellot::nn
