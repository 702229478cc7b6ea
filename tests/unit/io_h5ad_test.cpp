// The h5ad reader and writer: round trips of every element kind, row-selective reads of dense,
// CSR and CSC X, atomic and reproducible writes, and the InputErrors for bad files.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/h5ad.hpp"

using namespace cellot;

namespace {

// A fresh directory per test binary, removed at exit.
struct TempDir {
  std::string path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

std::string temp_dir() {
  static TempDir dir{[] {
    std::string tmpl =
        (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) + "/cellot_io_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* d = mkdtemp(buf.data());
    if (!d) throw std::runtime_error("mkdtemp failed");
    return std::string(d);
  }()};
  return dir.path;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// A small AnnData with every supported element kind; X has exact float32 values.
io::AnnData sample(std::int64_t n = 37, std::int64_t d = 5, std::uint64_t seed = 1) {
  io::AnnData a;
  a.X = Matrix(n, d);
  Rng rng(seed);
  for (auto& v : a.X.data) v = rng.uniform() < 0.4 ? 0.0 : std::round(rng.normal() * 64.0) / 8.0;
  std::vector<std::string> cond, names, str;
  std::vector<double> fl;
  std::vector<std::int64_t> in, bo;
  const char* labels[] = {"control", "drug A", "drug+B"};
  for (std::int64_t i = 0; i < n; ++i) {
    names.push_back("cell_" + std::to_string(i));
    cond.push_back(labels[i % 3]);
    str.push_back("s\xC3\xA9" + std::to_string(i * 7));  // UTF-8
    fl.push_back(0.25 * static_cast<double>(i));
    in.push_back(i * i - 3);
    bo.push_back(i % 2);
  }
  a.obs.index = names;
  a.obs.columns.push_back(io::Column::make_categorical("condition", cond, {"control", "drug A", "drug+B", "unused"}));
  a.obs.columns.push_back(io::Column::make_strings("note", str));
  a.obs.columns.push_back(io::Column::make_floats("dose", fl));
  a.obs.columns.push_back(io::Column::make_ints("plate", in));
  a.obs.columns.push_back(io::Column::make_bools("flag", bo));
  for (std::int64_t j = 0; j < d; ++j) a.var.index.push_back("gene_" + std::to_string(j));
  a.var.columns.push_back(io::Column::make_floats("mean", std::vector<double>(static_cast<std::size_t>(d), 1.5)));
  Matrix pca(n, 2);
  for (std::int64_t i = 0; i < n; ++i) {
    pca(i, 0) = static_cast<double>(i) / 3.0;
    pca(i, 1) = -static_cast<double>(i);
  }
  a.obsm["X_pca"] = pca;
  a.uns_strings["title"] = "hello";
  a.uns_strings["nest/deeper/name"] = "inner";
  a.uns_numbers["nest/answer"] = 42.0;
  a.uns_arrays["nest/params"] = {{2, 3}, {1, 2, 3, 4, 5, 6.5}};
  a.uns_string_arrays["labels"] = {"a", "b"};
  return a;
}

void expect_same_frame(const io::DataFrame& a, const io::DataFrame& b) {
  EXPECT_EQ(a.index, b.index);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (std::size_t c = 0; c < a.columns.size(); ++c) {
    const auto& x = a.columns[c];
    const auto& y = b.columns[c];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(static_cast<int>(x.kind), static_cast<int>(y.kind)) << x.name;
    EXPECT_EQ(x.categories, y.categories);
    EXPECT_EQ(x.codes, y.codes);
    EXPECT_EQ(x.strings, y.strings);
    EXPECT_EQ(x.floats, y.floats);
    EXPECT_EQ(x.ints, y.ints);
  }
}

std::vector<std::int64_t> scattered_rows(std::int64_t n) {
  // Out of order, repeated, with runs and gaps of several sizes.
  std::vector<std::int64_t> rows = {n - 1, 0, 1, 2, 5, 5, 9, 10, 11, 12, 30, 3};
  for (std::int64_t i = 14; i < n; i += 4) rows.push_back(i);
  return rows;
}

}  // namespace

TEST(H5ad, DenseRoundTripKeepsEveryElement) {
  const auto a = sample();
  const std::string path = temp_dir() + "/dense.h5ad";
  io::write_h5ad(path, a);
  EXPECT_FALSE(file_exists(path + ".tmp"));
  const auto b = io::read_h5ad(path);
  EXPECT_EQ(b.x_encoding, "array");
  EXPECT_FALSE(b.x_float64);
  ASSERT_EQ(b.X.rows, a.X.rows);
  ASSERT_EQ(b.X.cols, a.X.cols);
  EXPECT_EQ(b.X.data, a.X.data);  // values are exact in float32
  expect_same_frame(a.obs, b.obs);
  expect_same_frame(a.var, b.var);
  ASSERT_EQ(b.obsm.count("X_pca"), 1u);
  EXPECT_EQ(b.obsm.at("X_pca").data, a.obsm.at("X_pca").data);
  EXPECT_EQ(b.uns_strings, a.uns_strings);
  EXPECT_EQ(b.uns_numbers, a.uns_numbers);
  ASSERT_EQ(b.uns_arrays.count("nest/params"), 1u);
  EXPECT_EQ(b.uns_arrays.at("nest/params").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(b.uns_arrays.at("nest/params").data, a.uns_arrays.at("nest/params").data);
  EXPECT_EQ(b.uns_string_arrays, a.uns_string_arrays);
}

TEST(H5ad, Float64XIsKeptExactly) {
  auto a = sample(11, 3);
  a.x_float64 = true;
  a.X(2, 1) = 1.0 / 3.0;  // not representable in float32
  const std::string path = temp_dir() + "/f64.h5ad";
  io::write_h5ad(path, a);
  io::H5adReader r(path);
  EXPECT_EQ(r.x_dtype(), "float64");
  EXPECT_EQ(r.read_rows({2})(0, 1), 1.0 / 3.0);
  a.x_float64 = false;
  io::write_h5ad(path, a);
  io::H5adReader r32(path);
  EXPECT_EQ(r32.x_dtype(), "float32");
  EXPECT_EQ(r32.read_rows({2})(0, 1), static_cast<double>(static_cast<float>(1.0 / 3.0)));
}

TEST(H5ad, ReadRowsMatchesSelectionForEveryEncoding) {
  auto a = sample(97, 6, 5);
  const auto rows = scattered_rows(a.X.rows);
  const Matrix expect = a.X.select_rows(rows);
  for (const char* enc : {"array", "csr_matrix", "csc_matrix"}) {
    a.x_encoding = enc;
    const std::string path = temp_dir() + "/rows_" + enc + ".h5ad";
    io::write_h5ad(path, a);
    io::H5adReader r(path);
    EXPECT_EQ(r.x_encoding(), enc);
    EXPECT_EQ(r.n_obs(), 97);
    EXPECT_EQ(r.n_vars(), 6);
    const Matrix got = r.read_rows(rows);
    ASSERT_EQ(got.rows, expect.rows) << enc;
    EXPECT_EQ(got.data, expect.data) << enc;
    EXPECT_EQ(r.read_rows({}).rows, 0) << enc;
    // Whole-file read through the same path.
    EXPECT_EQ(io::read_h5ad(path).X.data, a.X.data) << enc;
  }
}

TEST(H5ad, ReadRowsWithManyRunsAndEmptySparseRows) {
  // Larger matrix: many runs in the union selection; some rows entirely zero (empty CSR rows).
  io::AnnData a;
  const std::int64_t n = 3000, d = 7;
  a.X = Matrix(n, d);
  Rng rng(9);
  for (std::int64_t i = 0; i < n; ++i)
    if (i % 5 != 0)
      for (std::int64_t j = 0; j < d; ++j) a.X(i, j) = rng.uniform() < 0.5 ? 0.0 : static_cast<double>(i * d + j);
  for (std::int64_t i = 0; i < n; ++i) a.obs.index.push_back(std::to_string(i));
  for (std::int64_t j = 0; j < d; ++j) a.var.index.push_back("g" + std::to_string(j));
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < n; ++i)
    if (rng.uniform() < 0.3) rows.push_back(i);
  rows.push_back(0);  // empty row, repeated
  rows.push_back(5);
  Rng shuffle_rng(3);
  shuffle_rng.shuffle(rows);
  const Matrix expect = a.X.select_rows(rows);
  for (const char* enc : {"array", "csr_matrix", "csc_matrix"}) {
    a.x_encoding = enc;
    const std::string path = temp_dir() + "/runs_" + enc + ".h5ad";
    io::write_h5ad(path, a);
    io::H5adReader r(path);
    EXPECT_EQ(r.read_rows(rows).data, expect.data) << enc;
    EXPECT_EQ(r.read_rows({0, 5, 10}).data, a.X.select_rows({0, 5, 10}).data) << enc;
  }
}

TEST(H5ad, ObsmRowsInRequestedOrder) {
  const auto a = sample();
  const std::string path = temp_dir() + "/obsm.h5ad";
  io::write_h5ad(path, a);
  io::H5adReader r(path);
  EXPECT_TRUE(r.has_obsm("X_pca"));
  EXPECT_FALSE(r.has_obsm("nope"));
  EXPECT_EQ(r.obsm_keys(), std::vector<std::string>{"X_pca"});
  const std::vector<std::int64_t> rows = {4, 1, 4};
  EXPECT_EQ(r.read_obsm_rows("X_pca", rows).data, a.obsm.at("X_pca").select_rows(rows).data);
  EXPECT_THROW(r.read_obsm_rows("nope", rows), InputError);
}

TEST(H5ad, NonFiniteValueInSelectedRowsIsInputError) {
  auto a = sample(20, 4);
  a.X(7, 2) = std::numeric_limits<double>::quiet_NaN();
  a.X(9, 0) = -std::numeric_limits<double>::infinity();
  for (const char* enc : {"array", "csr_matrix", "csc_matrix"}) {
    a.x_encoding = enc;
    const std::string path = temp_dir() + "/nan_" + enc + ".h5ad";
    io::write_h5ad(path, a);
    io::H5adReader r(path);
    EXPECT_NO_THROW(r.read_rows({0, 1, 8, 19})) << enc;
    try {
      r.read_rows({3, 7});
      ADD_FAILURE() << "expected an InputError for " << enc;
    } catch (const InputError& e) {
      EXPECT_EQ(e.where(), path);
      EXPECT_EQ(e.key(), "X");
      EXPECT_EQ(e.value(), "nan at row 7 col 2");
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos);
    }
    try {
      r.read_rows({9});
      ADD_FAILURE() << "expected an InputError for " << enc;
    } catch (const InputError& e) {
      EXPECT_EQ(e.value(), "-inf at row 9 col 0");
    }
  }
}

TEST(H5ad, WritesAreReproducibleAndAtomic) {
  const auto a = sample();
  const std::string p1 = temp_dir() + "/rep1.h5ad", p2 = temp_dir() + "/rep2.h5ad";
  io::write_h5ad(p1, a);
  io::write_h5ad(p2, a);
  const std::string bytes = file_bytes(p1);
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes, file_bytes(p2));  // no timestamps in the file

