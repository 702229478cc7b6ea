#pragma once
// AnnData .h5ad files through the HDF5 C API: dense X (float32/float64) or sparse X
// (csr_matrix/csc_matrix), obs/var dataframes (_index, categorical and string columns, numeric
// columns), obsm arrays, uns scalars and strings. Files we write open in python anndata
// unchanged. Reading a subset of rows never loads the whole matrix.
//
// Layouts read (every one current anndata reads, for the parts we use):
//  0.6: obs/var are compound datasets (first field the index), categorical columns are integer
//       codes with their categories in uns/<column>_categories (applied as anndata's _clean_uns
//       does: only when every code is below the number of categories); sparse groups carry
//       h5sparse_format/h5sparse_shape; raw is raw.X/raw.var at the root; obsm may be one
//       compound dataset with a field per key (<= 0.6.18).
//  0.7: dataframe groups (encoding-version 0.1.0); a categorical column is its codes, with an
//       object reference attribute "categories" to obs/__categories/<column>.
//  0.8+: categorical groups, string-array, nullable-integer / nullable-boolean (values + mask),
//       nullable-string-array (0.11); raw/X + raw/var, layers/<name>.
// The matrix read as "X" is selectable (H5adReader's layer: X, raw, layers/<name>).
//
// Layout written (what anndata 0.8 writes, checked with h5dump): root attrs encoding-type
// "anndata" / encoding-version "0.1.0"; every element carries encoding-type/encoding-version
// attrs ("array" 0.2.0, "string-array" 0.2.0, "csr_matrix" 0.1.0 with a shape attr,
// "dataframe" 0.2.0 with _index and column-order attrs, "categorical" 0.2.0 with an h5py bool
// "ordered" attr, "dict" 0.1.0, "string" / "numeric-scalar" 0.2.0 for uns scalars); strings are
// variable-length UTF-8.
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
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
  // Nullable columns (anndata's nullable-integer / nullable-boolean / nullable-string-array):
  // missing[r] != 0 marks a missing value (value() gives ""). Empty for other columns.
  bool nullable = false;
  std::vector<char> missing;

  std::int64_t size() const;
  std::string value(std::int64_t row) const;  // any kind as text ("" for a missing value)
  bool is_missing(std::int64_t row) const;
  Column select_rows(const std::vector<std::int64_t>& rows) const;

  // Categories in order of first appearance.
  static Column make_categorical(std::string name, const std::vector<std::string>& values);
  // Categories as given (may include categories without cells); every value must be one of them.
  static Column make_categorical(std::string name, const std::vector<std::string>& values,
                                 std::vector<std::string> categories);
  static Column make_strings(std::string name, std::vector<std::string> values);
  static Column make_floats(std::string name, std::vector<double> values);
  static Column make_ints(std::string name, std::vector<std::int64_t> values);
  static Column make_bools(std::string name, std::vector<std::int64_t> values);
};

struct DataFrame {
  std::vector<std::string> index;  // obs_names / var_names
  std::vector<Column> columns;     // in column-order
  // Columns present in the file but not read (an encoding we do not read): name -> why, with
  // the one-line conversion. Asking for one of them names the reason instead of "no such column".
  std::map<std::string, std::string> unread;

  std::int64_t rows() const { return static_cast<std::int64_t>(index.size()); }
  const Column* find(const std::string& name) const;
  // The column `name`, or InputError(file, key, name) naming the columns present (or why the
  // column could not be read).
  const Column& require(const std::string& name, const std::string& file, const std::string& key) const;
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
  std::map<std::string, std::vector<std::string>> uns_string_arrays;  // 1-d string arrays
  bool x_float64 = false;  // write X as float64 (default float32, as anndata does for our data)
  // How write_h5ad stores X: "array" (dense), "csr_matrix" or "csc_matrix" (zeros dropped).
  // read_h5ad sets it to the file's encoding.
  std::string x_encoding = "array";

  std::int64_t n_obs() const { return X.rows; }
  std::int64_t n_vars() const { return X.cols; }
};

// Reads a whole file. Errors are InputErrors naming the file and the field.
AnnData read_h5ad(const std::string& path);

// Writes atomically (to path + ".tmp", then rename) so a failure never corrupts an existing file.
void write_h5ad(const std::string& path, const AnnData& data);

// Streams a large .h5ad whose X is CSR (float32 values, ascending column indices per row),
// block of rows by block of rows, in memory ~ one block: values go to temporary files beside
// `path` while rows are appended; finish() writes the h5ad (contiguous datasets, as anndata
// writes them, so rows read back by hyperslab) and renames it into place. `int_layers` are
// integer (int32) matrices of the same sparsity as X, stored as layers/<name> (csr_matrix);
// their indices and indptr are HDF5 hard links to X's (anndata reads them as their own).
class H5adCsrWriter {
 public:
  H5adCsrWriter(const std::string& path, std::int64_t n_vars, std::vector<std::string> int_layers = {});
  ~H5adCsrWriter();  // removes the temporary files (and the unfinished h5ad)
  H5adCsrWriter(const H5adCsrWriter&) = delete;
  H5adCsrWriter& operator=(const H5adCsrWriter&) = delete;

