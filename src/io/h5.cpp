#include "cellot/io/h5.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "cellot/core/error.hpp"

namespace cellot::io::h5 {

namespace {

herr_t innermost_entry(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err && err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

}  // namespace

std::string error_reason() {
  std::string desc;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_entry, &desc);
  // The POSIX drivers describe a failed system call as "..., errno = 28, error message = '...', ...".
  const std::string tag = "error message = '";
  const auto b = desc.find(tag);
  if (b != std::string::npos) {
    const auto e = desc.find('\'', b + tag.size());
    if (e != std::string::npos) return desc.substr(b + tag.size(), e - b - tag.size());
  }
  return desc;
}

namespace {

// The file system holding the file named at the start of an error's context ("<file>" or
// "<file>:/<object>"; the file itself, or its directory if it is gone) has no block left.
bool file_system_full(const std::string& context) {
  const std::string file = context.substr(0, context.find(":/"));
  const auto slash = file.rfind('/');
  for (const std::string& p : {file, slash == std::string::npos ? std::string(".") : file.substr(0, slash + 1)}) {
    struct statvfs fs {};
    if (::statvfs(p.c_str(), &fs) == 0) return fs.f_bavail == 0;
  }
  return false;
}

}  // namespace

void fail(const std::string& what, const std::string& context) {
  const int err = errno;
  std::string reason = error_reason();
  // The MPI-IO driver reports a short write as "file write failed" without the system's reason.
  // A write that failed outright left it in errno (only the reasons a write can have are taken:
  // errno may be stale); a short write (it filled the disk) left none: the free space tells.
  if (reason.find("write failed") != std::string::npos) {
    if (err == ENOSPC || err == EDQUOT || err == EFBIG || err == EIO || err == EROFS)
      reason = std::strerror(err);
    else if (file_system_full(context))
      reason = std::strerror(ENOSPC);
  }
  throw RuntimeError(context + ": HDF5: " + what + (reason.empty() || reason == what ? "" : ": " + reason));
}

void silence_library_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

bool files_left_open() {
  QuietErrors quiet;
  return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) > 0;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

hid_t check_id(hid_t id, const char* call, const std::string& context) {
  if (id < 0) fail(std::string(call) + " failed", context);
  return id;
}

void check(herr_t rc, const char* call, const std::string& context) {
  if (rc < 0) {
    // CELLOT_H5_CHECK passes the call as written: name the function, not its arguments.
    const std::string text = call;
    fail(text.substr(0, text.find('(')) + " failed", context);
  }
}

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}
QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

bool exists(hid_t loc, const std::string& path) {
  QuietErrors quiet;
  std::string::size_type pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

bool is_hdf5(const std::string& path) {
  QuietErrors quiet;
  return H5Fis_hdf5(path.c_str()) > 0;
}

namespace {
Handle file_access(MPI_Comm comm, const std::string& path) {
  Handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path));
  if (comm != MPI_COMM_NULL) CELLOT_H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), path);
  return fapl;
}
}  // namespace

Handle open_file(const std::string& path, unsigned flags, MPI_Comm comm) {
  Handle fapl = file_access(comm, path);
  QuietErrors quiet;
  hid_t id = H5Fopen(path.c_str(), flags, fapl);
  if (id < 0) fail("cannot open file", path);
  return Handle(id);
}

Handle create_file(const std::string& path, MPI_Comm comm) {
  Handle fapl = file_access(comm, path);
  Handle fcpl(check_id(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate", path));
  CELLOT_H5_CHECK(H5Pset_obj_track_times(fcpl, false), path);
  QuietErrors quiet;
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  if (id < 0) fail("cannot create file", path);
  return Handle(id);
}

void close_file(Handle& file, const std::string& context) {
  if (!file.valid()) return;
  CELLOT_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL), context);
  // Release ownership first so a failed close is not retried by the destructor.
  const hid_t id = file.release();
  CELLOT_H5_CHECK(H5Fclose(id), context);
}