  // A write that fails half way (duplicate column, detected after X is written) leaves the
  // existing file untouched and no temporary behind.
  auto bad = a;
  bad.obs.columns.push_back(
      io::Column::make_floats("dose", std::vector<double>(static_cast<std::size_t>(a.X.rows), 1.0)));
  EXPECT_THROW(io::write_h5ad(p1, bad), InternalError);
  EXPECT_EQ(file_bytes(p1), bytes);
  EXPECT_FALSE(file_exists(p1 + ".tmp"));
}

TEST(H5ad, OpenErrorsNameFileKeyAndValue) {
  const std::string dir = temp_dir();
  try {
    io::H5adReader r(dir + "/missing.h5ad");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), dir + "/missing.h5ad");
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
  {
    std::ofstream(dir + "/text.h5ad") << "not hdf5\n";
    try {
      io::H5adReader r(dir + "/text.h5ad");
      ADD_FAILURE();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos);
    }
  }
  {
    // HDF5 but not AnnData, then AnnData without X.
    const std::string path = dir + "/plain.h5";
    {
      io::h5::Handle f = io::h5::create_file(path);
      io::h5::create_group(f, "something", path);
    }
    try {
      io::H5adReader r(path);
      ADD_FAILURE();
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "X");
      EXPECT_NE(std::string(e.what()).find("not an AnnData file"), std::string::npos);
    }
    {
      io::h5::Handle f = io::h5::create_file(path);
      io::h5::create_group(f, "obs", path);
    }
    try {
      io::H5adReader r(path);
      ADD_FAILURE();
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "X");
      EXPECT_NE(std::string(e.what()).find("no X matrix"), std::string::npos);
    }
  }
  {
    // obs with a different number of rows than X.
    auto a = sample(10, 3);
    a.obs.columns.clear();
    const std::string path = dir + "/mismatch.h5ad";
    io::write_h5ad(path, a);
    {
      io::h5::Handle f = io::h5::open_file(path, H5F_ACC_RDWR);
      CELLOT_H5_CHECK(H5Ldelete(f, "obs/_index", H5P_DEFAULT), path);
      const hsize_t n = 4;
      io::h5::Handle type = io::h5::vlen_string_type();
      io::h5::Handle d = io::h5::create_dataset(f, "obs/_index", type, {n}, path);
      const char* names[] = {"a", "b", "c", "d"};
      CELLOT_H5_CHECK(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, names), path);
    }
    try {
      io::H5adReader r(path);
      ADD_FAILURE();
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "obs/_index");
      EXPECT_EQ(e.value(), "4 rows");
    }
  }
}

