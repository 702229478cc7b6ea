// Torch threading hook for cellot::Runtime: called once, before any torch work.
#include <ATen/Parallel.h>

#include "cellot/core/runtime.hpp"
#include "cellot/nn/threads.hpp"

namespace cellot::detail {

void torch_set_threads(int n) {
  nn::set_threads(n);
  at::set_num_interop_threads(1);
}

// The threads that work for a rank: the pool's (torch's own operators run on one thread).
int torch_threads() { return nn::workers(); }

}  // namespace cellot::detail

#include <torch/version.h>

#include <string>

namespace cellot {
std::string torch_version() { return TORCH_VERSION; }
}  // namespace cellot
