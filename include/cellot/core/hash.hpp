#pragma once
// Hashing: XXH3-64 (libxxhash) for checksums and data fingerprints, and the one FNV-1a-64 kept
// where changing the hash would change numbers or break files already written: the RNG seed
// derivation (every result depends on it), the plan hash (stored in every store and compared by
// --resume and merge) and the row checksums of stores written before XXH3.
// Not cryptographic: they detect accidental change, not tampering.
#include <cstddef>
#include <cstdint>
#include <string>

struct XXH3_state_s;  // libxxhash's streaming state (xxhash.h stays out of this header)

namespace cellot {

// XXH3-64 of `n` bytes, with a seed (0: the plain XXH3_64bits).
std::uint64_t xxh3_64(const void* data, std::size_t n, std::uint64_t seed = 0);

// Streaming XXH3-64: the digest depends on the byte sequence only, not on how it is cut into
// update() calls (equal to xxh3_64 of the concatenation).
class Xxh3Stream {
 public:
  explicit Xxh3Stream(std::uint64_t seed = 0);
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;

  void update(const void* data, std::size_t n);
  std::uint64_t digest() const;

 private:
  XXH3_state_s* state_;
};

// cellot's start value since its first version (the reference FNV offset basis has one more
// digit, 14695981039346656037): kept, every task seed and stored hash depends on it.
inline constexpr std::uint64_t kFnv1a64Offset = 1469598103934665603ULL;
// FNV-1a 64 of `n` bytes, chained from `h` (fnv1a64(b, m, fnv1a64(a, n)) is the hash of a + b).
std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnv1a64Offset);

// 16 lower-case hex digits.
std::string hex16(std::uint64_t h);

// Which hash a file's row checksums and data fingerprint were made with. Files record it
// (a store's root attribute `checksum`, a model directory's `data_fingerprint_hash`); files
// written before cellot used XXH3 record none and mean `legacy`: FNV-1a-64 row checksums and the
// earlier home-made stream hash for the data fingerprint. A file keeps its scheme for life
// (a resumed or merged store never mixes the two).
enum class HashScheme { legacy, xxh3_64 };
inline constexpr HashScheme kCurrentHashScheme = HashScheme::xxh3_64;
// "xxh3-64" or "fnv1a-64" (legacy; the name of its row checksum).
const char* hash_scheme_name(HashScheme s);
// The scheme recorded as `text` ("" = nothing recorded: legacy); false when unknown.
bool parse_hash_scheme(const std::string& text, HashScheme& out);

}  // namespace cellot
