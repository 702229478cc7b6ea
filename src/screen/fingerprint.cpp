#include "cellot/screen/fingerprint.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::screen {

namespace {

constexpr std::uint64_t kMul = 0x9fb21c651e98df25ULL;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// splitmix64's finaliser: every input bit reaches every output bit.
std::uint64_t avalanche(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t load64(const unsigned char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

}  // namespace

void StreamHash::block(const unsigned char* p) {
  for (int k = 0; k < 4; ++k) lane_[k] = rotl((lane_[k] ^ load64(p + 8 * k)) * kMul, 29);
}

void StreamHash::update(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += n;
  if (used_ > 0) {
    const std::size_t take = std::min(n, sizeof buf_ - used_);
    std::memcpy(buf_ + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
    if (used_ < sizeof buf_) return;
    block(buf_);
    used_ = 0;
  }
  for (; n >= sizeof buf_; n -= sizeof buf_, p += sizeof buf_) block(p);
  std::memcpy(buf_, p, n);
  used_ = n;
}

std::uint64_t StreamHash::digest() const {
  std::uint64_t h = total_;
  for (int k = 0; k < 4; ++k) h = avalanche(h ^ avalanche(lane_[k] + static_cast<std::uint64_t>(k)));
  // The tail (< 32 bytes), zero padded; the length above tells a tail of zeros from none.
  unsigned char tail[32] = {};
  std::memcpy(tail, buf_, used_);
  for (int k = 0; k < 4; ++k) h = avalanche(h ^ load64(tail + 8 * k));
  return h;
}

namespace {

// The fingerprint's byte stream into the scheme's hash.
class SchemeHash {
 public:
  explicit SchemeHash(HashScheme scheme) : scheme_(scheme) {}
  void update(const void* data, std::size_t n) {
    if (scheme_ == HashScheme::legacy)
      legacy_.update(data, n);
    else
      xxh3_.update(data, n);
  }
  std::uint64_t digest() const { return scheme_ == HashScheme::legacy ? legacy_.digest() : xxh3_.digest(); }

 private:
  HashScheme scheme_;
  StreamHash legacy_;
  Xxh3Stream xxh3_;
};

using io::h5::check_id;
using io::h5::Handle;

constexpr std::size_t kBlockBytes = std::size_t{16} << 20;

void put_text(SchemeHash& h, const std::string& s) {
  h.update(s.data(), s.size());
  h.update("\0", 1);
}

void put_u64(SchemeHash& h, std::uint64_t v) { h.update(&v, sizeof v); }

// Streams a 1-d or 2-d dataset in blocks of whole rows (aligned to its chunks when chunked, so
// each chunk is read and decompressed once), values in the native form of the stored type.
void hash_dataset(SchemeHash& h, hid_t dset, const std::string& ctx) {
  const auto dims = io::h5::dataset_dims(dset, ctx);
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", ctx));
  Handle mtype(check_id(H5Tget_native_type(ftype, H5T_DIR_ASCEND), "H5Tget_native_type", ctx));
  const std::size_t elem = H5Tget_size(mtype);
  if (elem == 0) io::h5::fail("H5Tget_size failed", ctx);
  // What the bytes are: type class, size, signedness and the shape.
  put_u64(h, static_cast<std::uint64_t>(H5Tget_class(mtype)));
  put_u64(h, elem);
  put_u64(h, H5Tget_class(mtype) == H5T_INTEGER ? static_cast<std::uint64_t>(H5Tget_sign(mtype)) : 0);
  put_u64(h, dims.size());
  for (auto d : dims) put_u64(h, d);
  if (dims.empty()) return;
  hsize_t row_values = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) row_values *= dims[i];
  const hsize_t rows_total = dims[0];
  if (rows_total == 0 || row_values == 0) return;
  hsize_t rows = std::max<hsize_t>(1, kBlockBytes / (row_values * elem));
  {
    Handle dcpl(check_id(H5Dget_create_plist(dset), "H5Dget_create_plist", ctx));
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
      std::vector<hsize_t> chunk(dims.size());
      if (H5Pget_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()) < 0) io::h5::fail("H5Pget_chunk failed", ctx);
      rows = std::max<hsize_t>(chunk[0], rows - rows % chunk[0]);
    }
  }
  rows = std::min(rows, rows_total);
  std::vector<unsigned char> buf(static_cast<std::size_t>(rows * row_values) * elem);
  Handle fspace(check_id(H5Dget_space(dset), "H5Dget_space", ctx));
  for (hsize_t r0 = 0; r0 < rows_total; r0 += rows) {
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = r0;
    count[0] = std::min(rows, rows_total - r0);
    CELLOT_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), ctx);
    Handle mspace(
        check_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple", ctx));
    CELLOT_H5_CHECK(H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, buf.data()), ctx);
    h.update(buf.data(), static_cast<std::size_t>(count[0] * row_values) * elem);
  }
}

}  // namespace

std::string data_fingerprint(const std::string& path, const std::string& condition_key, const std::string& layer,
                             HashScheme scheme) {
  // The reader validates the file (the matrix present, shapes consistent) and gives the column.
  const io::H5adReader reader(path, MPI_COMM_NULL, layer);
  const io::Column* cond = reader.obs().find(condition_key);
  if (!cond) throw InputError(path, "data.condition_key", condition_key, "no such obs column");
  SchemeHash h(scheme);
  put_text(h, "cellot-data-fingerprint 1");
  // X keeps the fingerprints of stores made before layers were selectable.
  if (layer != "X") put_text(h, "layer " + layer);
  put_text(h, reader.x_encoding());
  put_u64(h, static_cast<std::uint64_t>(reader.n_obs()));
  put_u64(h, static_cast<std::uint64_t>(reader.n_vars()));
  {
    io::h5::QuietErrors quiet;
    Handle file = io::h5::open_file(path, H5F_ACC_RDONLY);
    const std::string element = reader.layer_element();
    if (reader.x_encoding() == "array") {
      Handle x = io::h5::open_dataset(file, element, path);
      hash_dataset(h, x, path + ":" + element);
    } else {
      for (const char* part : {"data", "indices", "indptr"}) {
        put_text(h, part);
        Handle d = io::h5::open_dataset(file, element + "/" + part, path);
        hash_dataset(h, d, path + ":" + element + "/" + part);
      }
    }
  }
  put_text(h, "obs/" + condition_key);
  for (std::int64_t r = 0; r < cond->size(); ++r) put_text(h, cond->value(r));
  return hex16(h.digest());
}

}  // namespace cellot::screen
