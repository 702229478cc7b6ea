// The models' factories and their per-model hooks, keyed by the registry's names
// (src/models/kinds.cpp holds the traits; the torch-free front end registers only those).
#include <algorithm>
#include <map>

#include "cellot/core/error.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"
#include "cellot/models/member_error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

// Factories, one per model translation unit.
std::unique_ptr<Model> make_cellot(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_scgen(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_cae(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_identity(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_observed(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_mean_shift(const Config& cfg, std::int64_t n_features);
// Pack trainers (ModelKind::packs), one per model that has one.
std::vector<std::exception_ptr> train_cellot_models(const std::vector<Model*>& models,
                                                    const std::vector<const TrainInput*>& inputs,
                                                    const std::vector<TrainContext>& ctxs);

namespace {

std::int64_t shape_size(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto v : shape) n *= v;
  return n;
}

std::int64_t own_parameters(const Config& cfg, std::int64_t n_features) {
  std::int64_t n = 0;
  for (const auto& t : make_model(cfg, n_features)->parameters()) n += shape_size(t.shape);
  return n;
}

// The autoencoders' grid may choose any candidate: the largest network, plus the score table
// (6 values per candidate).
std::int64_t autoencoder_bound(const Config& cfg, std::int64_t d, std::int64_t) {
  if (!cfg.model.grid) return own_parameters(cfg, d);
  std::int64_t most = 0;
  for (const auto& h : autoencoder_grid()) {
    Config g = cfg;
    g.model.grid = false;
    g.model.width = h.width;
    g.model.depth = h.depth;
    g.model.latent = h.latent;
    most = std::max(most, own_parameters(g, d));
  }
  return most + 6 * static_cast<std::int64_t>(autoencoder_grid().size());
}

// The observed floor keeps half of the perturbed test cells of its task.
std::int64_t observed_bound(const Config&, std::int64_t d, std::int64_t n_treated_test_max) {
  return n_treated_test_max / 2 * d;
}

void check_cellot(const Config& cfg) { CellotHyper::from_config(cfg); }

struct Entry {
  ModelFactory make;
  void (*check)(const Config&);  // nullptr: nothing beyond validate()
  std::int64_t (*bound)(const Config&, std::int64_t d, std::int64_t n_treated_test_max);  // nullptr: own
  // Trains several models of this kind at once (ModelKind::packs); nullptr: one after another.
  std::vector<std::exception_ptr> (*pack)(const std::vector<Model*>&, const std::vector<const TrainInput*>&,
                                          const std::vector<TrainContext>&) = nullptr;
};

const std::map<std::string, Entry>& entries() {
  static const std::map<std::string, Entry> table = {
      {"cellot", {make_cellot, check_cellot, nullptr, train_cellot_models}},
      {"scgen", {make_scgen, nullptr, autoencoder_bound, AutoencoderModel::train_pack}},
      {"cae", {make_cae, nullptr, autoencoder_bound, AutoencoderModel::train_pack}},
      {"identity", {make_identity, nullptr, nullptr}},
      {"observed", {make_observed, nullptr, observed_bound}},
      {"mean_shift", {make_mean_shift, nullptr, nullptr}},
  };
  return table;
}

const Entry& entry(const std::string& name) {
  const auto it = entries().find(name);
  if (it == entries().end()) throw InputError("config", "model.name", name, "unknown model");
  return it->second;
}

}  // namespace

std::unique_ptr<Model> make_model(const Config& cfg, std::int64_t n_features) {
  return entry(cfg.model.name).make(cfg, n_features);
}

void check_model_config(const Config& cfg) {
  if (const auto check = entry(cfg.model.name).check) check(cfg);
}

std::int64_t max_stored_params(const Config& cfg, std::int64_t n_features, std::int64_t n_treated_test_max) {
  const Entry& e = entry(cfg.model.name);
  return e.bound ? e.bound(cfg, n_features, n_treated_test_max) : own_parameters(cfg, n_features);
}

bool has_pack_trainer(const std::string& name) { return entry(name).pack != nullptr; }

std::vector<std::exception_ptr> train_together(const std::vector<Model*>& models,
                                               const std::vector<const TrainInput*>& inputs,
                                               const std::vector<TrainContext>& ctxs) {
  CELLOT_CHECK(models.size() == inputs.size() && models.size() == ctxs.size(), "one input and context per model");
  if (models.empty()) return {};
  const std::string kind = models.front()->name();
  for (const Model* m : models)
    CELLOT_CHECK(m->name() == kind, "a pack holds models of one kind");
  if (const auto pack = entry(kind).pack; pack && models.size() > 1) return pack(models, inputs, ctxs);
  std::vector<std::exception_ptr> errors(models.size());
  for (std::size_t i = 0; i < models.size(); ++i)
    errors[i] = member_error([&] { models[i]->train(*inputs[i], ctxs[i]); });
  return errors;
}

std::vector<std::string> registered_factories() {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries()) out.push_back(name);
  return out;
}

}  // namespace cellot::models
