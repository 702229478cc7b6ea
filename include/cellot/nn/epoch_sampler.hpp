#pragma once
// Batches as the reference draws them: a torch DataLoader with shuffle = true and drop_last =
// false, cycled. Every epoch is a fresh random permutation of the n rows, cut into consecutive
// batches of `batch` rows; the last batch of an epoch holds the remaining n mod batch rows
// (when that is not 0), then the next epoch starts. The permutation comes from the sampler's
// own stream (Rng(seed, key)), so the batches depend on the task's seed only.
#include <cstdint>
#include <vector>

#include "cellot/core/rng.hpp"

namespace cellot::nn {

class EpochSampler {
 public:
  EpochSampler(std::int64_t n, std::int64_t batch, Rng rng);

  // Row indices of the next batch (1..batch of them).
  const std::vector<std::int64_t>& next();
  std::int64_t rows() const { return n_; }

  // For checkpoints: the stream as it was before this epoch's permutation, and the position.
  std::vector<std::uint64_t> state() const;
  void set_state(const std::vector<std::uint64_t>& s);  // InternalError on a malformed state
  static constexpr std::size_t kStateSize = 7;

 private:
  void new_epoch();

  std::int64_t n_, batch_, pos_ = 0;
  Rng rng_;
  std::vector<std::uint64_t> epoch_start_;
  std::vector<std::int64_t> perm_, out_;
};

}  // namespace cellot::nn
