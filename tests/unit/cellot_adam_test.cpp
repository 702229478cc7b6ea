// Flat-buffer Adam equals torch::optim::Adam (the update of torch.optim.Adam) bit for bit.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <vector>

#include "cellot/core/rng.hpp"
#include "cellot/nn/adam.hpp"

TEST(Adam, BitIdenticalToTorchAdam) {
  // ATen uses fused multiply-adds in these kernels on CPUs that have FMA (all x86-64-v3).
  const std::int64_t n = 1037;  // not a multiple of any vector width
  cellot::Rng rng(11);
  std::vector<float> p(n);
  for (auto& v : p) v = static_cast<float>(rng.normal());
  at::Tensor tp = at::from_blob(p.data(), {n}, at::kFloat).clone().requires_grad_(true);
  torch::optim::Adam topt({tp}, torch::optim::AdamOptions(1e-2).betas({0.5, 0.9}));
  cellot::nn::Adam opt(n, 1e-2, 0.5, 0.9);
  std::vector<float> g(n);
  for (int step = 0; step < 25; ++step) {
    for (auto& v : g) v = static_cast<float>(rng.normal() * (step % 3 == 0 ? 1e-3 : 1.0));
    tp.mutable_grad() = at::from_blob(g.data(), {n}, at::kFloat).clone();
    topt.step();
    opt.step(p.data(), g.data());
    const float* ref = tp.data_ptr<float>();
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(p[static_cast<std::size_t>(i)], ref[i]) << "step " << step << " i " << i;
  }
  EXPECT_EQ(opt.steps(), 25);
}
