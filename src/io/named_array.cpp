#include "cellot/io/named_array.hpp"

#include "cellot/core/error.hpp"
#include "cellot/io/h5.hpp"

namespace cellot::io {

const NamedArray* ArrayGroup::find(const std::string& name) const {
  for (const auto& a : arrays)
    if (a.name == name) return &a;
  return nullptr;
}

void write_array_group(hid_t loc, const std::string& path, const ArrayGroup& group, const std::string& context,
                       bool write_data) {
  h5::Handle grp = h5::create_group(loc, path, context);
  std::vector<std::string> names;
  for (const auto& a : group.arrays) {
    CELLOT_CHECK(!a.name.empty() && a.name.find('/') == std::string::npos, "array name '" + a.name + "'");
    h5::Handle ds = h5::create_dataset(grp, a.name, H5T_IEEE_F64LE, h5::dims_of_shape(a.shape, a.values.size(), context + ": array '" + a.name + "'"), context);
    if (write_data && !a.values.empty())
      CELLOT_H5_CHECK(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()), context + ":" + a.name);
    names.push_back(a.name);
  }
  h5::write_attr_strings(grp, "names", names, context);
  h5::write_attr_string(grp, "spec", group.spec, context);
}

void write_array_group_data(hid_t loc, const std::string& path, const ArrayGroup& group, const std::string& context) {
  h5::Handle grp = h5::open_group(loc, path, context);
  for (const auto& a : group.arrays) {
    if (a.values.empty()) continue;
    h5::Handle ds = h5::open_dataset(grp, a.name, context);
    CELLOT_H5_CHECK(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()), context + ":" + a.name);
  }
}

ArrayGroup read_array_group(hid_t loc, const std::string& path, const std::string& context) {
  if (!h5::exists(loc, path)) throw InputError(context, path, "", "missing");
  h5::Handle grp = h5::open_group(loc, path, context);
  if (!h5::has_attr(grp, "names") || !h5::has_attr(grp, "spec"))
    throw InputError(context, path, "", "not an array group (no names / spec attribute)");
  ArrayGroup out;
  out.spec = h5::read_attr_string(grp, "spec", context);
  for (const auto& name : h5::read_attr_strings(grp, "names", context)) {
    if (!h5::exists(grp, name)) throw InputError(context, path + "/" + name, "", "array missing");
    NamedArray a;
    a.name = name;
    a.shape = h5::read_whole(grp, name, a.values, context);
    out.arrays.push_back(std::move(a));
  }
  return out;
}

}  // namespace cellot::io
