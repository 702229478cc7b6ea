#pragma once
// The data fingerprint of a screen's plan: what the results were computed from, independent of
// where the file lies or how its path is spelled. A store keeps it in its plan text, so
// `--resume` refuses a store whose data changed in place (scaled X, relabelled cells) and
// accepts the same data under another path (./d.h5ad, a copy on scratch).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cellot/core/hash.hpp"

namespace cellot::screen {

// The data fingerprint's hash of stores and model directories written before XXH3, kept bit for
// bit so that they still resume and verify (new fingerprints use XXH3-64): four independent lanes
// of 8-byte words. The result depends on the byte sequence only, not on how it is cut into
// update() calls.
class StreamHash {
 public:
  void update(const void* data, std::size_t n);
  std::uint64_t digest() const;

 private:
  void block(const unsigned char* p);
  std::uint64_t lane_[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
                            0x27d4eb2f165667c5ULL};
  unsigned char buf_[32] = {};
  std::size_t used_ = 0;
  std::uint64_t total_ = 0;
};

// Fingerprint of an h5ad file as the screen reads it: the selected matrix's (data.layer; X by
// default, whose fingerprints stay those of before layers existed) shape, encoding, stored element type
// and values (dense: row blocks aligned to its HDF5 chunks; csr/csc: data, indices and indptr),
// and the per-cell labels of obs[condition_key] (as text, so a categorical and a string column
// with the same labels agree). X is streamed in blocks of about 16 MB, never held whole.
// 16 hex digits. InputError when the file or the column is missing.
// `scheme`: the hash (XXH3-64 streaming; legacy: the home-made stream hash of stores and model
// directories written before, so that they keep resuming and verifying).
std::string data_fingerprint(const std::string& path, const std::string& condition_key,
                             const std::string& layer = "X", HashScheme scheme = kCurrentHashScheme);

}  // namespace cellot::screen
