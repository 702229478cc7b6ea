// Stores written before cellot used XXH3 (no root attribute `checksum`, FNV-1a-64 row checksums)
// still open, verify and take new rows with their own hash; stores written now use XXH3-64 and
// say so. The old store is made here the way the old code wrote it: a store is created, its
// root attribute removed and every row checksum rewritten with this file's own copy of the old
// FNV-1a over the row's bytes as stored (the order docs/STORE.md gives).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/hash.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/store.hpp"
#include "store_fixture.hpp"
#include "scratch_dir.hpp"

using namespace cellot;

namespace {

std::string temp_path(const std::string& name) {
  static const test::ScratchDir dir("cellot_store_legacy_");
  return dir.path(name);
}

// The FNV-1a the store used before XXH3 (with cellot's start value), kept here on purpose.
std::uint64_t old_fnv1a(const std::vector<unsigned char>& b, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : b) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Row `row` of a dataset as stored (native type of the stored type); `rows` rows from there.
std::vector<unsigned char> row_bytes(hid_t f, const std::string& name, hsize_t row, hsize_t rows = 1) {
  hid_t d = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << name;
  hid_t ft = H5Dget_type(d), mt = H5Tget_native_type(ft, H5T_DIR_ASCEND), fs = H5Dget_space(d);
  const int nd = H5Sget_simple_extent_ndims(fs);
  std::vector<hsize_t> dims(static_cast<std::size_t>(nd)), start(dims.size(), 0);
  H5Sget_simple_extent_dims(fs, dims.data(), nullptr);
  auto count = dims;
  start[0] = row;
  count[0] = rows;
  std::size_t n = H5Tget_size(mt) * rows;
  for (std::size_t k = 1; k < dims.size(); ++k) n *= dims[k];
  std::vector<unsigned char> out(n);
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  hid_t ms = H5Screate_simple(nd, count.data(), nullptr);
  if (n > 0) {
    EXPECT_GE(H5Dread(d, mt, ms, fs, H5P_DEFAULT, out.data()), 0) << name;
  }
  H5Sclose(ms);
  H5Sclose(fs);
  H5Tclose(mt);
  H5Tclose(ft);
  H5Dclose(d);
  return out;
}

template <class T>
T scalar_at(hid_t f, const std::string& name, hsize_t row) {
  const auto b = row_bytes(f, name, row);
  T v{};
  std::memcpy(&v, b.data(), sizeof v);
  return v;
}

// The bytes of task t's row in the order the checksum covers them (docs/STORE.md).
std::vector<unsigned char> row_image(hid_t f, const io::StoreSpec& spec, std::size_t t) {
  std::vector<unsigned char> img;
  auto add = [&](const std::vector<unsigned char>& b) { img.insert(img.end(), b.begin(), b.end()); };
  for (const char* n : {"/metrics/value", "/metrics/sd", "/metrics/iterations", "/curves/values", "/curves/count",
                        "/curves/columns"})
    add(row_bytes(f, n, t));
  const std::string model = spec.tasks[t].model;
  const auto prow = scalar_at<std::int64_t>(f, "/plan/params_row", t);
  if (prow >= 0) {
    add(row_bytes(f, "/params/" + model + "/values", static_cast<hsize_t>(prow)));
    add(row_bytes(f, "/params/" + model + "/count", static_cast<hsize_t>(prow)));
    add(row_bytes(f, "/params/" + model + "/layout", static_cast<hsize_t>(prow)));
  } else {
    add(std::vector<unsigned char>(8, 0));  // params count 0
  }
  std::int64_t pred_count = 0;
  if (spec.save_predictions) {
    pred_count = scalar_at<std::int64_t>(f, "/predictions/count", t);
    const auto off = scalar_at<std::int64_t>(f, "/predictions/offset", t);
    if (pred_count > 0) {
      add(row_bytes(f, "/predictions/values", static_cast<hsize_t>(off), static_cast<hsize_t>(pred_count)));
      add(row_bytes(f, "/predictions/cell", static_cast<hsize_t>(off), static_cast<hsize_t>(pred_count)));
    }
  }
  std::vector<unsigned char> pc(8);
  std::memcpy(pc.data(), &pred_count, 8);
  add(pc);
  for (const char* n : {"/effects/predicted", "/effects/observed"}) add(row_bytes(f, n, t));
  return img;
}

std::uint64_t stored_checksum(const std::string& path, std::size_t t) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const auto v = scalar_at<std::uint64_t>(f, "/status/checksum", t);
  H5Fclose(f);
  return v;
}

// Turns a store written now into one as written before XXH3.
void make_old(const std::string& path, const io::StoreSpec& spec) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Adelete(f, "checksum"), 0);
  hid_t d = H5Dopen2(f, "/status/checksum", H5P_DEFAULT);
  hid_t fs = H5Dget_space(d);
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    const std::uint64_t sum = old_fnv1a(row_image(f, spec, t));
    hsize_t start = t, count = 1;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    hid_t ms = H5Screate_simple(1, &count, nullptr);
    ASSERT_GE(H5Dwrite(d, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, &sum), 0);
    H5Sclose(ms);
  }
  H5Sclose(fs);
  H5Dclose(d);
  H5Fclose(f);
}

