#pragma once
// A portable, seedable generator (xoshiro256** seeded by splitmix64) with our own uniform, normal
// and integer draws, so that splits, synthetic data and batch sampling are bit-identical on every
// platform and standard library. Every task derives its stream from (seed, task key) only.
#include <cstdint>
#include <string>
#include <vector>

namespace cellot {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0);
  Rng(std::uint64_t seed, const std::string& stream);  // independent stream named by a key

  // Inline: the autoencoders draw a dropout mask value per unit and row every step.
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi);   // [lo, hi)
  double normal();                        // N(0, 1)
  std::uint64_t below(std::uint64_t n);   // uniform integer in [0, n), unbiased
  void shuffle(std::vector<std::int64_t>& v);

  // Full generator state, for checkpoints.
  std::vector<std::uint64_t> state() const;
  void set_state(const std::vector<std::uint64_t>& s);

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Mixes a seed with a key (FNV-1a of the key through splitmix64).
std::uint64_t derive_seed(std::uint64_t seed, const std::string& key);

}  // namespace cellot
