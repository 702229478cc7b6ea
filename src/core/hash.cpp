#include "cellot/core/hash.hpp"

#include <xxhash.h>

#include <cstdio>
#include <new>

namespace cellot {

std::uint64_t xxh3_64(const void* data, std::size_t n, std::uint64_t seed) {
  return seed == 0 ? XXH3_64bits(data, n) : XXH3_64bits_withSeed(data, n, seed);
}

Xxh3Stream::Xxh3Stream(std::uint64_t seed) : state_(XXH3_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset_withSeed(state_, seed);
}

Xxh3Stream::~Xxh3Stream() { XXH3_freeState(state_); }

void Xxh3Stream::update(const void* data, std::size_t n) {
  if (n > 0) XXH3_64bits_update(state_, data, n);
}

std::uint64_t Xxh3Stream::digest() const { return XXH3_64bits_digest(state_); }

std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex16(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const char* hash_scheme_name(HashScheme s) { return s == HashScheme::xxh3_64 ? "xxh3-64" : "fnv1a-64"; }

bool parse_hash_scheme(const std::string& text, HashScheme& out) {
  if (text.empty() || text == "fnv1a-64") {
    out = HashScheme::legacy;
    return true;
  }
  if (text == "xxh3-64") {
    out = HashScheme::xxh3_64;
    return true;
  }
  return false;
}

}  // namespace cellot
