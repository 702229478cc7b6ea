// Members of HDF5 compound datasets, as anndata 0.6 wrote obs, var (a record per cell / gene,
// the index first) and, up to 0.6.18, obsm (a record per cell, one array member per key).
// A member is read alone through a one-member memory compound type: HDF5 matches members by
// name and converts the values, so the other members are never decoded.
#include <cstring>

#include "cellot/core/error.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

namespace {

struct Member {
  Handle type;  // the member's file type
  H5T_class_t cls = H5T_NO_CLASS;
};

Member open_member(hid_t dset, const std::string& member, const std::string& file, const std::string& key) {
  const std::string context = file + ":" + key;
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", context));
  if (H5Tget_class(ftype) != H5T_COMPOUND) throw InputError(file, key, "", "expected a compound dataset");
  const int idx = H5Tget_member_index(ftype, member.c_str());
  if (idx < 0) throw InputError(file, key, member, "no such field in the compound dataset");
  Member m;
  m.type = Handle(check_id(H5Tget_member_type(ftype, static_cast<unsigned>(idx)), "H5Tget_member_type", context));
  m.cls = H5Tget_class(m.type);
  return m;
}

std::size_t npoints(hid_t dset, const std::string& context) {
  Handle space(check_id(H5Dget_space(dset), "H5Dget_space", context));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) h5::fail("H5Sget_simple_extent_npoints failed", context);
  return static_cast<std::size_t>(n);
}

// Reads one member into `out` (n records of H5Tget_size(mem_member) bytes).
void read_member_raw(hid_t dset, const std::string& member, hid_t mem_member, std::vector<unsigned char>& out,
                     std::size_t n, const std::string& context) {
  const std::size_t size = H5Tget_size(mem_member);
  Handle mtype(check_id(H5Tcreate(H5T_COMPOUND, size), "H5Tcreate", context));
  CELLOT_H5_CHECK(H5Tinsert(mtype, member.c_str(), 0, mem_member), context);
  out.assign(size * n, 0);
  if (n > 0) CELLOT_H5_CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), context);
}

}  // namespace

std::vector<std::string> compound_members(hid_t dset, const std::string& context) {
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", context));
  std::vector<std::string> names;
  if (H5Tget_class(ftype) != H5T_COMPOUND) return names;
  const int n = H5Tget_nmembers(ftype);
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(ftype, static_cast<unsigned>(i));
    if (!name) h5::fail("H5Tget_member_name failed", context);
    names.emplace_back(name);
    H5free_memory(name);
  }
  return names;
}

H5T_class_t compound_member_class(hid_t dset, const std::string& member, const std::string& context) {
  Member m = open_member(dset, member, context, member);
  if (m.cls != H5T_ARRAY) return m.cls;
  Handle base(check_id(H5Tget_super(m.type), "H5Tget_super", context));
  return H5Tget_class(base);
}

std::vector<std::string> read_member_strings(hid_t dset, const std::string& member, const std::string& file,
                                             const std::string& key) {
  const std::string context = file + ":" + key;
  Member m = open_member(dset, member, file, key);
  if (m.cls != H5T_STRING) throw InputError(file, key, class_name(m.cls), "expected a string field");
  const std::size_t n = npoints(dset, context);
  Handle mem(check_id(H5Tcopy(m.type), "H5Tcopy", context));  // same character set (see read_strings)
  std::vector<unsigned char> raw;
  if (H5Tis_variable_str(m.type) > 0) {
    read_member_raw(dset, member, mem, raw, n, context);
    std::vector<std::string> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      char* p = nullptr;
      std::memcpy(&p, raw.data() + i * sizeof(char*), sizeof(char*));
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  read_member_raw(dset, member, mem, raw, n, context);
  return decode_fixed_strings(reinterpret_cast<const char*>(raw.data()), H5Tget_size(m.type), n,
                              H5Tget_strpad(m.type) == H5T_STR_SPACEPAD);
}

std::vector<double> read_member_doubles(hid_t dset, const std::string& member, const std::string& file,
                                        const std::string& key, std::int64_t* width) {
  const std::string context = file + ":" + key;
  Member m = open_member(dset, member, file, key);
  const std::size_t n = npoints(dset, context);
  std::vector<unsigned char> raw;
  std::vector<double> out;
  if (width) *width = 1;
  if (m.cls == H5T_ARRAY) {
    const int ndims = H5Tget_array_ndims(m.type);
    if (ndims < 1) h5::fail("H5Tget_array_ndims failed", context);
    std::vector<hsize_t> dims(static_cast<std::size_t>(ndims));
    if (H5Tget_array_dims2(m.type, dims.data()) < 0) h5::fail("H5Tget_array_dims2 failed", context);
    hsize_t w = 1;
    for (hsize_t d : dims) w *= d;
    Handle base(check_id(H5Tget_super(m.type), "H5Tget_super", context));
    const H5T_class_t bc = H5Tget_class(base);
    if (bc != H5T_FLOAT && bc != H5T_INTEGER)
      throw InputError(file, key, class_name(bc), "expected an array field of numbers");
    Handle mem(check_id(H5Tarray_create2(H5T_NATIVE_DOUBLE, ndims, dims.data()), "H5Tarray_create2", context));
    read_member_raw(dset, member, mem, raw, n, context);
    out.resize(n * w);
    std::memcpy(out.data(), raw.data(), out.size() * sizeof(double));
    if (width) *width = static_cast<std::int64_t>(w);
    return out;
  }
  if (m.cls == H5T_ENUM) {  // h5py's bool
    Handle mem(check_id(H5Tget_native_type(m.type, H5T_DIR_ASCEND), "H5Tget_native_type", context));
    Handle base(check_id(H5Tget_super(m.type), "H5Tget_super", context));
    read_member_raw(dset, member, mem, raw, n, context);
    const std::size_t size = H5Tget_size(mem);
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<double>(decode_integer(raw.data() + i * size, size, H5Tget_sign(base) == H5T_SGN_2)));
    return out;
  }
  if (m.cls != H5T_FLOAT && m.cls != H5T_INTEGER)
    throw InputError(file, key, class_name(m.cls), "expected a numeric field");
  read_member_raw(dset, member, H5T_NATIVE_DOUBLE, raw, n, context);
  out.resize(n);
  std::memcpy(out.data(), raw.data(), n * sizeof(double));
  return out;
}

std::vector<std::int64_t> read_member_int64s(hid_t dset, const std::string& member, const std::string& file,
                                             const std::string& key) {
  const std::string context = file + ":" + key;
  Member m = open_member(dset, member, file, key);
  if (m.cls != H5T_INTEGER) {
    std::vector<std::int64_t> out;
    for (double v : read_member_doubles(dset, member, file, key)) out.push_back(static_cast<std::int64_t>(v));
    return out;
  }
  const std::size_t n = npoints(dset, context);
  std::vector<unsigned char> raw;
  read_member_raw(dset, member, H5T_NATIVE_INT64, raw, n, context);
  std::vector<std::int64_t> out(n);
  std::memcpy(out.data(), raw.data(), n * sizeof(std::int64_t));
  return out;
}

}  // namespace cellot::io::detail
