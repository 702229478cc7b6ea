// The results store (docs/STORE.md). Which calls are collective:
//   collective over the store communicator: create, open, write_provenance_*, write_merged_from,
//     close (structure and attributes are metadata: every rank must make the same calls with
//     the same arguments);
//   independent: write_row, write_state, read_* (raw data of preallocated datasets only).
#include "cellot/io/store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

#include "cellot/core/error.hpp"
#include "cellot/core/fault.hpp"
#include "cellot/core/log.hpp"
#include "cellot/io/h5.hpp"
#include "detail/provenance.hpp"
#include "detail/run_records.hpp"
#include "detail/store_schema.hpp"

namespace cellot::io {

using h5::check_id;
using h5::Handle;

const char* state_name(TaskState s) {
  switch (s) {
    case TaskState::pending:
      return "pending";
    case TaskState::running:
      return "running";
    case TaskState::done:
      return "done";
    case TaskState::failed:
      return "failed";
    case TaskState::diverged:
      return "diverged";
  }
  return "unknown";
}

std::vector<std::string> state_names() { return {"pending", "running", "done", "failed", "diverged"}; }

const std::vector<std::string>& phase_names() {
  static const std::vector<std::string> names = {"load", "train", "predict", "metrics", "write"};
  return names;
}

const ArrayGroup* StoreSpec::transform(const std::string& key) const {
  for (const auto& t : transforms)
    if (t.first == key) return &t.second;
  return nullptr;
}

const ParamLayout* StoreSpec::param_layout(const std::string& model) const {
  for (const auto& p : params)
    if (p.model == model) return &p;
  return nullptr;
}

std::string format_layout(const std::vector<std::string>& names, const std::vector<std::vector<std::int64_t>>& shapes) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ';';
    out += names[i] + ':';
    const auto& s = shapes[i];
    for (std::size_t k = 0; k < s.size(); ++k) out += (k ? "x" : "") + std::to_string(s[k]);
  }
  return out;
}

namespace {

using detail::kColumnsLen;
using detail::kHostLen;
using detail::kLayoutLen;
using detail::kMessageLen;
using detail::kTimeLen;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Handle fixed_string_type(std::size_t n, const std::string& ctx) {
  Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", ctx));
  CELLOT_H5_CHECK(H5Tset_size(t, n), ctx);
  CELLOT_H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD), ctx);
  return t;
}

std::size_t max_len(const std::vector<std::string>& v) {
  std::size_t n = 1;
  for (const auto& s : v) n = std::max(n, s.size() + 1);
  return n;
}

// Packs strings into a fixed-width, NUL-padded buffer (truncating: messages may be long).
std::vector<char> pack(const std::vector<std::string>& v, std::size_t width) {
  std::vector<char> buf(v.size() * width, '\0');
  for (std::size_t i = 0; i < v.size(); ++i)
    std::memcpy(buf.data() + i * width, v[i].data(), std::min(v[i].size(), width));
  return buf;
}

std::vector<std::string> unpack(const std::vector<char>& buf, std::size_t width) {
  std::vector<std::string> out;
  if (width == 0) return out;
  for (std::size_t i = 0; i < buf.size() / width; ++i) {
    const char* p = buf.data() + i * width;
    out.emplace_back(p, strnlen(p, width));
  }
  return out;
}

// A preallocated, contiguous dataset: early allocation makes later independent raw writes
// metadata-free; fill values are never written (the creator initialises what must read as
// pending, the rest of a row is meaningful only once its done flag is set).
Handle make_dataset(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                    const std::string& ctx) {
  const std::string where = ctx + ":" + name;
  Handle space(
      check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple", where));
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", where));
  CELLOT_H5_CHECK(H5Pset_layout(dcpl, H5D_CONTIGUOUS), where);
  CELLOT_H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), where);
  CELLOT_H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), where);
  return Handle(
      check_id(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2", where));
}

std::vector<hsize_t> dims_of(hid_t dset, const std::string& ctx) {
  Handle space(check_id(H5Dget_space(dset), "H5Dget_space", ctx));
  const int nd = H5Sget_simple_extent_ndims(space);
  if (nd < 0) h5::fail("H5Sget_simple_extent_ndims failed", ctx);
  std::vector<hsize_t> dims(static_cast<std::size_t>(nd));
  if (nd > 0) CELLOT_H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr), ctx);
  return dims;
}

// Rows [row, row + nrows) of a dataset (all of every other dimension) to / from `buf`.
void slab_io(bool write, hid_t dset, hid_t memtype, hsize_t row, hsize_t nrows, void* buf, const std::string& ctx) {
  if (nrows == 0) return;
  auto dims = dims_of(dset, ctx);
  if (dims.empty() || row + nrows > dims[0]) h5::fail("row range out of bounds", ctx);
  Handle fspace(check_id(H5Dget_space(dset), "H5Dget_space", ctx));
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = row;
  count[0] = nrows;
  CELLOT_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), ctx);
  Handle mspace(
      check_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple", ctx));
  if (write)
    CELLOT_H5_CHECK(H5Dwrite(dset, memtype, mspace, fspace, H5P_DEFAULT, buf), ctx);
  else
    CELLOT_H5_CHECK(H5Dread(dset, memtype, mspace, fspace, H5P_DEFAULT, buf), ctx);
}

template <class T>
std::vector<T> read_all(hid_t dset, hid_t memtype, const std::string& ctx) {
  auto dims = dims_of(dset, ctx);
  std::size_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<T> out(n);
  if (n > 0) CELLOT_H5_CHECK(H5Dread(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), ctx);
  return out;
}

std::vector<std::string> read_strings(hid_t dset, const std::string& ctx) {
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", ctx));
  const std::size_t width = H5Tget_size(ftype);
  if (width == 0) h5::fail("bad string width", ctx);
  Handle mtype = fixed_string_type(width, ctx);
  auto dims = dims_of(dset, ctx);
  std::vector<char> raw(dims.empty() ? 0 : dims[0] * width);
  if (!raw.empty()) CELLOT_H5_CHECK(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), ctx);
  return unpack(raw, width);
}

std::size_t string_width(hid_t dset, const std::string& ctx) {
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", ctx));
  return H5Tget_size(ftype);
}

