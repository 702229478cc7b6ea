#include "cellot/core/rng.hpp"

#include <cmath>
#include <cstring>

#include "cellot/core/error.hpp"
#include "cellot/core/hash.hpp"

namespace cellot {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, const std::string& key) {
  // FNV-1a stays: every task seed, and so every result, depends on it bit for bit.
  const std::uint64_t h = fnv1a64(key.data(), key.size());
  std::uint64_t x = seed ^ (h * 0x9E3779B97F4A7C15ULL);
  return splitmix64(x);
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

Rng::Rng(std::uint64_t seed, const std::string& stream) : Rng(derive_seed(seed, stream)) {}

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Marsaglia polar method: exact in IEEE arithmetic given the same uniforms.
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double m = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

std::uint64_t Rng::below(std::uint64_t n) {
  CELLOT_CHECK(n > 0, "below(0)");
  // Lemire's nearly divisionless method with rejection: unbiased.
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
  std::uint64_t l = static_cast<std::uint64_t>(m);
  if (l < n) {
    const std::uint64_t t = (0 - n) % n;
    while (l < t) {
      m = static_cast<unsigned __int128>(next_u64()) * n;
      l = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

void Rng::shuffle(std::vector<std::int64_t>& v) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(below(i));
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<std::uint64_t> Rng::state() const {
  std::uint64_t spare_bits = 0;
  static_assert(sizeof(double) == sizeof(std::uint64_t));
  std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1ULL : 0ULL, spare_bits};
}

void Rng::set_state(const std::vector<std::uint64_t>& s) {
  CELLOT_CHECK(s.size() == 6, "bad RNG state size");
  for (int i = 0; i < 4; ++i) s_[i] = s[static_cast<std::size_t>(i)];
  has_spare_ = s[4] != 0;
  std::memcpy(&spare_, &s[5], sizeof spare_);
}

}  // namespace cellot