TEST(H5ad, ColumnHelpers) {
  const auto c = io::Column::make_categorical("c", {"b", "a", "b", "c"});
  EXPECT_EQ(c.categories, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(c.codes, (std::vector<std::int32_t>{0, 1, 0, 2}));
  EXPECT_EQ(c.value(3), "c");
  const auto s = c.select_rows({3, 0});
  EXPECT_EQ(s.value(0), "c");
  EXPECT_EQ(s.value(1), "b");
  EXPECT_EQ(io::Column::make_floats("f", {1.0, 0.5}).value(1), "0.5");
  EXPECT_EQ(io::Column::make_floats("f", {1.0, 0.5}).value(0), "1");
  EXPECT_EQ(io::Column::make_bools("b", {0, 3}).value(1), "True");
  EXPECT_THROW(io::Column::make_categorical("c", {"x"}, {"y"}), InternalError);
  io::DataFrame df;
  df.index = {"r0", "r1", "r2"};
  df.set(io::Column::make_ints("i", {1, 2, 3}));
  df.set(io::Column::make_ints("i", {4, 5, 6}));  // replaces
  ASSERT_EQ(df.columns.size(), 1u);
  const auto sel = df.select_rows({2, 0});
  EXPECT_EQ(sel.index, (std::vector<std::string>{"r2", "r0"}));
  EXPECT_EQ(sel.find("i")->ints, (std::vector<std::int64_t>{6, 4}));
  EXPECT_EQ(sel.find("nope"), nullptr);
}

TEST(H5ad, NullableColumnsRoundTripAndMissingValues) {
  io::AnnData a = sample(6, 2);
  io::Column n = io::Column::make_ints("count", {1, 2, 3, 4, 5, 6});
  n.nullable = true;
  n.missing = {0, 1, 0, 0, 0, 1};
  io::Column b = io::Column::make_bools("ok", {1, 0, 1, 0, 1, 0});
  b.nullable = true;
  b.missing = {1, 0, 0, 0, 0, 0};
  io::Column s = io::Column::make_strings("label", {"x", "", "y", "x", "z", "w"});
  s.nullable = true;
  s.missing = {0, 1, 0, 0, 0, 0};
  a.obs.set(n);
  a.obs.set(b);
  a.obs.set(s);
  const std::string path = temp_dir() + "/nullable.h5ad";
  io::write_h5ad(path, a);
  const io::H5adReader r(path);
  const io::Column* rn = r.obs().find("count");
  ASSERT_NE(rn, nullptr);
  EXPECT_TRUE(rn->nullable);
  EXPECT_EQ(rn->value(1), "");
  EXPECT_EQ(rn->value(2), "3");
  EXPECT_TRUE(rn->is_missing(5));
  EXPECT_EQ(r.obs().find("ok")->value(0), "");
  EXPECT_EQ(r.obs().find("ok")->value(2), "True");
  // A string column with missing values is written as a categorical with code -1.
  const io::Column* rs = r.obs().find("label");
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ(rs->kind, io::Column::Kind::categorical);
  EXPECT_EQ(rs->value(1), "");
  EXPECT_EQ(rs->value(4), "z");
  const auto sel = rn->select_rows({5, 2});
  EXPECT_EQ(sel.value(0), "");
  EXPECT_EQ(sel.value(1), "3");
  // A column not read names its reason when asked for.
  io::DataFrame df = r.obs();
  df.unread["odd"] = "a column of encoding 'awkward-array'";
  try {
    (void)df.require("odd", path, "data.condition_key");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("awkward-array"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)df.require("nope", path, "data.condition_key"), InputError);
}

TEST(H5ad, LayerSelectionAndUnknownLayer) {
  const std::string path = temp_dir() + "/layers.h5ad";
  io::write_h5ad(path, sample(5, 3));
  EXPECT_EQ(io::H5adReader(path).layers(), (std::vector<std::string>{"X"}));
  try {
    io::H5adReader r(path, MPI_COMM_NULL, "layers/counts");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "data.layer");
    EXPECT_EQ(e.value(), "layers/counts");
    EXPECT_NE(std::string(e.what()).find("have: X"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::H5adReader(path, MPI_COMM_NULL, "counts"), InputError);
  EXPECT_THROW(io::H5adReader(path, MPI_COMM_NULL, "raw"), InputError);
}