// The byte images of one task's row, exactly as stored: the checksum is computed over these at
// write time and recomputed from the file when a done flag is to be trusted.
struct RowImage {
  std::vector<double> value, sd;
  std::vector<std::int32_t> iterations;
  std::vector<double> curves;  // P x C
  std::int32_t curve_count = 0;
  std::vector<char> curve_columns;  // kColumnsLen
  std::vector<float> params;        // max_size (empty: model has no params group)
  std::int64_t params_count = 0;
  std::vector<char> layout;        // kLayoutLen
  std::vector<float> predictions;  // count x d
  std::vector<std::int64_t> cells;
  std::int64_t prediction_count = 0;
  // d values each: predicted, observed, then (spec.iid) iid predicted, iid observed; empty for a
  // store without /effects.
  std::vector<double> effects;

  // XXH3-64 of the parts in this order (stores recording "xxh3-64"), or FNV-1a-64 chained over
  // them (stores written before, which keep their checksums).
  std::uint64_t checksum(HashScheme scheme) const {
    Xxh3Stream x;
    std::uint64_t f = kFnv1a64Offset;
    auto put = [&](const void* data, std::size_t n) {
      if (scheme == HashScheme::xxh3_64)
        x.update(data, n);
      else
        f = fnv1a64(data, n, f);
    };
    put(value.data(), value.size() * sizeof(double));
    put(sd.data(), sd.size() * sizeof(double));
    put(iterations.data(), iterations.size() * sizeof(std::int32_t));
    put(curves.data(), curves.size() * sizeof(double));
    put(&curve_count, sizeof curve_count);
    put(curve_columns.data(), curve_columns.size());
    put(params.data(), params.size() * sizeof(float));
    put(&params_count, sizeof params_count);
    put(layout.data(), layout.size());
    put(predictions.data(), predictions.size() * sizeof(float));
    put(cells.data(), cells.size() * sizeof(std::int64_t));
    put(&prediction_count, sizeof prediction_count);
    // Stores without /effects keep their checksums (nothing is hashed for an empty image).
    if (!effects.empty()) put(effects.data(), effects.size() * sizeof(double));
    return scheme == HashScheme::xxh3_64 ? x.digest() : f;
  }
};


}  // namespace

struct Store::Impl {
  std::string path;
  StoreSpec spec;
  MPI_Comm comm = MPI_COMM_NULL;
  bool writable = false;
  Handle file;
  std::map<std::string, Handle> dsets;
  std::vector<std::int64_t> params_row, pred_offset;
  std::size_t key_len = 0, pert_len = 0;
  // The run record of the run started by write_provenance_start (its first slot, -1: none) and
  // the slot its end record goes to (rank 0 of the store communicator).
  std::int64_t run_slot = -1, next_slot = -1;

  hid_t d(const std::string& name) const {
    auto it = dsets.find(name);
    if (it == dsets.end()) throw InternalError(__FILE__, __LINE__, "store dataset not open: " + name);
    return it->second.get();
  }
  bool has(const std::string& name) const { return dsets.count(name) > 0; }
  std::string ctx(const std::string& what) const { return path + ":" + what; }

  void open_dataset(const std::string& name) {
    dsets[name] = Handle(check_id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "H5Dopen2", ctx(name)));
  }

  std::int64_t d_features() const { return static_cast<std::int64_t>(spec.features.size()); }

  RowImage encode(std::int64_t task, const TaskRow& row, std::string& notes) const;
  RowImage read_image(std::int64_t task) const;
  void write_image(std::int64_t task, const RowImage& img) const;
};

Store::Store() = default;
Store::~Store() {
  if (!impl_ || !impl_->file.valid()) return;
  // Closing is collective with the MPI-IO driver. A store destroyed while an exception unwinds
  // (on this rank only, typically) must not enter a collective the other ranks never join: the
  // handles are then only released (an extra reference keeps the library from closing), and the
  // job is aborted by the caller. Rows written so far are on disk already.
  int size = 1;
  if (impl_->comm != MPI_COMM_NULL) MPI_Comm_size(impl_->comm, &size);
  if (size > 1 && std::uncaught_exceptions() > 0) {
    H5Iinc_ref(impl_->file.get());
    for (auto& [name, h] : impl_->dsets) H5Iinc_ref(h.get());
  }
  impl_->dsets.clear();
  impl_->file.reset();
}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

const std::string& Store::path() const { return impl_->path; }
const StoreSpec& Store::spec() const { return impl_->spec; }

