// Threads of a rank (see nn/threads.hpp): a small pool of our own, BLAS pinned to one thread.
//
// Not OpenMP: libgomp's idle threads spin-wait (OMP_WAIT_POLICY is read once at load), and a
// step of a few hundred microseconds on a shared or oversubscribed node (2 ranks x 2 threads on
// 2 cores, other jobs) then loses whole time slices to spinning threads: 20x slower measured.
// Pool threads spin briefly, yielding, then sleep on a condition variable.
#include "cellot/nn/threads.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cellot/core/error.hpp"

namespace cellot::nn {

namespace {

// OpenBLAS's own setter, looked up like sgemm_ (nn/blas.cpp): no link dependency, and a BLAS
// without it (reference BLAS) is single-threaded anyway.
void pin_blas_to_one_thread() {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
}

thread_local int this_worker = -1;  // >= 0 inside parallel_items

// One parallel_items call. It lives on the caller's stack; the caller returns only when every
// item is done and no pool thread holds the job any more.
struct Job {
  const std::function<void(std::int64_t, int)>* fn = nullptr;
  std::int64_t n = 0;
  std::atomic<std::int64_t> next{0}, done{0};
  std::atomic<int> holders{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  void work(int worker) {
    this_worker = worker;
    for (std::int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        (*fn)(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1, std::memory_order_acq_rel);
    }
    this_worker = -1;
  }
};

class Pool {
 public:
  explicit Pool(int n) {
    for (int w = 1; w < n; ++w) threads_.emplace_back([this, w] { run(w); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  void run_job(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) {
    Job job;
    job.fn = &fn;
    job.n = n;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    job.work(0);
    // The caller waits for the items other threads took (short: it just finished its own).
    while (job.done.load(std::memory_order_acquire) < n) std::this_thread::yield();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = nullptr;
    }
    while (job.holders.load(std::memory_order_acquire) > 0) std::this_thread::yield();
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  void run(int worker) {
    std::uint64_t seen = 0;
    for (;;) {
      // Steps come back to back: spin (yielding) for a moment before sleeping.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load() == seen && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (quit_) return;
        job = job_;
        if (job) job->holders.fetch_add(1);
      }
      if (job) {
        job->work(worker);
        job->holders.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<std::uint64_t> generation_{0};
  Job* job_ = nullptr;
  bool quit_ = false;
};

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> p;
  return p;
}

}  // namespace

void set_threads(int n) {
  CELLOT_CHECK(n > 0, "thread count must be positive");
  // The OpenMP build of OpenBLAS also sets OpenMP's thread count here, so it goes first; it
  // then stays single-threaded (it only follows OpenMP's count while it is multithreaded).
  pin_blas_to_one_thread();
  at::set_num_threads(n);
  pool().reset();
  if (n > 1) pool() = std::make_unique<Pool>(n);
}

int workers() { return pool() ? pool()->size() : 1; }

void parallel_items(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) {
  if (n <= 0) return;
  if (n == 1 || !pool() || this_worker >= 0) {
    // Serial, also when called from inside a pool job (its thread keeps its workspace index).
    const int worker = this_worker >= 0 ? this_worker : 0;
    for (std::int64_t i = 0; i < n; ++i) fn(i, worker);
    return;
  }
  pool()->run_job(n, fn);
}

}  // namespace cellot::nn
