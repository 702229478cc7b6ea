#include "cellot/nn/epoch_sampler.hpp"

#include <algorithm>
#include <numeric>

#include "cellot/core/error.hpp"

namespace cellot::nn {

EpochSampler::EpochSampler(std::int64_t n, std::int64_t batch, Rng rng) : n_(n), batch_(batch), rng_(rng) {
  CELLOT_CHECK(n_ > 0 && batch_ > 0, "sampler needs rows and a positive batch size");
  perm_.resize(static_cast<std::size_t>(n_));
  new_epoch();
}

void EpochSampler::new_epoch() {
  epoch_start_ = rng_.state();
  std::iota(perm_.begin(), perm_.end(), std::int64_t{0});
  rng_.shuffle(perm_);
  pos_ = 0;
}

const std::vector<std::int64_t>& EpochSampler::next() {
  if (pos_ == n_) new_epoch();
  const std::int64_t end = std::min(n_, pos_ + batch_);
  out_.assign(perm_.begin() + pos_, perm_.begin() + end);
  pos_ = end;
  return out_;
}

std::vector<std::uint64_t> EpochSampler::state() const {
  std::vector<std::uint64_t> s = epoch_start_;
  s.push_back(static_cast<std::uint64_t>(pos_));
  return s;
}

void EpochSampler::set_state(const std::vector<std::uint64_t>& s) {
  CELLOT_CHECK(s.size() == kStateSize && s.back() <= static_cast<std::uint64_t>(n_), "bad sampler state");
  rng_.set_state(std::vector<std::uint64_t>(s.begin(), s.end() - 1));
  new_epoch();  // the same permutation again, and the stream where it was
  pos_ = static_cast<std::int64_t>(s.back());
}

}  // namespace cellot::nn