namespace {

// Rank 0 writes every column's initial rows (the plan table, pending states, empty strings).
void write_initial(hid_t file, const std::string& path, const std::vector<detail::Column>& schema) {
  for (const auto& col : schema) {
    if (!col.initial || col.dims.empty()) continue;
    std::size_t per_row = 1;
    for (std::size_t k = 1; k < col.dims.size(); ++k) per_row *= col.dims[k];
    std::vector<detail::Value> values;
    values.reserve(col.dims[0] * per_row);
    for (std::size_t r = 0; r < col.dims[0]; ++r)
      for (std::size_t k = 0; k < per_row; ++k) values.push_back(col.initial(r));
    auto bytes = detail::encode_values(col, values);
    const std::string ctx = path + ":" + col.path;
    Handle mem = detail::memory_type(col, ctx);
    Handle dset = h5::open_dataset(file, col.path, ctx);
    slab_io(true, dset, mem, 0, col.dims[0], bytes.data(), ctx);
  }
}

void write_spec_attributes(hid_t file, const StoreSpec& spec, const std::string& c) {
  for (const auto& a : detail::spec_attributes()) {
    Handle grp = h5::open_group(file, a.group, c);
    if (a.text) h5::write_attr_string(grp, a.name, spec.*a.text, c);
    if (a.list) h5::write_attr_strings(grp, a.name, spec.*a.list, c);
    if (a.integer) h5::write_attr_int(grp, a.name, spec.*a.integer, c);
  }
}

void read_spec_attributes(hid_t file, StoreSpec& spec, const std::string& c) {
  for (const auto& a : detail::spec_attributes()) {
    Handle grp = h5::open_group(file, a.group, c);
    if (a.text) spec.*a.text = h5::read_attr_string(grp, a.name, c);
    if (a.list) spec.*a.list = h5::read_attr_strings(grp, a.name, c);
    if (a.integer) spec.*a.integer = static_cast<int>(h5::read_attr_int(grp, a.name, c));
  }
}

// Group attributes that are constants or describe the parameter groups (read back on open).
void write_group_attributes(hid_t file, const StoreSpec& spec, const std::string& c) {
  Handle status = h5::open_group(file, "/status", c);
  h5::write_attr_int(h5::open_group(file, "/plan", c), "n_features", static_cast<std::int64_t>(spec.features.size()),
                     c);
  h5::write_attr_strings(status, "state_names", state_names(), c);
  h5::write_attr_strings(status, "phase_columns", phase_names(), c);
  for (const auto& p : spec.params) {
    Handle grp = h5::open_group(file, "/params/" + p.model, c);
    h5::write_attr_strings(grp, "names", p.names, c);
    std::vector<std::string> shapes;
    for (const auto& sh : p.shapes) shapes.push_back(format_layout({""}, {sh}).substr(1));
    h5::write_attr_strings(grp, "shapes", shapes, c);
    h5::write_attr_int(grp, "max_size", p.max_size, c);
  }
  if (spec.save_predictions)
    h5::write_attr_strings(h5::open_group(file, "/predictions", c), "features", spec.features, c);
}

std::vector<ParamLayout> read_param_layouts(hid_t file, const StoreSpec& spec, const std::string& c) {
  std::vector<ParamLayout> out;
  for (const auto& model : spec.models) {
    const std::string g = "/params/" + model;
    if (!h5::exists(file, g)) continue;
    Handle grp = h5::open_group(file, g, c);
    ParamLayout p;
    p.model = model;
    p.names = h5::read_attr_strings(grp, "names", c);
    for (const auto& sh : h5::read_attr_strings(grp, "shapes", c)) {
      std::vector<std::int64_t> dims;
      for (const auto& x : detail::split(sh, 'x'))
        if (!x.empty()) dims.push_back(std::stoll(x));
      p.shapes.push_back(dims);
    }
    p.max_size = h5::read_attr_int(grp, "max_size", c);
    out.push_back(p);
  }
  return out;
}

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Removes a file when it goes out of scope, unless kept (an empty path: nothing to remove).
// Declared after the store, it unlinks the file before the store's handle lets go of it on the
// way out of an exception; the space is freed when the handle (or the process) closes it.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(std::string path) : path_(std::move(path)) {}
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  ~RemoveUnlessKept() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

Store Store::create(const std::string& path, const StoreSpec& spec, MPI_Comm comm) {
  if (spec.tasks.empty()) throw InputError(path, "plan", "0 tasks", "the plan has no tasks");
  if (spec.metric_names.empty()) throw InputError(path, "metrics.names", "", "no metrics selected");
  if (!spec.owned.empty() && spec.owned.size() != spec.tasks.size())
    throw InternalError(__FILE__, __LINE__, "owned mask size differs from the plan");
  for (const auto& t : spec.tasks)
    if (t.model.size() >= detail::kModelLen)
      throw InputError(path, "model", t.model, "model name too long for the store");
  Store s;
  s.impl_ = std::make_unique<Impl>();
  Impl& m = *s.impl_;
  m.path = path;
  m.spec = spec;
  if (m.spec.owned.empty()) m.spec.owned.assign(spec.tasks.size(), 1);
  m.comm = comm;
  m.writable = true;
  int rank = 0;
  if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
  std::vector<std::string> keys, perts;
  for (const auto& t : spec.tasks) {
    keys.push_back(t.key);
    perts.push_back(t.perturbation);
  }
  m.key_len = max_len(keys);
  m.pert_len = max_len(perts);
  std::map<std::string, std::int64_t> per_model;
  std::int64_t n_pred = 0;
  detail::compute_rows(m.spec, m.params_row, m.pred_offset, per_model, n_pred);
  const auto schema = detail::store_schema(m.spec, m.params_row, m.pred_offset, m.key_len, m.pert_len);

  // Created under a temporary name and renamed once complete: a job killed while creating leaves
  // `<path>.creating` (removed and started afresh by the next run), never a half-made store at
  // `path` that --resume would refuse on every requeue.
  // A creation that fails (a full disk, a lost file system) removes its half-made file itself.
  const std::string tmp = creating_path(path);
  RemoveUnlessKept partial{rank == 0 ? tmp : std::string()};
  m.file = h5::create_file(tmp, comm);
  const std::string c = path;
  {
    Handle root(check_id(H5Gopen2(m.file, "/", H5P_DEFAULT), "H5Gopen2", c));
    h5::write_attr_string(root, "format", "cellot-store", c);
    h5::write_attr_int(root, "format_version", 1, c);
    // Absent in stores written before (legacy hashes): such a store, resumed or merged, keeps
    // being written without it.
    if (spec.hash != HashScheme::legacy) h5::write_attr_string(root, "checksum", hash_scheme_name(spec.hash), c);
  }
  for (const char* g : {"/plan", "/status", "/metrics", "/curves", "/params", "/provenance"})
    h5::create_group(m.file, g, c);
  detail::create_run_records(m.file, c);
  m.open_dataset(detail::kRunsDataset);
  for (const auto& col : schema) {
    if (!h5::exists(m.file, parent_of(col.path))) h5::create_group(m.file, parent_of(col.path), c);
    Handle type = detail::file_type(col, c);
    m.dsets[col.path] = make_dataset(m.file, col.path, type, col.dims, c);
  }
  if (!spec.transforms.empty()) {
    // Structure collectively, the (identical) values by rank 0 alone.
    Handle grp = h5::create_group(m.file, "/transform", c);
    std::vector<std::string> keys;
    for (const auto& [key, g] : spec.transforms) {
      write_array_group(m.file, "/transform/" + key, g, c, /*write_data=*/false);
      keys.push_back(key);
    }
    h5::write_attr_strings(grp, "keys", keys, c);
    if (rank == 0)
      for (const auto& [key, g] : spec.transforms) write_array_group_data(m.file, "/transform/" + key, g, c);
  }

  // Attributes: identical on every rank (collective).
  write_spec_attributes(m.file, m.spec, c);
  write_group_attributes(m.file, m.spec, c);
  // The plan table and the initial status are written by rank 0 alone (raw data).
  if (rank == 0) write_initial(m.file, path, schema);
  fault::kill_point("store_create");
  // Structure and the plan table reach the file before any task row is written, so a job
  // killed later leaves a store that opens (H5Fflush is collective with the MPI-IO driver).
  CELLOT_H5_CHECK(H5Fflush(m.file, H5F_SCOPE_GLOBAL), c);
  // Bound: every rank of comm creates the store (collective); a dead rank ends the job.
  if (comm != MPI_COMM_NULL) MPI_Barrier(comm);
  int rename_errno = 0;
  if (rank == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) rename_errno = errno;
  if (comm != MPI_COMM_NULL) MPI_Bcast(&rename_errno, 1, MPI_INT, 0, comm);
  if (rename_errno != 0)
    throw RuntimeError(path + ": could not rename the new store from " + tmp + ": " + std::strerror(rename_errno));
  partial.keep();
  return s;
}

std::string creating_path(const std::string& path) { return path + ".creating"; }

namespace {

HashScheme read_hash_scheme(hid_t root, const std::string& c) {
  const std::string text = h5::has_attr(root, "checksum") ? h5::read_attr_string(root, "checksum", c) : "";
  HashScheme scheme = HashScheme::legacy;
  if (!parse_hash_scheme(text, scheme))
    throw InputError(c, "checksum", text, "unknown checksum hash (a store written by a newer cellot?)");
  return scheme;
}

}  // namespace

HashScheme stored_hash_scheme(const std::string& path) {
  if (!h5::is_hdf5(path)) throw InputError(path, "--store", path, "not an HDF5 file (or missing)");
  Handle file = h5::open_file(path, H5F_ACC_RDONLY);
  Handle root(check_id(H5Gopen2(file, "/", H5P_DEFAULT), "H5Gopen2", path));
  return read_hash_scheme(root, path);
}

namespace {

// Why `path` cannot be a results store, before HDF5 opens it ("" when it may be one).
std::string not_a_store_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "no such file";
  if (S_ISDIR(st.st_mode)) return "is a directory, not a results store";
  if (st.st_size == 0) return "is an empty file, not a results store";
  if (!h5::is_hdf5(path)) return "not an HDF5 file, so not a results store";
  return "";
}

// The root's `format` attribute, or what the HDF5 file is when it has none ("" for any other).
std::string format_of(hid_t root, const std::string& c) {
  if (h5::has_attr(root, "format")) return h5::read_attr_string(root, "format", c);
  if (h5::has_attr(root, "encoding-type")) return h5::read_attr_string(root, "encoding-type", c);
  return "";
}

}  // namespace

