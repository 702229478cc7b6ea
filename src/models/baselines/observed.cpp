#include "cellot/models/baselines/observed.hpp"

#include <numeric>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"

namespace cellot::models {

ObservedHalves observed_halves(const Matrix& treated_test, std::uint64_t seed) {
  if (treated_test.rows < 2)
    throw InputError("data", "treated test cells", std::to_string(treated_test.rows),
                     "the observed baseline needs at least 2 perturbed test cells to split into halves");
  std::vector<std::int64_t> perm(static_cast<std::size_t>(treated_test.rows));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  Rng rng(seed, "observed:halves");
  rng.shuffle(perm);
  const auto half = static_cast<std::ptrdiff_t>(treated_test.rows / 2);
  ObservedHalves h;
  h.prediction_rows.assign(perm.begin(), perm.begin() + half);
  h.reference_rows.assign(perm.begin() + half, perm.end());
  h.prediction = treated_test.select_rows(h.prediction_rows);
  h.reference = treated_test.select_rows(h.reference_rows);
  return h;
}

ObservedModel::ObservedModel(std::int64_t n_features) : n_features_(n_features) {
  if (n_features <= 0) throw InputError("data", "n_features", std::to_string(n_features), "must be > 0");
}

void ObservedModel::train(const TrainInput& input, const TrainContext& ctx) {
  if (input.target_test.rows == 0)
    throw InputError("data", "perturbation", input.perturbation,
                     "the observed baseline needs the perturbed test cells (TrainInput::target_test is empty)");
  if (input.target_test.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(input.target_test.cols),
                     "observed was built for " + std::to_string(n_features_) + " features");
  const ObservedHalves h = observed_halves(input.target_test, ctx.seed);
  pool_rows_ = h.prediction.rows;
  pool_.resize(h.prediction.data.size());
  for (std::size_t i = 0; i < pool_.size(); ++i) pool_[i] = static_cast<float>(h.prediction.data[i]);
  curves_ = Curves{};
}

Matrix ObservedModel::predict(const Matrix& source, double) const {
  if (pool_rows_ == 0) throw RuntimeError("observed: predict before train() or set_parameters()");
  if (source.rows > 0 && source.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(source.cols),
                     "observed was built for " + std::to_string(n_features_) + " features");
  Matrix out(source.rows, n_features_);
  for (std::int64_t i = 0; i < out.rows; ++i) {
    const float* p = pool_.data() + (i % pool_rows_) * n_features_;
    for (std::int64_t j = 0; j < n_features_; ++j) out(i, j) = static_cast<double>(p[j]);
  }
  return out;
}

std::vector<NamedTensor> ObservedModel::parameters() const {
  return {NamedTensor{"pool", {pool_rows_, n_features_}, pool_}};
}

void ObservedModel::set_parameters(const std::vector<NamedTensor>& params) {
  for (const auto& p : params)
    if (p.name == "pool") {
      if (p.shape.size() != 2 || p.shape[1] != n_features_ || p.shape[0] <= 0 ||
          static_cast<std::int64_t>(p.values.size()) != p.shape[0] * p.shape[1])
        throw InputError("model parameters", "pool", std::to_string(p.values.size()),
                         "expected a [rows, " + std::to_string(n_features_) + "] tensor");
      pool_rows_ = p.shape[0];
      pool_ = p.values;
      return;
    }
  throw InputError("model parameters", "pool", "", "missing tensor");
}

std::unique_ptr<Model> make_observed(const Config&, std::int64_t n_features) {
  return std::make_unique<ObservedModel>(n_features);
}

}  // namespace cellot::models
