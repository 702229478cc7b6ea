// Element-level helpers shared by the h5ad reader and writer.
#include <cstring>

#include "cellot/core/error.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

std::string encoding_type(hid_t obj) {
  if (!h5::has_attr(obj, "encoding-type")) return {};
  return h5::read_attr_string(obj, "encoding-type", "encoding-type");
}

void set_encoding(hid_t obj, const char* type, const char* version, const std::string& context) {
  h5::write_attr_string(obj, "encoding-type", type, context);
  h5::write_attr_string(obj, "encoding-version", version, context);
}

H5I_type_t object_type(hid_t loc, const std::string& path) {
  if (!h5::exists(loc, path)) return H5I_BADID;
  h5::QuietErrors quiet;
  const hid_t id = H5Oopen(loc, path.c_str(), H5P_DEFAULT);
  if (id < 0) return H5I_BADID;  // a dangling soft link, say
  Handle obj(id);
  return H5Iget_type(obj);
}

std::vector<std::string> child_names(hid_t group, const std::string& context) {
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  CELLOT_H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &names), context);
  return names;
}

std::string convert_hint(const std::string& file) {
  std::string out = file;
  const auto dot = out.rfind(".h5ad");
  out = (dot != std::string::npos && dot + 5 == out.size() ? out.substr(0, dot) : out) + ".converted.h5ad";
  return "convert it with python3 -c \"import anndata; anndata.read_h5ad('" + file + "').write_h5ad('" + out + "')\"";
}

void check_filters(hid_t dset, const std::string& file, const std::string& key) {
  Handle dcpl(check_id(H5Dget_create_plist(dset), "H5Dget_create_plist", file + ":" + key));
  const int n = H5Pget_nfilters(dcpl);
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0;
    std::size_t nelmts = 0;
    char name[128] = {};
    const H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nelmts, nullptr, sizeof name, name,
                                           nullptr);
    if (id < 0) h5::fail("H5Pget_filter2 failed", file + ":" + key);
    if (H5Zfilter_avail(id) <= 0)
      throw InputError(file, key, std::string(name[0] ? name : "filter") + " (id " + std::to_string(id) + ")",
                       "compressed with an HDF5 filter this HDF5 library lacks; " + convert_hint(file) +
                           " (anndata writes it uncompressed)");
  }
}

Handle open_attr_reference(hid_t obj, const std::string& name, const std::string& file, const std::string& key) {
  const std::string context = file + ":" + key + "@" + name;
  Handle attr(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", context));
  Handle atype(check_id(H5Aget_type(attr), "H5Aget_type", context));
  if (H5Tget_class(atype) != H5T_REFERENCE)
    throw InputError(file, key + "@" + name, class_name(H5Tget_class(atype)), "expected an object reference");
  hobj_ref_t ref{};
  CELLOT_H5_CHECK(H5Aread(attr, H5T_STD_REF_OBJ, &ref), context);
  h5::QuietErrors quiet;
  const hid_t target = H5Rdereference2(obj, H5P_DEFAULT, H5R_OBJECT, &ref);
  if (target < 0) throw InputError(file, key + "@" + name, "", "dangling object reference");
  return Handle(target);
}

std::int64_t decode_integer(const unsigned char* p, std::size_t size, bool is_signed) {
  switch (size) {
    case 1: return is_signed ? static_cast<std::int64_t>(static_cast<std::int8_t>(*p)) : *p;
    case 2: {
      std::int16_t s;
      std::uint16_t u;
      std::memcpy(&s, p, 2);
      std::memcpy(&u, p, 2);
      return is_signed ? s : u;
    }
    case 4: {
      std::int32_t s;
      std::uint32_t u;
      std::memcpy(&s, p, 4);
      std::memcpy(&u, p, 4);
      return is_signed ? static_cast<std::int64_t>(s) : static_cast<std::int64_t>(u);
    }
    default: {
      std::int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

std::vector<std::string> decode_fixed_strings(const char* buf, std::size_t size, std::size_t n, bool space_padded) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string s(buf + i * size, size);
    const auto end = s.find('\0');
    if (end != std::string::npos) s.resize(end);
    if (space_padded) s.erase(s.find_last_not_of(' ') + 1);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

std::size_t npoints(hid_t dset, const std::string& context) {
  Handle space(check_id(H5Dget_space(dset), "H5Dget_space", context));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) h5::fail("H5Sget_simple_extent_npoints failed", context);
  return static_cast<std::size_t>(n);
}

}  // namespace

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "vlen";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    default: return "unknown";
  }
}