Store Store::open(const std::string& path, MPI_Comm comm, bool writable) {
  if (const std::string why = not_a_store_file(path); !why.empty()) throw InputError(path, "--store", path, why);
  Store s;
  s.impl_ = std::make_unique<Impl>();
  Impl& m = *s.impl_;
  m.path = path;
  m.comm = comm;
  m.writable = writable;
  const std::string c = path;
  // Read-only first: a file that is not a store (an .h5ad given by mistake) is never opened for
  // writing, so nothing in it changes.
  try {
    m.file = h5::open_file(path, H5F_ACC_RDONLY, comm);
  } catch (const RuntimeError&) {
    throw InputError(path, "--store", path, "cannot open the HDF5 file (truncated, unreadable, or locked by a writer)");
  }
  {
    Handle root(check_id(H5Gopen2(m.file, "/", H5P_DEFAULT), "H5Gopen2", c));
    const std::string format = format_of(root, c);
    if (format != "cellot-store")
      throw InputError(path, "format", format.empty() ? "none" : format,
                       format == "anndata" ? "an AnnData file, not a cellot results store (give it as --data)"
                                           : "not a cellot results store");
    const auto v = h5::read_attr_int(root, "format_version", c);
    if (v != 1)
      throw InputError(path, "format_version", std::to_string(v),
                       v > 1 ? "written by a newer cellot (this build reads version 1): use that version"
                             : "unsupported store format version");
    m.spec.hash = read_hash_scheme(root, c);
  }
  if (writable) {
    m.file.reset();
    try {
      m.file = h5::open_file(path, H5F_ACC_RDWR, comm);
    } catch (const RuntimeError&) {
      throw InputError(path, "--store", path,
                       "cannot open the store for writing (" +
                           std::string(::access(path.c_str(), W_OK) != 0 ? "no write permission" : "locked by another writer") +
                           ")");
    }
  }
  StoreSpec& spec = m.spec;
  read_spec_attributes(m.file, spec, c);
  spec.params = read_param_layouts(m.file, spec, c);
  spec.save_predictions = h5::exists(m.file, "/predictions");
  if (h5::exists(m.file, "/transform")) {
    Handle grp = h5::open_group(m.file, "/transform", c);
    for (const auto& key : h5::read_attr_strings(grp, "keys", c))
      spec.transforms.emplace_back(key, read_array_group(m.file, "/transform/" + key, c));
  }
  spec.effects = h5::exists(m.file, "/effects");
  spec.iid = h5::exists(m.file, "/effects/iid_predicted");
  m.open_dataset("/plan/key");
  m.open_dataset("/plan/perturbation");
  if (h5::exists(m.file, detail::kRunsDataset)) m.open_dataset(detail::kRunsDataset);
  m.key_len = string_width(m.d("/plan/key"), c);
  m.pert_len = string_width(m.d("/plan/perturbation"), c);
  spec.tasks.resize(dims_of(m.d("/plan/key"), c).at(0));
  // The table with placeholder row maps: open reads only the plan columns and the row maps.
  std::vector<std::int64_t> rows_none;
  for (const auto& col : detail::store_schema(spec, rows_none, rows_none, m.key_len, m.pert_len)) {
    if (!m.has(col.path)) m.open_dataset(col.path);
    if (!col.to_plan) continue;
    std::vector<char> bytes(spec.tasks.size() * detail::element_size(col));
    Handle mem = detail::memory_type(col, c);
    slab_io(false, m.d(col.path), mem, 0, spec.tasks.size(), bytes.data(), c + ":" + col.path);
    const auto values = detail::decode_values(col, bytes);
    for (std::size_t t = 0; t < spec.tasks.size(); ++t) col.to_plan(spec.tasks[t], values[t]);
  }
  spec.owned = read_all<std::uint8_t>(m.d("/plan/owned"), H5T_NATIVE_UINT8, c);
  m.params_row = read_all<std::int64_t>(m.d("/plan/params_row"), H5T_NATIVE_INT64, c);
  if (spec.save_predictions)
    m.pred_offset = read_all<std::int64_t>(m.d("/predictions/offset"), H5T_NATIVE_INT64, c);
  else
    m.pred_offset.assign(spec.tasks.size(), 0);
  return s;
}

