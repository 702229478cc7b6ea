#pragma once
// Named float64 arrays with their shapes under one HDF5 group (a fitted feature transform in a
// results store or a model directory): one dataset per array, in the order of the group's
// `names` attribute, plus a text attribute `spec` describing what they are. Readable with h5py.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cellot::io {

struct NamedArray {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // row-major
};

// A group's content: spec text and arrays.
struct ArrayGroup {
  std::string spec;
  std::vector<NamedArray> arrays;
  const NamedArray* find(const std::string& name) const;
};

// Writes `group` under `loc` (the group `path` is created). With `write_data` false the datasets
// are created but not written (parallel HDF5: structure is collective, data written by one rank
// with write_array_group_data).
void write_array_group(hid_t loc, const std::string& path, const ArrayGroup& group, const std::string& context,
                       bool write_data = true);
void write_array_group_data(hid_t loc, const std::string& path, const ArrayGroup& group, const std::string& context);
// InputError naming `context` and the element when the group is missing or malformed.
ArrayGroup read_array_group(hid_t loc, const std::string& path, const std::string& context);

}  // namespace cellot::io
