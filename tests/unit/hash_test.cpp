// The hashing wrappers of core/hash.hpp: XXH3-64 against libxxhash's published values, the
// streaming hasher against the one-shot function, FNV-1a-64 against its reference values.
#include "cellot/core/hash.hpp"

#include "cellot/core/config.hpp"
#include "cellot/core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

using namespace cellot;

namespace {

// Expected values computed when this test was written with a ctypes call into Debian 12's
// libxxhash.so.0 (0.8.1):
//   lib = ctypes.CDLL("libxxhash.so.0"); lib.XXH3_64bits.restype = ctypes.c_uint64
//   "%016x" % lib.XXH3_64bits(s, len(s))   (and XXH3_64bits_withSeed(s, len(s), 42))
// XXH3_64bits("") = 2d06800538d394c2 is also the value of xxHash's own test suite.
struct Vector {
  std::string input;
  std::uint64_t plain, seed42;
};

std::string bytes_0_255_x4() {
  std::string s;
  for (int r = 0; r < 4; ++r)
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

std::vector<Vector> vectors() {
  return {
      {"", 0x2d06800538d394c2ULL, 0xb029411ff43d84d2ULL},
      {"a", 0xe6c632b61e964e1fULL, 0x4c437dd47f0716f4ULL},
      {"abc", 0x78af5f94892f3950ULL, 0xd8438def21bbdcc3ULL},
      {"The quick brown fox jumps over the lazy dog", 0xce7d19a5418fb365ULL, 0xb4a3f3c36b3c7d26ULL},
      {bytes_0_255_x4(), 0xa870f92984398d22ULL, 0x2976c34b83200df6ULL},  // 1024 bytes: the long-input path
  };
}

}  // namespace

TEST(Hash, Xxh3MatchesKnownVectors) {
  for (const auto& v : vectors()) {
    EXPECT_EQ(xxh3_64(v.input.data(), v.input.size()), v.plain) << v.input.size() << " bytes";
    EXPECT_EQ(xxh3_64(v.input.data(), v.input.size(), 42), v.seed42) << v.input.size() << " bytes";
  }
}

TEST(Hash, StreamingEqualsOneShotWhateverTheCuts) {
  for (const auto& v : vectors()) {
    for (std::size_t cut : {std::size_t{1}, std::size_t{3}, std::size_t{64}, std::size_t{1000}}) {
      Xxh3Stream h, h42(42);
      for (std::size_t i = 0; i < v.input.size(); i += cut) {
        const std::size_t n = std::min(cut, v.input.size() - i);
        h.update(v.input.data() + i, n);
        h42.update(v.input.data() + i, n);
        h.update(nullptr, 0);  // empty updates change nothing
      }
      EXPECT_EQ(h.digest(), v.plain) << v.input.size() << " bytes in pieces of " << cut;
      EXPECT_EQ(h42.digest(), v.seed42) << v.input.size() << " bytes in pieces of " << cut;
    }
  }
  // A large input (several XXH3 stripes and blocks) in uneven pieces.
  std::string big;
  for (int i = 0; i < 100000; ++i) big.push_back(static_cast<char>((i * 7919) % 251));
  Xxh3Stream h;
  for (std::size_t i = 0, n = 1; i < big.size(); i += n, n = n * 3 % 4097 + 1) h.update(big.data() + i, std::min(n, big.size() - i));
  EXPECT_EQ(h.digest(), xxh3_64(big.data(), big.size()));
}

TEST(Hash, Fnv1a64KeepsCellotsValuesAndChains) {
  // cellot's FNV-1a has always started from 1469598103934665603 (not the reference offset basis
  // 14695981039346656037): kept, since task seeds, plan hashes and old row checksums depend on it.
  // Values from the pre-XXH3 code's loop, re-run in Python (h = ((h ^ c) * 1099511628211) mod 2^64).
  EXPECT_EQ(kFnv1a64Offset, 1469598103934665603ULL);
  EXPECT_EQ(fnv1a64("", 0), 0x14650fb0739d0383ULL);
  EXPECT_EQ(fnv1a64("a", 1), 0x44bd8ad473cd9906ULL);
  EXPECT_EQ(fnv1a64("abc", 3), 0xe16801510db89efdULL);
  EXPECT_EQ(fnv1a64("bc", 2, fnv1a64("a", 1)), fnv1a64("abc", 3));
  EXPECT_EQ(hex16(0xe16801510db89efdULL), "e16801510db89efd");
  EXPECT_EQ(hash_hex("abc"), "e16801510db89efd");  // the plan hash stays FNV-1a (stored in every store)
}

TEST(Hash, TaskSeedsAreThoseOfBefore) {
  // derive_seed(seed, key) = splitmix64(seed ^ (fnv1a(key) * 0x9E3779B97F4A7C15)) as before
  // XXH3; values from that formula re-run in Python when this test was written.
  EXPECT_EQ(derive_seed(42, "task:Imatinib"), 0xdc65c0e9ca5730bcULL);
  EXPECT_EQ(derive_seed(0, "split"), 0xc0bd7a0663d82f4dULL);
  EXPECT_EQ(derive_seed(7, "drug_000|cellot|fold0|seed1"), 0x2b72c0578c9fa790ULL);
}

TEST(Hash, SchemeNames) {
  HashScheme s = HashScheme::xxh3_64;
  EXPECT_TRUE(parse_hash_scheme("", s));
  EXPECT_EQ(s, HashScheme::legacy);  // nothing recorded: a file written before XXH3
  EXPECT_TRUE(parse_hash_scheme("xxh3-64", s));
  EXPECT_EQ(s, HashScheme::xxh3_64);
  EXPECT_TRUE(parse_hash_scheme("fnv1a-64", s));
  EXPECT_EQ(s, HashScheme::legacy);
  EXPECT_FALSE(parse_hash_scheme("sha256", s));
  EXPECT_STREQ(hash_scheme_name(HashScheme::xxh3_64), "xxh3-64");
  EXPECT_STREQ(hash_scheme_name(HashScheme::legacy), "fnv1a-64");
}
