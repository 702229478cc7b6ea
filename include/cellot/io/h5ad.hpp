#pragma once
// AnnData .h5ad files through the HDF5 C API (anndata >= 0.8 layout): dense X (float32/float64)
// or sparse X (csr_matrix/csc_matrix), obs/var dataframes (_index, categorical and string
// columns, numeric columns), obsm arrays, uns scalars and strings. Files we write open in python
// anndata unchanged. Reading a subset of rows never loads the whole matrix.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::io {

// One dataframe column. Exactly one representation is used per kind.
struct Column {
  enum class Kind { categorical, string, float64, int64, boolean };
  std::string name;
  Kind kind = Kind::string;
  std::vector<std::string> categories;  // categorical
  std::vector<std::int32_t> codes;      // categorical (-1 = missing)
  std::vector<std::string> strings;     // string
  std::vector<double> floats;           // float64
  std::vector<std::int64_t> ints;       // int64 and boolean (0/1)

  std::int64_t size() const;
  std::string value(std::int64_t row) const;  // any kind as text ("" for a missing category)
  Column select_rows(const std::vector<std::int64_t>& rows) const;

  static Column make_categorical(std::string name, const std::vector<std::string>& values);
  static Column make_strings(std::string name, std::vector<std::string> values);
  static Column make_floats(std::string name, std::vector<double> values);
  static Column make_ints(std::string name, std::vector<std::int64_t> values);
};

struct DataFrame {
  std::vector<std::string> index;  // obs_names / var_names
  std::vector<Column> columns;     // in column-order

  std::int64_t rows() const { return static_cast<std::int64_t>(index.size()); }
  const Column* find(const std::string& name) const;
  void set(Column column);  // adds or replaces by name
  DataFrame select_rows(const std::vector<std::int64_t>& rows) const;
};

struct AnnData {
  Matrix X;  // n_obs x n_vars
  DataFrame obs;
  DataFrame var;
  std::map<std::string, Matrix> obsm;
  std::map<std::string, std::string> uns_strings;
  std::map<std::string, double> uns_numbers;
  // Free-form numeric arrays under uns/<group>/<name> (e.g. synthetic ground-truth parameters);
  // keys are slash paths relative to uns, values are row-major with their shape.
  struct Array {
    std::vector<std::int64_t> shape;
    std::vector<double> data;
  };
  std::map<std::string, Array> uns_arrays;
  bool x_float64 = false;  // write X as float64 (default float32, as anndata does for our data)
};

// Reads a whole file. Errors are InputErrors naming the file and the field.
AnnData read_h5ad(const std::string& path);

// Writes atomically (to path + ".tmp", then rename) so a failure never corrupts an existing file.
void write_h5ad(const std::string& path, const AnnData& data);

// Row-selective reader: obs and var are read at open; X rows on request (hyperslab reads for
// dense X, indptr-guided reads for CSR; CSC reads column slices). Opens with the MPI-IO driver
// when `comm` is given so that many ranks can read one file.
class H5adReader {
 public:
  explicit H5adReader(const std::string& path);
  ~H5adReader();
  H5adReader(const H5adReader&) = delete;
  H5adReader& operator=(const H5adReader&) = delete;

  const std::string& path() const { return path_; }
  std::int64_t n_obs() const;
  std::int64_t n_vars() const;
  const DataFrame& obs() const { return obs_; }
  const DataFrame& var() const { return var_; }
  // Rows of X in the given order (indices need not be sorted). Non-finite values are InputErrors.
  Matrix read_rows(const std::vector<std::int64_t>& rows) const;
  bool has_obsm(const std::string& key) const;
  Matrix read_obsm_rows(const std::string& key, const std::vector<std::int64_t>& rows) const;
  // Everything under uns (small): strings, numbers, arrays.
  void read_uns(AnnData& into) const;

 private:
  struct Impl;
  Impl* impl_;
  std::string path_;
  DataFrame obs_, var_;
};

}  // namespace cellot::io