bool root_has_checksum_attr(const std::string& path) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const bool has = H5Aexists(f, "checksum") > 0;
  H5Fclose(f);
  return has;
}

std::string inspect(const std::string& path) {
  const char* bin = std::getenv("CELLOT_BIN");
  if (!bin) return "";
  std::string out;
  FILE* p = popen((std::string(bin) + " inspect --store '" + path + "' 2>&1").c_str(), "r");
  if (!p) return "";
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  return out;
}

}  // namespace

TEST(StoreHash, NewStoresUseXxh3AndSaySo) {
  const auto path = temp_path("new.h5");
  const auto spec = test::small_spec();
  {
    auto s = io::Store::create(path, spec, MPI_COMM_NULL);
    for (std::int64_t t = 0; t < 4; ++t) s.write_row(t, test::small_row(t, spec));
    s.close();
  }
  EXPECT_TRUE(root_has_checksum_attr(path));
  EXPECT_EQ(io::stored_hash_scheme(path), HashScheme::xxh3_64);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  for (std::size_t t = 0; t < 4; ++t) {
    const auto img = row_image(f, spec, t);
    EXPECT_EQ(stored_checksum(path, t), xxh3_64(img.data(), img.size())) << "task " << t;
  }
  H5Fclose(f);
  const auto s = io::Store::open(path, MPI_COMM_NULL, false);
  EXPECT_EQ(s.spec().hash, HashScheme::xxh3_64);
  const auto trusted = s.trusted_done();
  for (std::size_t t = 0; t < 4; ++t) EXPECT_TRUE(trusted[t]) << t;
  if (std::getenv("CELLOT_BIN")) {
    const std::string text = inspect(path);
    EXPECT_NE(text.find("\nchecksum: xxh3-64"), std::string::npos) << text;
  }
}

TEST(StoreHash, OldStoresOpenVerifyAndResumeWithTheirHash) {
  for (const bool predictions : {true, false}) {
    const auto path = temp_path(predictions ? "old_pred.h5" : "old.h5");
    const auto spec = test::small_spec(6, predictions);
    {
      auto s = io::Store::create(path, spec, MPI_COMM_NULL);
      for (std::int64_t t = 0; t < 4; ++t) s.write_row(t, test::small_row(t, spec));
      s.close();
    }
    make_old(path, spec);
    EXPECT_FALSE(root_has_checksum_attr(path));
    EXPECT_EQ(io::stored_hash_scheme(path), HashScheme::legacy);
    {
      const auto s = io::Store::open(path, MPI_COMM_NULL, false);
      EXPECT_EQ(s.spec().hash, HashScheme::legacy);
      const auto trusted = s.trusted_done();
      for (std::size_t t = 0; t < 4; ++t) EXPECT_TRUE(trusted[t]) << "old row " << t << " not verified";
      EXPECT_FALSE(trusted[4]);  // pending
      EXPECT_EQ(s.summary().trusted[2], true);
    }
    {
      // Resumed: the next rows get the old hash too (no mixing), and no attribute appears.
      auto s = io::Store::open(path, MPI_COMM_NULL, true);
      s.write_row(4, test::small_row(4, spec));
      s.write_row(5, test::small_row(5, spec));
      s.close();
    }
    EXPECT_FALSE(root_has_checksum_attr(path));
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    for (std::size_t t = 4; t < 6; ++t) EXPECT_EQ(stored_checksum(path, t), old_fnv1a(row_image(f, spec, t))) << t;
    H5Fclose(f);
    {
      const auto s = io::Store::open(path, MPI_COMM_NULL, false);
      const auto trusted = s.trusted_done();
      for (std::size_t t = 0; t < 6; ++t) EXPECT_TRUE(trusted[t]) << t;
    }
    // A changed value in an old row is still caught by its old checksum.
    {
      hid_t g = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      hid_t d = H5Dopen2(g, "/metrics/value", H5P_DEFAULT);
      hid_t fs = H5Dget_space(d);
      hsize_t start[2] = {1, 0}, count[2] = {1, 1};
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
      hid_t ms = H5Screate_simple(2, count, nullptr);
      const double v = 99.0;
      H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &v);
      H5Sclose(ms);
      H5Sclose(fs);
      H5Dclose(d);
      H5Fclose(g);
    }
    const auto s = io::Store::open(path, MPI_COMM_NULL, false);
    EXPECT_FALSE(s.trusted_done()[1]);
    EXPECT_TRUE(s.trusted_done()[0]);
    if (std::getenv("CELLOT_BIN")) {
      const std::string text = inspect(path);
      EXPECT_NE(text.find("\nchecksum: fnv1a-64"), std::string::npos) << text;
    }
  }
}

TEST(StoreHash, UnknownSchemeIsRefused) {
  const auto path = temp_path("future.h5");
  const auto spec = test::small_spec();
  io::Store::create(path, spec, MPI_COMM_NULL).close();
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete(f, "checksum");
  H5Fclose(f);
  {
    auto h = io::h5::open_file(path, H5F_ACC_RDWR);
    io::h5::write_attr_string(h, "checksum", "blake3", path);
  }
  EXPECT_THROW(io::stored_hash_scheme(path), InputError);
  EXPECT_THROW(io::Store::open(path, MPI_COMM_NULL, false), InputError);
}
