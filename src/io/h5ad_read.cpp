// Reading .h5ad files: H5adReader (obs/var at open, rows of the selected matrix, obsm rows,
// uns) and read_h5ad (everything).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/io/h5ad.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io {

using h5::check_id;
using h5::Handle;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < 12; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > 12) out += ", ... (" + std::to_string(v.size()) + " in all)";
  return v.empty() ? "none" : out;
}

// Where a layer value lives in the file and which var describes its columns; "" when the file
// lacks it.
struct LayerPlace {
  std::string element, var;
};

LayerPlace place_of(hid_t f, const std::string& layer) {
  using detail::object_type;
  if (layer == "X") return {object_type(f, "X") == H5I_BADID ? "" : "X", "var"};
  if (layer == "raw") {
    if (object_type(f, "raw/X") != H5I_BADID) return {"raw/X", "raw/var"};
    if (object_type(f, "raw.X") != H5I_BADID) return {"raw.X", "raw.var"};  // anndata 0.6
    return {};
  }
  // layers/<name>: a name without further slashes (anndata's layer keys).
  return {object_type(f, layer) == H5I_BADID ? "" : layer, "var"};
}

}  // namespace

struct H5adReader::Impl {
  Handle file;
  std::string element;  // HDF5 path of the selected matrix
  detail::MatrixElement matrix;
  // obsm as one compound dataset (anndata <= 0.6.18): a field per key.
  bool compound_obsm = false;
};

std::vector<std::string> H5adReader::layers() const {
  std::vector<std::string> out;
  const hid_t f = impl_->file;
  if (detail::object_type(f, "X") != H5I_BADID) out.push_back("X");
  if (!place_of(f, "raw").element.empty()) out.push_back("raw");
  if (detail::object_type(f, "layers") == H5I_GROUP) {
    Handle g = h5::open_group(f, "layers", path_);
    for (const auto& n : detail::child_names(g, path_)) out.push_back("layers/" + n);
  }
  return out;
}

H5adReader::H5adReader(const std::string& path, MPI_Comm comm, const std::string& layer)
    : impl_(std::make_unique<Impl>()), path_(path), layer_(layer) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, "path", path, "no such file");
  if (S_ISDIR(st.st_mode)) throw InputError(path, "path", path, "is a directory, not an .h5ad file");
  if (!h5::is_hdf5(path)) throw InputError(path, "path", path, "not an HDF5 file");
  try {
    impl_->file = h5::open_file(path, H5F_ACC_RDONLY, comm);
  } catch (const RuntimeError&) {
    throw InputError(path, "path", path, "cannot open the HDF5 file (truncated, unreadable, or locked by a writer)");
  }
  if (layer != "X" && layer != "raw" &&
      (layer.rfind("layers/", 0) != 0 || layer.size() == 7 || layer.find('/', 7) != std::string::npos))
    throw InputError(path, "data.layer", layer, "must be X, raw or layers/<name>");
  const hid_t f = impl_->file;
  const H5I_type_t obs_type = detail::object_type(f, "obs");
  const LayerPlace place = place_of(f, layer);
  if (place.element.empty() && obs_type == H5I_BADID && layer == "X") {
    Handle root(h5::open_group(f, "/", path));
    if (h5::has_attr(root, "format") && h5::read_attr_string(root, "format", path) == "cellot-store")
      throw InputError(path, "format", "cellot-store", "a cellot results store, not an AnnData file (give it as --store)");
    throw InputError(path, "X", "", "not an AnnData file: no X matrix and no obs dataframe");
  }
  if (place.element.empty() && layer == "X") throw InputError(path, "X", "", "missing: the file has no X matrix");
  if (place.element.empty())
    throw InputError(path, "data.layer", layer, "no such matrix in the file (have: " + join(layers()) + ")");
  if (obs_type == H5I_BADID) throw InputError(path, "obs", "", "missing: the file has no obs dataframe");
  impl_->element = place.element;
  const std::string key = layer == "X" ? "X" : place.element;
  impl_->matrix = detail::MatrixElement(f, place.element, path, key);

  const detail::UnsCategories uns_categories = detail::read_uns_categories(f, path);
  obs_ = detail::read_dataframe(f, "obs", path, uns_categories);
  if (obs_.rows() != n_obs())
    throw InputError(path, "obs/_index", std::to_string(obs_.rows()) + " rows",
                     "obs has a different number of rows than " + key + " (" + std::to_string(n_obs()) + ")");
  if (detail::object_type(f, place.var) != H5I_BADID) {
    var_ = detail::read_dataframe(f, place.var, path, uns_categories);
    if (var_.rows() != n_vars())
      throw InputError(path, place.var + "/_index", std::to_string(var_.rows()) + " rows",
                       place.var + " has a different number of rows than " + key + " has columns (" +
                           std::to_string(n_vars()) + ")");
  } else {
    for (std::int64_t j = 0; j < n_vars(); ++j) var_.index.push_back(std::to_string(j));
  }
  impl_->compound_obsm = detail::object_type(f, "obsm") == H5I_DATASET;
}

