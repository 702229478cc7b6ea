#include <map>

#include "cellot/core/error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

// Factories, one per model translation unit.
std::unique_ptr<Model> make_cellot(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_scgen(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_cae(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_identity(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_observed(const Config& cfg, std::int64_t n_features);
std::unique_ptr<Model> make_mean_shift(const Config& cfg, std::int64_t n_features);

std::unique_ptr<Model> make_model(const Config& cfg, std::int64_t n_features) {
  static const std::map<std::string, ModelFactory> table = {
      {"cellot", make_cellot},     {"scgen", make_scgen},       {"cae", make_cae},
      {"identity", make_identity}, {"observed", make_observed}, {"mean_shift", make_mean_shift},
  };
  const auto it = table.find(cfg.model.name);
  if (it == table.end()) throw InputError("config", "model.name", cfg.model.name, "unknown model");
  return it->second(cfg, n_features);
}

}  // namespace cellot::models
