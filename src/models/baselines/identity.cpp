#include "cellot/models/baselines/identity.hpp"

#include "cellot/core/error.hpp"

namespace cellot::models {

IdentityModel::IdentityModel(std::int64_t n_features) : n_features_(n_features) {
  if (n_features <= 0) throw InputError("data", "n_features", std::to_string(n_features), "must be > 0");
}

void IdentityModel::train(const TrainInput& input, const TrainContext&) {
  if (input.source_train.rows > 0 && input.source_train.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(input.source_train.cols),
                     "identity was built for " + std::to_string(n_features_) + " features");
  curves_ = Curves{};
}

Matrix IdentityModel::predict(const Matrix& source, double) const {
  if (source.rows > 0 && source.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(source.cols),
                     "identity was built for " + std::to_string(n_features_) + " features");
  return source;
}

std::vector<NamedTensor> IdentityModel::parameters() const {
  return {NamedTensor{"hparams", {1}, {static_cast<float>(n_features_)}}};
}

void IdentityModel::set_parameters(const std::vector<NamedTensor>& params) {
  for (const auto& p : params)
    if (p.name == "hparams") {
      if (p.values.size() != 1 || static_cast<std::int64_t>(p.values[0]) != n_features_)
        throw InputError("model parameters", "hparams", p.values.empty() ? "" : std::to_string(p.values[0]),
                         "identity was built for " + std::to_string(n_features_) + " features");
      return;
    }
  throw InputError("model parameters", "hparams", "", "missing tensor");
}

std::unique_ptr<Model> make_identity(const Config&, std::int64_t n_features) {
  return std::make_unique<IdentityModel>(n_features);
}

}  // namespace cellot::models