RowImage Store::Impl::encode(std::int64_t task, const TaskRow& row, std::string& notes) const {
  const auto& plan = spec.tasks.at(static_cast<std::size_t>(task));
  RowImage img;
  const std::size_t M = spec.metric_names.size();
  img.value = row.value;
  img.sd = row.sd;
  img.iterations = row.iterations;
  img.value.resize(M, kNaN);
  img.sd.resize(M, kNaN);
  img.iterations.resize(M, 0);
  if (spec.effects) {
    const auto w = static_cast<std::size_t>(std::max<std::int64_t>(d_features(), 1));
    std::vector<const std::vector<double>*> parts{&row.predicted_effect, &row.observed_effect};
    if (spec.iid) parts.insert(parts.end(), {&row.iid_predicted_effect, &row.iid_observed_effect});
    for (const auto* p : parts) {
      if (p->size() == w) img.effects.insert(img.effects.end(), p->begin(), p->end());
      else img.effects.insert(img.effects.end(), w, kNaN);  // absent (failed task) or of another width
    }
  }

  const std::size_t P = static_cast<std::size_t>(spec.curve_points), C = static_cast<std::size_t>(spec.curve_columns);
  img.curves.assign(P * C, kNaN);
  std::vector<std::string> cols = row.curve_columns;
  if (cols.size() > C) {
    notes += "curve columns beyond " + std::to_string(C) + " dropped; ";
    cols.resize(C);
  }
  const std::size_t n = row.curve_rows.size();
  // Thin evenly to P rows, keeping the first and the last.
  std::vector<std::size_t> pick;
  if (n <= P) {
    for (std::size_t i = 0; i < n; ++i) pick.push_back(i);
  } else {
    for (std::size_t i = 0; i < P; ++i) pick.push_back(P == 1 ? n - 1 : (i * (n - 1)) / (P - 1));
  }
  for (std::size_t i = 0; i < pick.size(); ++i) {
    const auto& r = row.curve_rows[pick[i]];
    for (std::size_t k = 0; k < std::min(C, r.size()); ++k) img.curves[i * C + k] = r[k];
  }
  img.curve_count = static_cast<std::int32_t>(pick.size());
  img.curve_columns = pack({detail::join(cols, ',')}, kColumnsLen);
  if (detail::join(cols, ',').size() > kColumnsLen) notes += "curve column names truncated; ";

  if (const ParamLayout* p = spec.param_layout(plan.model)) {
    img.params.assign(static_cast<std::size_t>(std::max<std::int64_t>(p->max_size, 1)), 0.0f);
    const auto have = static_cast<std::int64_t>(row.params.size());
    if (have > p->max_size) {
      img.params_count = -1;
      notes += "parameters (" + std::to_string(have) + " floats) exceed the reserved " + std::to_string(p->max_size) +
               " and were not stored; ";
    } else {
      std::copy(row.params.begin(), row.params.end(), img.params.begin());
      img.params_count = have;
      if (row.param_layout.size() >= kLayoutLen) notes += "parameter layout truncated; ";
      img.layout = pack({row.param_layout}, kLayoutLen);
    }
    if (img.layout.empty()) img.layout = pack({""}, kLayoutLen);
  }

  if (spec.save_predictions) {
    const std::int64_t d = d_features();
    const std::int64_t rows = d > 0 ? static_cast<std::int64_t>(row.predictions.size()) / d : 0;
    if (rows > plan.prediction_capacity) {
      img.prediction_count = -1;
      notes += "predictions (" + std::to_string(rows) + " cells) exceed the reserved " +
               std::to_string(plan.prediction_capacity) + " and were not stored; ";
    } else if (rows > 0) {
      img.predictions = row.predictions;
      img.predictions.resize(static_cast<std::size_t>(rows * d));
      img.cells = row.prediction_cells;
      img.cells.resize(static_cast<std::size_t>(rows), -1);
      img.prediction_count = rows;
    }
  }
  return img;
}

void Store::Impl::write_image(std::int64_t task, const RowImage& img) const {
  const auto t = static_cast<hsize_t>(task);
  const std::string c = ctx("task " + std::to_string(task));
  slab_io(true, d("/metrics/value"), H5T_NATIVE_DOUBLE, t, 1, const_cast<double*>(img.value.data()), c);
  slab_io(true, d("/metrics/sd"), H5T_NATIVE_DOUBLE, t, 1, const_cast<double*>(img.sd.data()), c);
  slab_io(true, d("/metrics/iterations"), H5T_NATIVE_INT32, t, 1, const_cast<std::int32_t*>(img.iterations.data()), c);
  slab_io(true, d("/curves/values"), H5T_NATIVE_DOUBLE, t, 1, const_cast<double*>(img.curves.data()), c);
  slab_io(true, d("/curves/count"), H5T_NATIVE_INT32, t, 1, const_cast<std::int32_t*>(&img.curve_count), c);
  {
    Handle type = fixed_string_type(kColumnsLen, c);
    slab_io(true, d("/curves/columns"), type, t, 1, const_cast<char*>(img.curve_columns.data()), c);
  }
  const auto& plan = spec.tasks.at(static_cast<std::size_t>(task));
  if (spec.param_layout(plan.model)) {
    const std::string g = "/params/" + plan.model;
    const auto r = static_cast<hsize_t>(params_row.at(static_cast<std::size_t>(task)));
    slab_io(true, d(g + "/values"), H5T_NATIVE_FLOAT, r, 1, const_cast<float*>(img.params.data()), c);
    slab_io(true, d(g + "/count"), H5T_NATIVE_INT64, r, 1, const_cast<std::int64_t*>(&img.params_count), c);
    Handle type = fixed_string_type(kLayoutLen, c);
    slab_io(true, d(g + "/layout"), type, r, 1, const_cast<char*>(img.layout.data()), c);
  }
  if (spec.save_predictions) {
    const auto off = static_cast<hsize_t>(pred_offset.at(static_cast<std::size_t>(task)));
    if (img.prediction_count > 0) {
      const auto rows = static_cast<hsize_t>(img.prediction_count);
      slab_io(true, d("/predictions/values"), H5T_NATIVE_FLOAT, off, rows, const_cast<float*>(img.predictions.data()),
              c);
      slab_io(true, d("/predictions/cell"), H5T_NATIVE_INT64, off, rows, const_cast<std::int64_t*>(img.cells.data()),
              c);
    }
    slab_io(true, d("/predictions/count"), H5T_NATIVE_INT64, t, 1, const_cast<std::int64_t*>(&img.prediction_count), c);
  }
  if (spec.effects) {
    const auto names = detail::effect_datasets(spec);
    const std::size_t w = img.effects.size() / names.size();
    for (std::size_t i = 0; i < names.size(); ++i)
      slab_io(true, d(names[i]), H5T_NATIVE_DOUBLE, t, 1, const_cast<double*>(img.effects.data() + i * w), c);
  }
}

