#pragma once
// A trained model on disk, written by `cellot train` and read by `cellot predict` (and by anyone
// who wants to remake a prediction):
//   DIR/model.h5     HDF5: /params/<name> float32 datasets with the tensor's shape, in the order
//                    of the attribute /params@names; /features (var names, strings); attributes
//                    on /: format ("cellot-model-1"), model, perturbation, data_path, data_fingerprint, data_fingerprint_hash (absent: legacy), split_seed,
//                    task_seed, steps, best_step, best_metric, version. Readable with h5py.
//                    /transform: the fitted feature transform (data/transform.hpp; absent in
//                    directories written before transforms existed: the identity)
//   DIR/config.ini   the resolved configuration (Config::to_ini), parsed back on load
//   DIR/curves.csv   training curves (header = Curves::columns)
// Any model of models::make_model round-trips: load = make_model(config, #features) followed by
// set_parameters(params).
#include <hdf5.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/hash.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

struct ModelInfo {
  std::string perturbation;
  std::vector<std::string> features;  // var names the model was trained on (its input columns)
  std::string data_path;              // the training data
  std::string data_fingerprint;       // its screen::data_fingerprint ("" in directories made before)
  // The fingerprint's hash (attribute data_fingerprint_hash; legacy in directories written before).
  HashScheme fingerprint_hash = kCurrentHashScheme;
  std::uint64_t split_seed = 0;       // seed of data::Dataset::load_pair / split_of
  std::uint64_t task_seed = 0;        // TrainContext::seed
  std::int64_t steps = 0;             // optimiser iterations done (0 for models without any)
  std::int64_t best_step = -1;        // selected iterate (-1: last / not applicable)
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  std::string model;                  // filled on load (cfg.model.name at save)
  // Maps the features above to the model's inputs (its dim() is the model's input size).
  data::FeatureTransform transform;
};

// Writes DIR (created if missing; files replaced atomically one by one). Not collective: call
// it on one rank.
void save_model_dir(const std::string& dir, const Model& model, const Config& cfg, const ModelInfo& info);

inline constexpr const char* kModelDirFormat = "cellot-model-1";

// What DIR holds, read and checked without building the model (no torch work).
struct ModelDirContents {
  Config config;
  ModelInfo info;
  std::vector<NamedTensor> params;
};
// InputError naming the file and the field when DIR is not a model directory or is malformed.
ModelDirContents read_model_dir(const std::string& dir);

struct LoadedModel {
  Config config;
  ModelInfo info;
  std::unique_ptr<Model> model;
};
// InputError naming the file and the field when DIR is not a model directory or is malformed.
LoadedModel load_model_dir(const std::string& dir);

// Building blocks (also for other containers of parameters).
void write_named_tensors(hid_t loc, const std::vector<NamedTensor>& tensors, const std::string& context);
std::vector<NamedTensor> read_named_tensors(hid_t loc, const std::string& context);
void write_curves_csv(const std::string& path, const Curves& curves);

}  // namespace cellot::models