  // Appends rows: row_nnz[r] entries each, their column indices, X values and one value array
  // per integer layer (each as long as `indices`).
  void append(const std::vector<std::int64_t>& row_nnz, const std::vector<std::int32_t>& indices,
              const std::vector<float>& values, const std::vector<std::vector<std::int32_t>>& layer_values);
  std::int64_t rows() const { return static_cast<std::int64_t>(indptr_.size()) - 1; }
  std::int64_t nnz() const { return indptr_.back(); }
  // Writes obs, var, obsm and uns of `meta` (its X is ignored; obs must have rows() rows and var
  // n_vars rows) with the appended matrices, then renames into place.
  void finish(const AnnData& meta);

 private:
  std::string path_;
  std::int64_t n_vars_;
  std::vector<std::string> layers_;
  std::vector<std::string> parts_;  // temporary files: indices, X values, layer values
  std::vector<std::FILE*> out_;
  std::vector<std::int64_t> indptr_{0};
  bool done_ = false;
  void close_parts();
};

// Row-selective reader: obs and var are read at open; rows of the selected matrix on request.
// The matrix is "X" by default; `layer` selects another one of the same cells:
//   "X"              X (var = var)
//   "raw"            raw/X (0.7+) or raw.X (0.6), var = raw/var or raw.var (the raw genes)
//   "layers/<name>"  layers/<name> (var = var)
// Any other value, or a layer the file lacks, is InputError(file, "data.layer", value).
// Cost of read_rows:
//  dense: the requested rows are sorted, coalesced into runs (runs separated by small gaps are
//    merged: reading a few unwanted rows is cheaper than another seek) and read with one
//    hyperslab-union selection; I/O ~ the selected rows.
//  CSR: indptr (n_obs + 1 integers) is read once and cached; then only the data/indices ranges
//    of the selected rows (one union selection each); I/O ~ the selected non-zeros.
//  CSC: rows are not contiguous, so every column slice is read (in blocks of columns) and the
//    selected rows picked out: I/O ~ all non-zeros of X per call, memory ~ the result plus one
//    block. Convert big CSC files to CSR or dense when they are read repeatedly.
// Opens with the MPI-IO driver when `comm` is given (the open is collective over `comm`; reads
// are independent, so ranks may read different rows at different times).
// Errors opening (missing file, not HDF5, not AnnData, no X, inconsistent shapes, an element
// encoding we do not read) are InputErrors naming the file, the element and the value; where
// current anndata reads what we do not, the message says how to convert the file with it.
class H5adReader {
 public:
  explicit H5adReader(const std::string& path, MPI_Comm comm = MPI_COMM_NULL, const std::string& layer = "X");
  ~H5adReader();
  H5adReader(const H5adReader&) = delete;
  H5adReader& operator=(const H5adReader&) = delete;

  const std::string& path() const { return path_; }
  const std::string& layer() const { return layer_; }
  // HDF5 path of the selected matrix ("X", "raw/X", "raw.X", "layers/<name>").
  std::string layer_element() const;
  // Every matrix the file holds, as layer values ("X", "raw", "layers/<name>", ...).
  std::vector<std::string> layers() const;
  std::int64_t n_obs() const;
  std::int64_t n_vars() const;  // columns of the selected matrix
  const DataFrame& obs() const { return obs_; }
  const DataFrame& var() const { return var_; }  // of the selected matrix
  std::string x_encoding() const;  // "array", "csr_matrix" or "csc_matrix" (selected matrix)
  std::string x_dtype() const;     // "float32", "float64", "int32", ... of the stored values
  // Rows of the selected matrix in the given order (indices need not be sorted, may repeat).
  // Non-finite values in the selected rows are InputError(file, <element>, "<value> at row r
  // col c", "non-finite value").
  Matrix read_rows(const std::vector<std::int64_t>& rows) const;
  bool has_obsm(const std::string& key) const;
  std::vector<std::string> obsm_keys() const;
  // Rows of obsm/<key> (dense, sparse or a field of a 0.6 compound obsm). InputError naming
  // obsm/<key> and the keys present when there is no such array.
  Matrix read_obsm_rows(const std::string& key, const std::vector<std::int64_t>& rows) const;
  std::int64_t obsm_cols(const std::string& key) const;
  // Everything under uns (small): strings, numbers, arrays, string arrays; nested dict groups
  // give slash keys ("cellot_synth/maps/Imatinib/scale"). Other encodings are skipped.
  void read_uns(AnnData& into) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_, layer_;
  DataFrame obs_, var_;
};

}  // namespace cellot::io