RowImage Store::Impl::read_image(std::int64_t task) const {
  const auto t = static_cast<hsize_t>(task);
  const std::string c = ctx("task " + std::to_string(task));
  RowImage img;
  const std::size_t M = spec.metric_names.size();
  img.value.resize(M);
  img.sd.resize(M);
  img.iterations.resize(M);
  slab_io(false, d("/metrics/value"), H5T_NATIVE_DOUBLE, t, 1, img.value.data(), c);
  slab_io(false, d("/metrics/sd"), H5T_NATIVE_DOUBLE, t, 1, img.sd.data(), c);
  slab_io(false, d("/metrics/iterations"), H5T_NATIVE_INT32, t, 1, img.iterations.data(), c);
  img.curves.resize(static_cast<std::size_t>(spec.curve_points) * static_cast<std::size_t>(spec.curve_columns));
  slab_io(false, d("/curves/values"), H5T_NATIVE_DOUBLE, t, 1, img.curves.data(), c);
  slab_io(false, d("/curves/count"), H5T_NATIVE_INT32, t, 1, &img.curve_count, c);
  {
    img.curve_columns.resize(kColumnsLen);
    Handle type = fixed_string_type(kColumnsLen, c);
    slab_io(false, d("/curves/columns"), type, t, 1, img.curve_columns.data(), c);
  }
  const auto& plan = spec.tasks.at(static_cast<std::size_t>(task));
  if (const ParamLayout* p = spec.param_layout(plan.model)) {
    const std::string g = "/params/" + plan.model;
    const auto r = static_cast<hsize_t>(params_row.at(static_cast<std::size_t>(task)));
    img.params.resize(static_cast<std::size_t>(std::max<std::int64_t>(p->max_size, 1)));
    slab_io(false, d(g + "/values"), H5T_NATIVE_FLOAT, r, 1, img.params.data(), c);
    slab_io(false, d(g + "/count"), H5T_NATIVE_INT64, r, 1, &img.params_count, c);
    img.layout.resize(kLayoutLen);
    Handle type = fixed_string_type(kLayoutLen, c);
    slab_io(false, d(g + "/layout"), type, r, 1, img.layout.data(), c);
  }
  if (spec.save_predictions) {
    slab_io(false, d("/predictions/count"), H5T_NATIVE_INT64, t, 1, &img.prediction_count, c);
    const auto off = static_cast<hsize_t>(pred_offset.at(static_cast<std::size_t>(task)));
    if (img.prediction_count > 0 && img.prediction_count <= plan.prediction_capacity) {
      const auto rows = static_cast<hsize_t>(img.prediction_count);
      img.predictions.resize(rows * static_cast<std::size_t>(d_features()));
      img.cells.resize(rows);
      slab_io(false, d("/predictions/values"), H5T_NATIVE_FLOAT, off, rows, img.predictions.data(), c);
      slab_io(false, d("/predictions/cell"), H5T_NATIVE_INT64, off, rows, img.cells.data(), c);
    }
  }
  if (spec.effects) {
    const auto w = static_cast<std::size_t>(std::max<std::int64_t>(d_features(), 1));
    const auto names = detail::effect_datasets(spec);
    img.effects.resize(names.size() * w);
    for (std::size_t i = 0; i < names.size(); ++i)
      slab_io(false, d(names[i]), H5T_NATIVE_DOUBLE, t, 1, img.effects.data() + i * w, c);
  }
  return img;
}

void Store::write_row(std::int64_t task, const TaskRow& row) {
  Impl& m = *impl_;
  if (!m.writable) throw InternalError(__FILE__, __LINE__, "store opened read-only");
  CELLOT_CHECK(task >= 0 && task < size(), "task index out of range");
  CELLOT_CHECK(row.state != TaskState::pending && row.state != TaskState::running, "write_row needs a final state");
  const auto t = static_cast<hsize_t>(task);
  const std::string c = m.ctx("task " + std::to_string(task));
  std::string notes;
  const RowImage img = m.encode(task, row, notes);
  m.write_image(task, img);
  fault::kill_point("row_write");

  std::string message = row.message;
  if (!notes.empty()) message = message.empty() ? notes : message + " | " + notes;
  auto msg = pack({message}, kMessageLen), host = pack({row.host}, kHostLen), fin = pack({row.finished_at}, kTimeLen);
  Handle msg_t = fixed_string_type(kMessageLen, c), host_t = fixed_string_type(kHostLen, c),
         time_t_ = fixed_string_type(kTimeLen, c);
  slab_io(true, m.d("/status/message"), msg_t, t, 1, msg.data(), c);
  double wall = row.wall_time;
  slab_io(true, m.d("/status/wall_time"), H5T_NATIVE_DOUBLE, t, 1, &wall, c);
  auto phases = row.phase_time;
  slab_io(true, m.d("/status/phase_time"), H5T_NATIVE_DOUBLE, t, 1, phases.data(), c);
  std::int32_t group = row.group, rank = row.rank;
  slab_io(true, m.d("/status/group"), H5T_NATIVE_INT32, t, 1, &group, c);
  slab_io(true, m.d("/status/rank"), H5T_NATIVE_INT32, t, 1, &rank, c);
  slab_io(true, m.d("/status/host"), host_t, t, 1, host.data(), c);
  slab_io(true, m.d("/status/finished_at"), time_t_, t, 1, fin.data(), c);
  std::uint64_t sum = img.checksum(m.spec.hash);
  slab_io(true, m.d("/status/checksum"), H5T_NATIVE_UINT64, t, 1, &sum, c);
  fault::kill_point("checksum");
  // The flag last: every write above has been handed to the file system before it (MPI-IO
  // independent writes are not cached by HDF5), and the checksum catches a file system that
  // persisted the flag but not the row (node failure).
  write_state(task, row.state);
  fault::kill_point("done_flag");
}