H5adReader::~H5adReader() = default;

std::string H5adReader::layer_element() const { return impl_->element; }
std::int64_t H5adReader::n_obs() const { return impl_->matrix.rows(); }
std::int64_t H5adReader::n_vars() const { return impl_->matrix.cols(); }
std::string H5adReader::x_encoding() const { return impl_->matrix.encoding(); }
std::string H5adReader::x_dtype() const { return impl_->matrix.dtype(); }

Matrix H5adReader::read_rows(const std::vector<std::int64_t>& rows) const { return impl_->matrix.read_rows(rows); }

std::vector<std::string> H5adReader::obsm_keys() const {
  std::vector<std::string> keys;
  const hid_t f = impl_->file;
  if (impl_->compound_obsm) {
    Handle d = h5::open_dataset(f, "obsm", path_);
    return detail::compound_members(d, path_ + ":obsm");
  }
  if (detail::object_type(f, "obsm") != H5I_GROUP) return keys;
  Handle g = h5::open_group(f, "obsm", path_);
  for (const auto& n : detail::child_names(g, path_)) {
    const H5I_type_t t = detail::object_type(g, n);
    if (t == H5I_DATASET) {
      keys.push_back(n);
    } else if (t == H5I_GROUP) {
      Handle e = h5::open_group(g, n, path_);
      const std::string enc = detail::encoding_type(e);
      if (enc == "csr_matrix" || enc == "csc_matrix") keys.push_back(n);
    }
  }
  return keys;
}

bool H5adReader::has_obsm(const std::string& key) const {
  const auto keys = obsm_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

namespace {

void require_obsm(const H5adReader& r, const std::string& key) {
  if (!r.has_obsm(key))
    throw InputError(r.path(), "obsm/" + key, key, "no such obsm array (have: " + join(r.obsm_keys()) + ")");
}

}  // namespace

std::int64_t H5adReader::obsm_cols(const std::string& key) const {
  require_obsm(*this, key);
  if (impl_->compound_obsm) {
    Handle d = h5::open_dataset(impl_->file, "obsm", path_);
    std::int64_t width = 1;
    (void)detail::read_member_doubles(d, key, path_, "obsm/" + key, &width);
    return width;
  }
  return detail::MatrixElement(impl_->file, "obsm/" + key, path_, "obsm/" + key).cols();
}

Matrix H5adReader::read_obsm_rows(const std::string& key, const std::vector<std::int64_t>& rows) const {
  require_obsm(*this, key);
  if (!impl_->compound_obsm) {
    const detail::MatrixElement m(impl_->file, "obsm/" + key, path_, "obsm/" + key);
    if (m.rows() != n_obs())
      throw InputError(path_, "obsm/" + key, std::to_string(m.rows()) + " rows",
                       "an obsm array needs one row per cell (" + std::to_string(n_obs()) + ")");
    return m.read_rows(rows);
  }
  // anndata <= 0.6.18: one compound dataset, a (sub-array) field per key; small, read whole.
  Handle d = h5::open_dataset(impl_->file, "obsm", path_);
  std::int64_t width = 1;
  const auto all = detail::read_member_doubles(d, key, path_, "obsm/" + key, &width);
  const auto n = static_cast<std::int64_t>(all.size()) / std::max<std::int64_t>(width, 1);
  if (n != n_obs())
    throw InputError(path_, "obsm", std::to_string(n) + " rows", "an obsm array needs one row per cell");
  Matrix out(static_cast<std::int64_t>(rows.size()), width);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= n)
      throw InputError(path_, "row", std::to_string(rows[i]), "row index out of range [0, " + std::to_string(n) + ")");
    for (std::int64_t j = 0; j < width; ++j) {
      const double v = all[static_cast<std::size_t>(rows[i] * width + j)];
      if (!std::isfinite(v))
        throw InputError(path_, "obsm/" + key, std::to_string(v) + " at row " + std::to_string(rows[i]) + " col " +
                         std::to_string(j), "non-finite value");
      out(static_cast<std::int64_t>(i), j) = v;
    }
  }
  return out;
}

