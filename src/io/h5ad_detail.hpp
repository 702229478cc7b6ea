#pragma once
// Internals shared by the h5ad reader and writer (not installed, not part of the API).
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::io::detail {

// anndata's element encodings.
std::string encoding_type(hid_t obj);  // "" when the attribute is missing
void set_encoding(hid_t obj, const char* type, const char* version, const std::string& context);

// Kind of the object at `path` under `loc`: H5I_GROUP, H5I_DATASET or H5I_BADID when missing.
H5I_type_t object_type(hid_t loc, const std::string& path);

// Names of the links directly under a group, in name order.
std::vector<std::string> child_names(hid_t group, const std::string& context);

// The one-line fix for an element we do not read but current anndata does.
std::string convert_hint(const std::string& file);

// InputError naming file and key when a dataset needs an HDF5 filter (compression) this
// library lacks (e.g. h5py's lzf): reading it would fail deep inside HDF5.
void check_filters(hid_t dset, const std::string& file, const std::string& key);

// Reads a whole string dataset (vlen or fixed length) of any rank, flattened. `file` and `key`
// name the element in InputErrors (wrong type).
std::vector<std::string> read_strings(hid_t dset, const std::string& file, const std::string& key);
// Reads a whole numeric dataset (integer, float, or h5py's bool enum), flattened.
std::vector<double> read_doubles(hid_t dset, const std::string& file, const std::string& key);
std::vector<std::int64_t> read_int64s(hid_t dset, const std::string& file, const std::string& key);

// Attribute holding an integer array (the sparse "shape" attribute).
std::vector<std::int64_t> read_attr_int64s(hid_t obj, const std::string& name, const std::string& file,
                                           const std::string& key);
// The object an object-reference attribute points to (anndata 0.7's "categories" attribute).
h5::Handle open_attr_reference(hid_t obj, const std::string& name, const std::string& file, const std::string& key);

// Raw bytes of one stored integer (1, 2, 4 or 8 bytes, native order) as int64.
std::int64_t decode_integer(const unsigned char* p, std::size_t size, bool is_signed);
// n fixed-length strings of `size` bytes each (null-terminated or padded).
std::vector<std::string> decode_fixed_strings(const char* buf, std::size_t size, std::size_t n, bool space_padded);

// "float32", "float64", "int32", "uint8", "bool", "string", ... of a dataset's stored type.
std::string dtype_name(hid_t dset, const std::string& context);
const char* class_name(H5T_class_t c);

// Compound datasets (anndata 0.6 obs/var/obsm): member names in order, a member's type class
// (for an array member, the class of its elements) and one member read whole.
std::vector<std::string> compound_members(hid_t dset, const std::string& context);
H5T_class_t compound_member_class(hid_t dset, const std::string& member, const std::string& context);
std::vector<std::string> read_member_strings(hid_t dset, const std::string& member, const std::string& file,
                                             const std::string& key);
// Numeric, bool-enum or array-of-numbers members; an array member gives `width` values per row.
std::vector<double> read_member_doubles(hid_t dset, const std::string& member, const std::string& file,
                                        const std::string& key, std::int64_t* width = nullptr);
std::vector<std::int64_t> read_member_int64s(hid_t dset, const std::string& member, const std::string& file,
                                             const std::string& key);

// obs / var as a DataFrame from any layout: `element` is "obs", "var", "raw/var" or the 0.6
// names ("raw.var"). `uns_categories` holds uns/<col>_categories (0.6 categorical columns; see
// apply_uns_categories), applied to integer columns as anndata does.
using UnsCategories = std::map<std::string, std::vector<std::string>>;
DataFrame read_dataframe(hid_t file_id, const std::string& element, const std::string& file,
                         const UnsCategories& uns_categories);
UnsCategories read_uns_categories(hid_t file_id, const std::string& file);

// A matrix element: a dense 1-d/2-d dataset or a sparse group (csr/csc, also the 0.6
// h5sparse_* attributes). Opening validates the shape, the sparse structure (indptr length,
// monotone, ends at nnz) and the value type; `key` names it in errors ("X", "layers/counts").
class MatrixElement {
 public:
  MatrixElement() = default;
  MatrixElement(hid_t loc, const std::string& path, const std::string& file, const std::string& key);

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  const std::string& encoding() const { return encoding_; }  // array | csr_matrix | csc_matrix
  const std::string& dtype() const { return dtype_; }
  const std::string& key() const { return key_; }
  // Rows in the requested order; InputError for an index out of range, a stored column/row
  // index out of range, or a non-finite value (named by row and column).
  Matrix read_rows(const std::vector<std::int64_t>& rows) const;

 private:
  std::string file_, key_, encoding_, dtype_;
  std::int64_t rows_ = 0, cols_ = 0;
  h5::Handle dense_, data_, indices_;
  std::vector<std::int64_t> indptr_;
};

}  // namespace cellot::io::detail
