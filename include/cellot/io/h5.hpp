#pragma once
// Thin RAII over the HDF5 C API. Every call that returns herr_t/hid_t goes through
// CELLOT_H5_CHECK / check_id, so a failure becomes an exception naming the call and the file.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cellot::io::h5 {

// Error from the HDF5 library (RuntimeError semantics: exit 1) unless the caller converts it.
// The message ends with the reason at the bottom of HDF5's error stack when there is one (the
// system's, e.g. "No space left on device").
[[noreturn]] void fail(const std::string& what, const std::string& context);

// The innermost entry of HDF5's current error stack: the system's error message when a file
// operation failed ("No space left on device"), else the library's description; "" if none.
std::string error_reason();

// HDF5 prints its error stack on every failed call unless told not to; we report errors
// ourselves (one line, reason included). Called once after MPI is initialised.
void silence_library_errors();

// Files the library still holds open. After a failed command, a file whose close failed (its
// metadata could not be flushed, e.g. on a full disk) would be closed again by the library's
// clean-up at MPI_Finalize, which then crashes or loops: the caller exits without it.
bool files_left_open();

// Owns one hid_t and closes it with the right H5*close for its type.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }  // caller closes
  void reset();  // closes (H5Fclose/H5Gclose/H5Dclose/H5Aclose/H5Sclose/H5Tclose/H5Pclose by type)

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Wraps a hid_t-returning call: throws when negative.
hid_t check_id(hid_t id, const char* call, const std::string& context);
void check(herr_t rc, const char* call, const std::string& context);

// Silences HDF5's own error stack printing for the lifetime of the object (we report ourselves).
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Small helpers used by the h5ad and store layers.
bool exists(hid_t loc, const std::string& path);  // link exists (every intermediate group too)
bool is_hdf5(const std::string& path);

// Files, groups and datasets we create carry no modification times (H5Pset_obj_track_times
// off), so that the same content gives a bit-identical file (reproducible synthetic data).
Handle open_file(const std::string& path, unsigned flags, MPI_Comm comm = MPI_COMM_NULL);
Handle create_file(const std::string& path, MPI_Comm comm = MPI_COMM_NULL);  // truncates
Handle open_group(hid_t loc, const std::string& path, const std::string& context);
Handle create_group(hid_t loc, const std::string& path, const std::string& context);  // with parents
Handle open_dataset(hid_t loc, const std::string& path, const std::string& context);
// Contiguous dataset of `file_type` with the given dimensions (empty dims: scalar).
Handle create_dataset(hid_t loc, const std::string& path, hid_t file_type, const std::vector<hsize_t>& dims,
                      const std::string& context);
// Dimensions of a dataset's dataspace (empty for a scalar).
std::vector<hsize_t> dataset_dims(hid_t dset, const std::string& context);
// A whole (existing) dataset `name` of `loc` read into `values`, converted to the element type;
// returns its shape.
std::vector<std::int64_t> read_whole(hid_t loc, const std::string& name, std::vector<float>& values,
                                     const std::string& context);
std::vector<std::int64_t> read_whole(hid_t loc, const std::string& name, std::vector<double>& values,
                                     const std::string& context);
// The dataspace dimensions of `shape`; an internal error naming `what` unless the shape holds
// exactly `count` values.
std::vector<hsize_t> dims_of_shape(const std::vector<std::int64_t>& shape, std::size_t count, const std::string& what);
// Closes a file checking the return code (Handle::reset ignores it; a failed close of a file we
// wrote means lost data).
void close_file(Handle& file, const std::string& context);

// Attributes (scalar string / numeric) on any object.
void write_attr_string(hid_t obj, const std::string& name, const std::string& value, const std::string& context);
void write_attr_strings(hid_t obj, const std::string& name, const std::vector<std::string>& values,
                        const std::string& context);
void write_attr_double(hid_t obj, const std::string& name, double value, const std::string& context);
void write_attr_int(hid_t obj, const std::string& name, std::int64_t value, const std::string& context);
bool has_attr(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name, const std::string& context);
std::vector<std::string> read_attr_strings(hid_t obj, const std::string& name, const std::string& context);
double read_attr_double(hid_t obj, const std::string& name, const std::string& context);
std::int64_t read_attr_int(hid_t obj, const std::string& name, const std::string& context);

// Variable-length UTF-8 string type (as anndata writes strings).
Handle vlen_string_type();
// The enum h5py uses for numpy bool (int8 base, FALSE = 0, TRUE = 1).
Handle bool_enum_type();

}  // namespace cellot::io::h5

#define CELLOT_H5_CHECK(call, context) ::cellot::io::h5::check((call), #call, (context))