namespace {

void read_uns_group(hid_t group, const std::string& prefix, const std::string& file, AnnData& into) {
  for (const auto& name : detail::child_names(group, file)) {
    const std::string key = prefix.empty() ? name : prefix + "/" + name;
    const H5I_type_t t = detail::object_type(group, name);
    if (t == H5I_GROUP) {
      Handle g = h5::open_group(group, name, file);
      const std::string enc = detail::encoding_type(g);
      if (enc.empty() || enc == "dict")
        read_uns_group(g, key, file, into);
      else
        log::debug(file + ": uns/" + key + ": skipping element with encoding " + enc);
      continue;
    }
    if (t != H5I_DATASET) continue;
    Handle d = h5::open_dataset(group, name, file);
    Handle ftype(check_id(H5Dget_type(d), "H5Dget_type", file));
    const H5T_class_t cls = H5Tget_class(ftype);
    const auto dims = h5::dataset_dims(d, file + ":uns/" + key);
    if (cls == H5T_STRING) {
      auto v = detail::read_strings(d, file, "uns/" + key);
      if (dims.empty())
        into.uns_strings[key] = v.empty() ? std::string() : v[0];
      else
        into.uns_string_arrays[key] = std::move(v);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM) {
      auto v = detail::read_doubles(d, file, "uns/" + key);
      if (dims.empty()) {
        into.uns_numbers[key] = v.empty() ? 0.0 : v[0];
      } else {
        AnnData::Array a;
        for (hsize_t n : dims) a.shape.push_back(static_cast<std::int64_t>(n));
        a.data = std::move(v);
        into.uns_arrays[key] = std::move(a);
      }
    } else {
      log::debug(file + ": uns/" + key + ": skipping dataset of type " + detail::dtype_name(d, file));
    }
  }
}

}  // namespace

void H5adReader::read_uns(AnnData& into) const {
  if (detail::object_type(impl_->file, "uns") != H5I_GROUP) return;
  Handle g = h5::open_group(impl_->file, "uns", path_);
  read_uns_group(g, "", path_, into);
}

AnnData read_h5ad(const std::string& path) {
  H5adReader reader(path);
  AnnData a;
  std::vector<std::int64_t> all(static_cast<std::size_t>(reader.n_obs()));
  std::iota(all.begin(), all.end(), 0);
  a.X = reader.read_rows(all);
  a.obs = reader.obs();
  a.var = reader.var();
  for (const auto& k : reader.obsm_keys()) a.obsm[k] = reader.read_obsm_rows(k, all);
  reader.read_uns(a);
  a.x_float64 = reader.x_dtype() == "float64";
  a.x_encoding = reader.x_encoding();
  return a;
}

}  // namespace cellot::io