Handle open_group(hid_t loc, const std::string& path, const std::string& context) {
  return Handle(check_id(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), "H5Gopen2", context + ":" + path));
}

Handle create_group(hid_t loc, const std::string& path, const std::string& context) {
  Handle lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate", context));
  CELLOT_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), context);
  Handle gcpl(check_id(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate", context));
  CELLOT_H5_CHECK(H5Pset_obj_track_times(gcpl, false), context);
  return Handle(check_id(H5Gcreate2(loc, path.c_str(), lcpl, gcpl, H5P_DEFAULT), "H5Gcreate2",
                         context + ":" + path));
}

Handle open_dataset(hid_t loc, const std::string& path, const std::string& context) {
  return Handle(check_id(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "H5Dopen2", context + ":" + path));
}

Handle create_dataset(hid_t loc, const std::string& path, hid_t file_type, const std::vector<hsize_t>& dims,
                      const std::string& context) {
  const std::string where = context + ":" + path;
  Handle space(dims.empty() ? check_id(H5Screate(H5S_SCALAR), "H5Screate", where)
                            : check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                       "H5Screate_simple", where));
  Handle lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate", where));
  CELLOT_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), where);
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", where));
  CELLOT_H5_CHECK(H5Pset_obj_track_times(dcpl, false), where);
  return Handle(check_id(H5Dcreate2(loc, path.c_str(), file_type, space, lcpl, dcpl, H5P_DEFAULT), "H5Dcreate2",
                         where));
}

std::vector<hsize_t> dataset_dims(hid_t dset, const std::string& context) {
  Handle space(check_id(H5Dget_space(dset), "H5Dget_space", context));
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("H5Sget_simple_extent_ndims failed", context);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) CELLOT_H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), context);
  return dims;
}

Handle vlen_string_type() {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", "string type"));
  CELLOT_H5_CHECK(H5Tset_size(t, H5T_VARIABLE), "string type");
  CELLOT_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8), "string type");
  return t;
}

Handle bool_enum_type() {
  Handle t(check_id(H5Tenum_create(H5T_NATIVE_INT8), "H5Tenum_create", "bool type"));
  const std::int8_t f = 0, tr = 1;
  CELLOT_H5_CHECK(H5Tenum_insert(t, "FALSE", &f), "bool type");
  CELLOT_H5_CHECK(H5Tenum_insert(t, "TRUE", &tr), "bool type");
  return t;
}

namespace {
void replace_attr(hid_t obj, const std::string& name, const std::string& context) {
  QuietErrors quiet;
  if (H5Aexists(obj, name.c_str()) > 0) CELLOT_H5_CHECK(H5Adelete(obj, name.c_str()), context);
}
}  // namespace

void write_attr_string(hid_t obj, const std::string& name, const std::string& value, const std::string& context) {
  replace_attr(obj, name, context);
  Handle type = vlen_string_type();
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", context));
  Handle attr(check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                       context + "@" + name));
  const char* ptr = value.c_str();
  CELLOT_H5_CHECK(H5Awrite(attr, type, &ptr), context + "@" + name);
}

void write_attr_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values,
                        const std::string& context) {
  replace_attr(obj, name, context);
  Handle type = vlen_string_type();
  const hsize_t n = values.size();
  Handle space(check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", context));
  Handle attr(check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                       context + "@" + name));
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (n > 0) CELLOT_H5_CHECK(H5Awrite(attr, type, ptrs.data()), context + "@" + name);
}

void write_attr_double(hid_t obj, const std::string& name, double value, const std::string& context) {
  replace_attr(obj, name, context);
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", context));
  Handle attr(check_id(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                       "H5Acreate2", context + "@" + name));
  CELLOT_H5_CHECK(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value), context + "@" + name);
}

void write_attr_int(hid_t obj, const std::string& name, std::int64_t value, const std::string& context) {
  replace_attr(obj, name, context);
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", context));
  Handle attr(check_id(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                       "H5Acreate2", context + "@" + name));
  CELLOT_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &value), context + "@" + name);
}