void Store::write_state(std::int64_t task, TaskState state) {
  Impl& m = *impl_;
  if (!m.writable) throw InternalError(__FILE__, __LINE__, "store opened read-only");
  CELLOT_CHECK(task >= 0 && task < size(), "task index out of range");
  auto s = static_cast<std::int8_t>(state);
  slab_io(true, m.d("/status/state"), H5T_NATIVE_INT8, static_cast<hsize_t>(task), 1, &s,
          m.ctx("task " + std::to_string(task)));
}

TaskRow Store::read_row(std::int64_t task) const {
  const Impl& m = *impl_;
  CELLOT_CHECK(task >= 0 && task < size(), "task index out of range");
  const auto t = static_cast<hsize_t>(task);
  const std::string c = m.ctx("task " + std::to_string(task));
  const RowImage img = m.read_image(task);
  TaskRow row;
  std::int8_t s = 0;
  slab_io(false, m.d("/status/state"), H5T_NATIVE_INT8, t, 1, &s, c);
  row.state = static_cast<TaskState>(s);
  std::vector<char> msg(kMessageLen), host(kHostLen), fin(kTimeLen);
  Handle msg_t = fixed_string_type(kMessageLen, c), host_t = fixed_string_type(kHostLen, c),
         time_t_ = fixed_string_type(kTimeLen, c);
  slab_io(false, m.d("/status/message"), msg_t, t, 1, msg.data(), c);
  slab_io(false, m.d("/status/host"), host_t, t, 1, host.data(), c);
  slab_io(false, m.d("/status/finished_at"), time_t_, t, 1, fin.data(), c);
  row.message = unpack(msg, kMessageLen).at(0);
  row.host = unpack(host, kHostLen).at(0);
  row.finished_at = unpack(fin, kTimeLen).at(0);
  slab_io(false, m.d("/status/wall_time"), H5T_NATIVE_DOUBLE, t, 1, &row.wall_time, c);
  slab_io(false, m.d("/status/phase_time"), H5T_NATIVE_DOUBLE, t, 1, row.phase_time.data(), c);
  std::int32_t group = 0, rank = 0;
  slab_io(false, m.d("/status/group"), H5T_NATIVE_INT32, t, 1, &group, c);
  slab_io(false, m.d("/status/rank"), H5T_NATIVE_INT32, t, 1, &rank, c);
  row.group = group;
  row.rank = rank;
  slab_io(false, m.d("/status/checksum"), H5T_NATIVE_UINT64, t, 1, &row.checksum, c);

  row.value = img.value;
  row.sd = img.sd;
  row.iterations = img.iterations;
  row.curve_columns = detail::split(unpack(img.curve_columns, kColumnsLen).at(0), ',');
  const std::size_t C = static_cast<std::size_t>(m.spec.curve_columns);
  for (std::int32_t i = 0; i < img.curve_count; ++i) {
    std::vector<double> r(img.curves.begin() + static_cast<std::ptrdiff_t>(i * C),
                          img.curves.begin() + static_cast<std::ptrdiff_t>(i * C + C));
    r.resize(std::min(C, row.curve_columns.size()));
    row.curve_rows.push_back(r);
  }
  row.params_count = img.params_count;
  if (img.params_count > 0) row.params.assign(img.params.begin(), img.params.begin() + img.params_count);
  if (!img.layout.empty()) row.param_layout = unpack(img.layout, kLayoutLen).at(0);
  row.predictions = img.predictions;
  row.prediction_cells = img.cells;
  if (!img.effects.empty()) {
    std::vector<std::vector<double>*> parts{&row.predicted_effect, &row.observed_effect};
    if (m.spec.iid) parts.insert(parts.end(), {&row.iid_predicted_effect, &row.iid_observed_effect});
    const std::size_t w = img.effects.size() / parts.size();
    for (std::size_t i = 0; i < parts.size(); ++i)
      parts[i]->assign(img.effects.begin() + static_cast<std::ptrdiff_t>(i * w),
                       img.effects.begin() + static_cast<std::ptrdiff_t>((i + 1) * w));
  }
  return row;
}

std::vector<TaskState> Store::read_states() const {
  const Impl& m = *impl_;
  auto raw = read_all<std::int8_t>(m.d("/status/state"), H5T_NATIVE_INT8, m.ctx("/status/state"));
  std::vector<TaskState> out;
  for (auto s : raw) out.push_back(s >= 0 && s <= 4 ? static_cast<TaskState>(s) : TaskState::pending);
  return out;
}

std::vector<bool> Store::trusted_done() const {
  const Impl& m = *impl_;
  const auto states = read_states();
  auto sums = read_all<std::uint64_t>(m.d("/status/checksum"), H5T_NATIVE_UINT64, m.ctx("/status/checksum"));
  std::vector<bool> out(states.size(), false);
  for (std::size_t t = 0; t < states.size(); ++t) {
    if (states[t] != TaskState::done && states[t] != TaskState::failed && states[t] != TaskState::diverged) continue;
    out[t] = m.read_image(static_cast<std::int64_t>(t)).checksum(m.spec.hash) == sums[t];
  }
  // Failed and diverged rows are final too; callers that need "done" check the state as well.
  return out;
}

