#include "cellot/models/model_dir.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/named_array.hpp"
#include "cellot/core/version.hpp"

namespace cellot::models {

namespace h5 = io::h5;
namespace fs = std::filesystem;

namespace {

void replace_file(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw RuntimeError(path + ": cannot write (rename from " + tmp + ")");
}

void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw RuntimeError(tmp + ": cannot open for writing");
    out << text;
    out.flush();
    if (!out) throw RuntimeError(tmp + ": write failed");
  }
  replace_file(tmp, path);
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const std::string& context) {
  h5::Handle type = h5::vlen_string_type();
  h5::Handle ds = h5::create_dataset(loc, name, type, {static_cast<hsize_t>(values.size())}, context);
  std::vector<const char*> ptrs;
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (!ptrs.empty()) CELLOT_H5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), context + ":" + name);
}

std::string fmt_double(double v) {
  std::ostringstream os;
  os << std::setprecision(17) << v;
  return os.str();
}

}  // namespace

void write_named_tensors(hid_t loc, const std::vector<NamedTensor>& tensors, const std::string& context) {
  std::vector<std::string> names;
  for (const auto& t : tensors) {
    CELLOT_CHECK(!t.name.empty() && t.name.find('/') == std::string::npos, "tensor name '" + t.name + "'");
    const auto dims = h5::dims_of_shape(t.shape, t.values.size(), "tensor '" + t.name + "'");
    h5::Handle ds = h5::create_dataset(loc, t.name, H5T_IEEE_F32LE, dims, context);
    if (!t.values.empty())
      CELLOT_H5_CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()), context + ":" + t.name);
    names.push_back(t.name);
  }
  h5::write_attr_strings(loc, "names", names, context);
}

void write_curves_csv(const std::string& path, const Curves& curves) {
  std::ostringstream os;
  for (std::size_t j = 0; j < curves.columns.size(); ++j) os << (j ? "," : "") << curves.columns[j];
  os << "\n";
  for (const auto& row : curves.rows) {
    for (std::size_t j = 0; j < row.size(); ++j) {
      os << (j ? "," : "");
      if (std::isnan(row[j])) os << "nan";
      else os << fmt_double(row[j]);
    }
    os << "\n";
  }
  write_text(path, os.str());
}

void save_model_dir(const std::string& dir, const Model& model, const Config& cfg, const ModelInfo& info) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw RuntimeError(dir + ": cannot create model directory: " + ec.message());
  const std::string h5path = (fs::path(dir) / "model.h5").string(), tmp = h5path + ".tmp";
  {
    h5::Handle file = h5::create_file(tmp);
    h5::write_attr_string(file, "format", kModelDirFormat, tmp);
    h5::write_attr_string(file, "model", model.name(), tmp);
    h5::write_attr_string(file, "perturbation", info.perturbation, tmp);
    h5::write_attr_string(file, "data_path", info.data_path, tmp);
    h5::write_attr_string(file, "data_fingerprint", info.data_fingerprint, tmp);
    // Absent in directories written before XXH3 (their fingerprints are legacy ones).
    if (info.fingerprint_hash != HashScheme::legacy)
      h5::write_attr_string(file, "data_fingerprint_hash", hash_scheme_name(info.fingerprint_hash), tmp);
    // Seeds as decimal text: HDF5 attributes here are signed 64-bit.
    h5::write_attr_string(file, "split_seed", std::to_string(info.split_seed), tmp);
    h5::write_attr_string(file, "task_seed", std::to_string(info.task_seed), tmp);
    h5::write_attr_int(file, "steps", info.steps, tmp);
    h5::write_attr_int(file, "best_step", info.best_step, tmp);
    h5::write_attr_double(file, "best_metric", info.best_metric, tmp);
    h5::write_attr_string(file, "version", version_string(), tmp);
    write_strings(file, "features", info.features, tmp);
    h5::Handle params = h5::create_group(file, "params", tmp);
    write_named_tensors(params, model.parameters(), tmp + ":/params");
    params.reset();
    // A default ModelInfo (no transform set) trained on the features as they are.
    const auto transform = info.transform.input_dim() > 0
                               ? info.transform
                               : data::FeatureTransform::identity(static_cast<std::int64_t>(info.features.size()));
    io::write_array_group(file, "transform", transform.to_group(), tmp);
    h5::close_file(file, tmp);
  }
  replace_file(tmp, h5path);
  write_text((fs::path(dir) / "config.ini").string(), cfg.to_ini());
  write_curves_csv((fs::path(dir) / "curves.csv").string(), model.curves());
}

LoadedModel load_model_dir(const std::string& dir) {
  ModelDirContents c = read_model_dir(dir);
  LoadedModel out;
  out.config = std::move(c.config);
  out.info = std::move(c.info);
  out.model = make_model(out.config, out.info.transform.dim());
  out.model->set_parameters(c.params);
  return out;
}

}  // namespace cellot::models
