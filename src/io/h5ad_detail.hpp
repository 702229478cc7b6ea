#pragma once
// Internals shared by the h5ad reader and writer (not installed, not part of the API).
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cellot/io/h5.hpp"

namespace cellot::io::detail {

// anndata's element encodings.
std::string encoding_type(hid_t obj);  // "" when the attribute is missing
void set_encoding(hid_t obj, const char* type, const char* version, const std::string& context);

// Kind of the object at `path` under `loc`: H5I_GROUP, H5I_DATASET or H5I_BADID when missing.
H5I_type_t object_type(hid_t loc, const std::string& path);

// Reads a whole string dataset (vlen or fixed length) of any rank, flattened. `file` and `key`
// name the element in InputErrors (wrong type).
std::vector<std::string> read_strings(hid_t dset, const std::string& file, const std::string& key);
// Reads a whole numeric dataset (integer, float, or h5py's bool enum), flattened.
std::vector<double> read_doubles(hid_t dset, const std::string& file, const std::string& key);
std::vector<std::int64_t> read_int64s(hid_t dset, const std::string& file, const std::string& key);

// Attribute holding an integer array (the sparse "shape" attribute).
std::vector<std::int64_t> read_attr_int64s(hid_t obj, const std::string& name, const std::string& file,
                                           const std::string& key);

// "float32", "float64", "int32", "uint8", "bool", "string", ... of a dataset's stored type.
std::string dtype_name(hid_t dset, const std::string& context);

}  // namespace cellot::io::detail
