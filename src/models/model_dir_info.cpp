// Reading a model directory without building its model: torch-free (evaluate and inspect read
// a directory's configuration and split from here; load_model_dir adds the networks).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/io/named_array.hpp"
#include "cellot/models/model_dir.hpp"

namespace cellot::models {

namespace h5 = io::h5;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_strings(hid_t loc, const std::string& name, const std::string& context) {
  if (!h5::exists(loc, name)) throw InputError(context, name, "", "missing");
  h5::Handle ds = h5::open_dataset(loc, name, context);
  const auto dims = h5::dataset_dims(ds, context + ":" + name);
  if (dims.size() != 1) throw InputError(context, name, "", "not a 1-D string array");
  std::vector<char*> ptrs(static_cast<std::size_t>(dims[0]), nullptr);
  h5::Handle type = h5::vlen_string_type();
  std::vector<std::string> out;
  if (ptrs.empty()) return out;
  CELLOT_H5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), context + ":" + name);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  h5::Handle space(h5::check_id(H5Dget_space(ds), "H5Dget_space", context));
  H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
  return out;
}

}  // namespace

std::vector<NamedTensor> read_named_tensors(hid_t loc, const std::string& context) {
  if (!h5::has_attr(loc, "names")) throw InputError(context, "names", "", "missing list of parameter tensors");
  std::vector<NamedTensor> out;
  for (const auto& name : h5::read_attr_strings(loc, "names", context)) {
    if (!h5::exists(loc, name)) throw InputError(context, name, "", "parameter tensor missing");
    NamedTensor t;
    t.name = name;
    t.shape = h5::read_whole(loc, name, t.values, context);
    out.push_back(std::move(t));
  }
  return out;
}

ModelDirContents read_model_dir(const std::string& dir) {
  const std::string h5path = (fs::path(dir) / "model.h5").string();
  const std::string ini = (fs::path(dir) / "config.ini").string();
  if (!fs::is_directory(dir)) throw InputError("command line", "--model", dir, "model directory does not exist");
  if (!fs::exists(h5path) || !h5::is_hdf5(h5path))
    throw InputError(h5path, "model.h5", dir, "not a trained model directory (no model.h5; was training interrupted?)");
  ModelDirContents out;
  {
    std::ifstream in(ini);
    if (!in) throw InputError(ini, "config.ini", dir, "missing resolved configuration");
    std::stringstream ss;
    ss << in.rdbuf();
    out.config = parse_ini_text(ss.str(), ini);
  }
  h5::Handle file = h5::open_file(h5path, H5F_ACC_RDONLY);
  if (!h5::has_attr(file, "format") || h5::read_attr_string(file, "format", h5path) != kModelDirFormat)
    throw InputError(h5path, "format", "", std::string("not a ") + kModelDirFormat + " file");
  auto& info = out.info;
  info.model = h5::read_attr_string(file, "model", h5path);
  info.perturbation = h5::read_attr_string(file, "perturbation", h5path);
  info.data_path = h5::read_attr_string(file, "data_path", h5path);
  if (h5::has_attr(file, "data_fingerprint"))  // absent in directories written before it was kept
    info.data_fingerprint = h5::read_attr_string(file, "data_fingerprint", h5path);
  {
    const std::string text =
        h5::has_attr(file, "data_fingerprint_hash") ? h5::read_attr_string(file, "data_fingerprint_hash", h5path) : "";
    if (!parse_hash_scheme(text, info.fingerprint_hash))
      throw InputError(h5path, "data_fingerprint_hash", text, "unknown hash (a model written by a newer cellot?)");
  }
  try {
    info.split_seed = std::stoull(h5::read_attr_string(file, "split_seed", h5path));
    info.task_seed = std::stoull(h5::read_attr_string(file, "task_seed", h5path));
  } catch (const std::logic_error&) {
    throw InputError(h5path, "split_seed", "", "malformed seed");
  }
  info.steps = h5::read_attr_int(file, "steps", h5path);
  info.best_step = h5::read_attr_int(file, "best_step", h5path);
  info.best_metric = h5::read_attr_double(file, "best_metric", h5path);
  info.features = read_strings(file, "features", h5path);
  if (info.model != out.config.model.name)
    throw InputError(h5path, "model", info.model, "does not match model.name = " + out.config.model.name + " in " + ini);
  if (!h5::exists(file, "params")) throw InputError(h5path, "params", "", "missing");
  h5::Handle params = h5::open_group(file, "params", h5path);
  out.params = read_named_tensors(params, h5path + ":/params");
  const auto n_features = static_cast<std::int64_t>(info.features.size());
  info.transform = h5::exists(file, "transform")
                       ? data::FeatureTransform::from_group(io::read_array_group(file, "transform", h5path), h5path + ":/transform")
                       : data::FeatureTransform::identity(n_features);
  if (info.transform.input_dim() != n_features)
    throw InputError(h5path, "transform", std::to_string(info.transform.input_dim()),
                     "the transform's input features differ from /features (" + std::to_string(n_features) + ")");
  return out;
}

}  // namespace cellot::models