StoreSummary Store::summary() const {
  const Impl& m = *impl_;
  StoreSummary s;
  s.path = m.path;
  s.spec = m.spec;
  s.state = read_states();
  s.trusted = trusted_done();
  const std::string c = m.path;
  s.message = read_strings(m.d("/status/message"), c);
  s.host = read_strings(m.d("/status/host"), c);
  s.finished_at = read_strings(m.d("/status/finished_at"), c);
  s.wall_time = read_all<double>(m.d("/status/wall_time"), H5T_NATIVE_DOUBLE, c);
  s.group = read_all<std::int32_t>(m.d("/status/group"), H5T_NATIVE_INT32, c);
  const std::size_t M = m.spec.metric_names.size(), T = m.spec.tasks.size();
  auto v = read_all<double>(m.d("/metrics/value"), H5T_NATIVE_DOUBLE, c);
  auto sd = read_all<double>(m.d("/metrics/sd"), H5T_NATIVE_DOUBLE, c);
  s.value.assign(T, std::vector<double>(M));
  s.sd.assign(T, std::vector<double>(M));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < M; ++k) {
      s.value[t][k] = v[t * M + k];
      s.sd[t][k] = sd[t * M + k];
    }
  if (m.spec.effects) {
    const auto w = static_cast<std::size_t>(std::max<std::int64_t>(m.d_features(), 1));
    const auto names = detail::effect_datasets(m.spec);
    std::vector<std::vector<std::vector<double>>*> out{&s.predicted_effect, &s.observed_effect,
                                                       &s.iid_predicted_effect, &s.iid_observed_effect};
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto all = read_all<double>(m.d(names[i]), H5T_NATIVE_DOUBLE, c);
      for (std::size_t t = 0; t < T; ++t)
        out[i]->emplace_back(all.begin() + static_cast<std::ptrdiff_t>(t * w),
                             all.begin() + static_cast<std::ptrdiff_t>((t + 1) * w));
    }
  }
  detail::read_provenance(m.file, c, s);
  return s;
}


void Store::write_provenance_start(const Provenance& p) {
  Impl& m = *impl_;
  const std::string c = m.path;
  if (!m.has(detail::kRunsDataset)) {
    // A store of an earlier version (its provenance in attributes, still read): the records'
    // dataset is made once, collectively, then only raw data is appended.
    detail::create_run_records(m.file, c);
    m.open_dataset(detail::kRunsDataset);
  }
  int rank = 0;
  if (m.comm != MPI_COMM_NULL) MPI_Comm_rank(m.comm, &rank);
  m.run_slot = m.next_slot = -1;
  if (rank == 0) {
    // Appended after the last slot in use (a torn record is skipped, never overwritten), with
    // room kept for the end record.
    const auto used = detail::read_run_records(m.d(detail::kRunsDataset), c).next_free;
    const auto end_bytes = detail::encode_run_record(detail::end_fields(used, p.start_time, std::string(256, 'x')));
    const std::size_t free_bytes = (detail::kRunSlots - static_cast<std::size_t>(used)) * detail::kRunSlotBytes;
    // The launcher and Slurm job of the store communicator's rank 0 (environments may differ).
    const std::string launcher = p.launcher.empty() ? detect_launcher() : p.launcher;
    const std::string slurm = p.slurm.empty() ? slurm_job_text() : p.slurm;
    // One run takes at most an eighth of the slots (a job on thousands of hosts keeps the first
    // hosts that fit and their number), so a store records many runs.
    constexpr std::size_t kMaxStart = detail::kRunSlots * detail::kRunSlotBytes / 8;
    const auto bytes = free_bytes > end_bytes.size()
                           ? detail::fit_record(detail::start_fields(p, launcher, slurm),
                                                std::min(kMaxStart, free_bytes - end_bytes.size()))
                           : std::vector<char>{};
    if (bytes.empty()) {
      log::warn(c + ": provenance: the store's " + std::to_string(detail::kRunSlots) +
                " run-record slots are full; this run is not recorded (its results are)");
    } else {
      detail::write_run_record(m.d(detail::kRunsDataset), used, bytes, c);
      m.run_slot = used;
      m.next_slot = used + static_cast<std::int64_t>(bytes.size() / detail::kRunSlotBytes);
    }
  }
  fault::kill_point("provenance");
  CELLOT_H5_CHECK(H5Fflush(m.file, H5F_SCOPE_GLOBAL), c);
}

void Store::write_provenance_end(const std::string& end_time, const std::string& outcome) {
  Impl& m = *impl_;
  const std::string c = m.path;
  if (m.run_slot >= 0) {
    auto bytes = detail::fit_record(detail::end_fields(m.run_slot, end_time, outcome),
                                    (detail::kRunSlots - static_cast<std::size_t>(m.next_slot)) * detail::kRunSlotBytes);
    if (!bytes.empty()) detail::write_run_record(m.d(detail::kRunsDataset), m.next_slot, bytes, c);
    m.run_slot = m.next_slot = -1;
  }
  CELLOT_H5_CHECK(H5Fflush(m.file, H5F_SCOPE_GLOBAL), c);
}

void Store::append_provenance(const std::vector<std::string>& lines, const std::vector<std::string>& git_hashes) {
  Impl& m = *impl_;
  const std::string c = m.path;
  Handle prov = h5::open_group(m.file, "/provenance", c);
  std::vector<std::string> history, hashes;
  history = detail::read_lines(prov, "history", c);
  if (h5::has_attr(prov, "git_hashes")) hashes = h5::read_attr_strings(prov, "git_hashes", c);
  history.insert(history.end(), lines.begin(), lines.end());
  for (const auto& h : git_hashes)
    if (!h.empty() && std::find(hashes.begin(), hashes.end(), h) == hashes.end()) hashes.push_back(h);
  detail::write_lines(prov, "history", history, c);
  h5::write_attr_strings(prov, "git_hashes", hashes, c);
}

void Store::write_merged_from(const std::vector<std::string>& sources) {
  Impl& m = *impl_;
  Handle prov = h5::open_group(m.file, "/provenance", m.path);
  detail::write_lines(prov, "merged_from", sources, m.path);
}

void Store::abandon() {
  if (!impl_) return;
  for (auto& [name, d] : impl_->dsets) d.release();
  impl_->dsets.clear();
  impl_->file.release();
}

void Store::close() {
  if (!impl_) return;
  impl_->dsets.clear();
  if (impl_->file.valid()) {
    // The flush is the checked step (it writes all metadata); closing afterwards only releases.
    if (impl_->writable) CELLOT_H5_CHECK(H5Fflush(impl_->file, H5F_SCOPE_GLOBAL), impl_->path);
    impl_->file.reset();
  }
}

}  // namespace cellot::io
