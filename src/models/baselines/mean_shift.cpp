#include "cellot/models/baselines/mean_shift.hpp"

#include "cellot/core/error.hpp"

namespace cellot::models {

namespace {
std::vector<double> column_means(const Matrix& m) {
  std::vector<double> mu(static_cast<std::size_t>(m.cols), 0.0);
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t j = 0; j < m.cols; ++j) mu[static_cast<std::size_t>(j)] += m(i, j);
  for (auto& v : mu) v /= static_cast<double>(m.rows);
  return mu;
}
}  // namespace

MeanShiftModel::MeanShiftModel(std::int64_t n_features) : n_features_(n_features) {
  if (n_features <= 0) throw InputError("data", "n_features", std::to_string(n_features), "must be > 0");
  // Untrained: a zero shift, so that parameters() has its final layout before training.
  shift_.assign(static_cast<std::size_t>(n_features), 0.f);
}

void MeanShiftModel::train(const TrainInput& input, const TrainContext&) {
  for (const Matrix* m : {&input.source_train, &input.target_train}) {
    if (m->rows == 0)
      throw InputError("data", "perturbation", input.perturbation,
                       "mean_shift needs control and perturbed cells in the training split");
    if (m->cols != n_features_)
      throw InputError("data", "n_features", std::to_string(m->cols),
                       "mean_shift was built for " + std::to_string(n_features_) + " features");
  }
  const std::vector<double> mc = column_means(input.source_train), mp = column_means(input.target_train);
  shift_.resize(mc.size());
  for (std::size_t j = 0; j < mc.size(); ++j) shift_[j] = static_cast<float>(mp[j] - mc[j]);
  curves_ = Curves{};
  trained_ = true;
}

Matrix MeanShiftModel::predict(const Matrix& source, double t) const {
  if (!trained_) throw RuntimeError("mean_shift: predict before train() or set_parameters()");
  if (source.rows > 0 && source.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(source.cols),
                     "mean_shift was trained on " + std::to_string(n_features_) + " features");
  Matrix out = source;
  for (std::int64_t i = 0; i < out.rows; ++i)
    for (std::int64_t j = 0; j < out.cols; ++j)
      out(i, j) += t * static_cast<double>(shift_[static_cast<std::size_t>(j)]);
  return out;
}

std::vector<NamedTensor> MeanShiftModel::parameters() const { return {NamedTensor{"shift", {n_features_}, shift_}}; }

void MeanShiftModel::set_parameters(const std::vector<NamedTensor>& params) {
  for (const auto& p : params)
    if (p.name == "shift") {
      if (p.shape != std::vector<std::int64_t>{n_features_} ||
          static_cast<std::int64_t>(p.values.size()) != n_features_)
        throw InputError("model parameters", "shift", std::to_string(p.values.size()),
                         "mean_shift was built for " + std::to_string(n_features_) + " features");
      shift_ = p.values;
      trained_ = true;
      return;
    }
  throw InputError("model parameters", "shift", "", "missing tensor");
}

std::unique_ptr<Model> make_mean_shift(const Config&, std::int64_t n_features) {
  return std::make_unique<MeanShiftModel>(n_features);
}

}  // namespace cellot::models