namespace {

// h5py stores numpy bool as an enum over int8. Enums do not convert to numbers in HDF5, so read
// the raw integers of the enum's base type.
template <class T>
std::vector<T> read_enum_as(hid_t dset, hid_t ftype, std::size_t n, const std::string& context) {
  Handle mtype(check_id(H5Tget_native_type(ftype, H5T_DIR_ASCEND), "H5Tget_native_type", context));
  const std::size_t size = H5Tget_size(mtype);
  Handle base(check_id(H5Tget_super(ftype), "H5Tget_super", context));
  const bool is_signed = H5Tget_sign(base) == H5T_SGN_2;
  std::vector<unsigned char> raw(size * n);
  if (n > 0) CELLOT_H5_CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), context);
  std::vector<T> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(decode_integer(raw.data() + i * size, size, is_signed));
  return out;
}

template <class T>
std::vector<T> read_numbers(hid_t dset, hid_t native, const std::string& file, const std::string& key) {
  const std::string context = file + ":" + key;
  check_filters(dset, file, key);
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", context));
  const H5T_class_t cls = H5Tget_class(ftype);
  const std::size_t n = npoints(dset, context);
  if (cls == H5T_ENUM) return read_enum_as<T>(dset, ftype, n, context);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw InputError(file, key, class_name(cls), "expected a numeric dataset");
  std::vector<T> out(n);
  if (n > 0) CELLOT_H5_CHECK(H5Dread(dset, native, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), context);
  return out;
}

}  // namespace

std::vector<std::string> read_strings(hid_t dset, const std::string& file, const std::string& key) {
  const std::string context = file + ":" + key;
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", context));
  const H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_STRING) throw InputError(file, key, class_name(cls), "expected a string dataset");
  check_filters(dset, file, key);
  const std::size_t n = npoints(dset, context);
  std::vector<std::string> out;
  out.reserve(n);
  // The memory type is a copy of the file type: HDF5 does not translate character sets, so a
  // UTF-8 memory type over an ASCII file type (or the reverse) would fail.
  Handle mtype(check_id(H5Tcopy(ftype), "H5Tcopy", context));
  if (H5Tis_variable_str(ftype) > 0) {
    std::vector<char*> ptrs(n, nullptr);
    if (n == 0) return out;
    Handle space(check_id(H5Dget_space(dset), "H5Dget_space", context));
    CELLOT_H5_CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), context);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    CELLOT_H5_CHECK(H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, ptrs.data()), context);
  } else {
    const std::size_t size = H5Tget_size(ftype);
    std::vector<char> buf(size * n + 1, '\0');
    if (n > 0) CELLOT_H5_CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), context);
    out = decode_fixed_strings(buf.data(), size, n, H5Tget_strpad(ftype) == H5T_STR_SPACEPAD);
  }
  return out;
}

std::vector<double> read_doubles(hid_t dset, const std::string& file, const std::string& key) {
  return read_numbers<double>(dset, H5T_NATIVE_DOUBLE, file, key);
}

std::vector<std::int64_t> read_int64s(hid_t dset, const std::string& file, const std::string& key) {
  return read_numbers<std::int64_t>(dset, H5T_NATIVE_INT64, file, key);
}

std::vector<std::int64_t> read_attr_int64s(hid_t obj, const std::string& name, const std::string& file,
                                           const std::string& key) {
  const std::string context = file + ":" + key + "@" + name;
  if (!h5::has_attr(obj, name)) throw InputError(file, key + "@" + name, "", "missing attribute");
  Handle attr(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", context));
  Handle ftype(check_id(H5Aget_type(attr), "H5Aget_type", context));
  const H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw InputError(file, key + "@" + name, class_name(cls), "expected an integer attribute");
  Handle space(check_id(H5Aget_space(attr), "H5Aget_space", context));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) h5::fail("bad attribute space", context);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  if (n > 0) CELLOT_H5_CHECK(H5Aread(attr, H5T_NATIVE_INT64, out.data()), context);
  return out;
}

std::string dtype_name(hid_t dset, const std::string& context) {
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", context));
  const H5T_class_t cls = H5Tget_class(ftype);
  const std::size_t bits = 8 * H5Tget_size(ftype);
  switch (cls) {
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_INTEGER: return (H5Tget_sign(ftype) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_ENUM: return "bool";
    case H5T_STRING: return "string";
    default: return class_name(cls);
  }
}

}  // namespace cellot::io::detail