bool has_attr(hid_t obj, const std::string& name) {
  QuietErrors quiet;
  return H5Aexists(obj, name.c_str()) > 0;
}

std::vector<std::string> read_attr_strings(hid_t obj, const std::string& name, const std::string& context) {
  const std::string where = context + "@" + name;
  Handle attr(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", where));
  Handle ftype(check_id(H5Aget_type(attr), "H5Aget_type", where));
  if (H5Tget_class(ftype) != H5T_STRING) fail("attribute is not a string", where);
  Handle space(check_id(H5Aget_space(attr), "H5Aget_space", where));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) fail("bad attribute space", where);
  std::vector<std::string> out;
  if (H5Tis_variable_str(ftype) > 0) {
    Handle mtype = vlen_string_type();
    std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
    if (n > 0) CELLOT_H5_CHECK(H5Aread(attr, mtype, ptrs.data()), where);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t size = H5Tget_size(ftype);
    std::vector<char> buf(size * static_cast<std::size_t>(n) + 1, '\0');
    Handle mtype(check_id(H5Tcopy(ftype), "H5Tcopy", where));
    if (n > 0) CELLOT_H5_CHECK(H5Aread(attr, mtype, buf.data()), where);
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + static_cast<std::size_t>(i) * size, size);
      s.erase(s.find_last_not_of('\0') + 1);
      out.push_back(s);
    }
  }
  return out;
}

std::string read_attr_string(hid_t obj, const std::string& name, const std::string& context) {
  auto v = read_attr_strings(obj, name, context);
  if (v.size() != 1) fail("attribute is not a scalar string", context + "@" + name);
  return v[0];
}

double read_attr_double(hid_t obj, const std::string& name, const std::string& context) {
  const std::string where = context + "@" + name;
  Handle attr(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", where));
  double v = 0;
  CELLOT_H5_CHECK(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), where);
  return v;
}

std::int64_t read_attr_int(hid_t obj, const std::string& name, const std::string& context) {
  const std::string where = context + "@" + name;
  Handle attr(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", where));
  std::int64_t v = 0;
  CELLOT_H5_CHECK(H5Aread(attr, H5T_NATIVE_INT64, &v), where);
  return v;
}

}  // namespace cellot::io::h5

namespace cellot::io::h5 {

namespace {
template <class T>
std::vector<std::int64_t> read_whole_as(hid_t loc, const std::string& name, std::vector<T>& values, hid_t mem_type,
                                        const std::string& context) {
  Handle ds = open_dataset(loc, name, context);
  std::vector<std::int64_t> shape;
  std::int64_t n = 1;
  for (auto d : dataset_dims(ds, context + ":" + name)) {
    shape.push_back(static_cast<std::int64_t>(d));
    n *= static_cast<std::int64_t>(d);
  }
  values.resize(static_cast<std::size_t>(n));
  if (n > 0) CELLOT_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), context + ":" + name);
  return shape;
}
}  // namespace

std::vector<std::int64_t> read_whole(hid_t loc, const std::string& name, std::vector<float>& values,
                                     const std::string& context) {
  return read_whole_as(loc, name, values, H5T_NATIVE_FLOAT, context);
}

std::vector<std::int64_t> read_whole(hid_t loc, const std::string& name, std::vector<double>& values,
                                     const std::string& context) {
  return read_whole_as(loc, name, values, H5T_NATIVE_DOUBLE, context);
}

std::vector<hsize_t> dims_of_shape(const std::vector<std::int64_t>& shape, std::size_t count, const std::string& what) {
  std::int64_t n = 1;
  std::vector<hsize_t> dims;
  for (auto s : shape) {
    n *= s;
    dims.push_back(static_cast<hsize_t>(s));
  }
  CELLOT_CHECK(n == static_cast<std::int64_t>(count), what + " size does not match its shape");
  return dims;
}

}  // namespace cellot::io::h5
