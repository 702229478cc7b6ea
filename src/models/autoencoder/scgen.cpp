#include "cellot/models/autoencoder/scgen.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"

namespace cellot::models {

namespace {

// Column means (in double) of the latent codes of `cells`, encoded in chunks.
std::vector<float> latent_mean(const AeNet& net, const Matrix& cells) {
  const std::int64_t latent = net.hyper().latent, chunk = 8192;
  std::vector<double> sum(static_cast<std::size_t>(latent), 0.0);
  std::vector<float> x;
  for (std::int64_t b = 0; b < cells.rows; b += chunk) {
    const std::int64_t m = std::min(chunk, cells.rows - b);
    x.resize(static_cast<std::size_t>(m * cells.cols));
    const double* src = cells.row(b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(src[i]);
    const std::vector<float> z = net.encode(x.data(), m, nullptr);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < latent; ++j)
        sum[static_cast<std::size_t>(j)] += z[static_cast<std::size_t>(i * latent + j)];
  }
  std::vector<float> mean(sum.size());
  for (std::size_t j = 0; j < sum.size(); ++j) mean[j] = static_cast<float>(sum[j] / static_cast<double>(cells.rows));
  return mean;
}

}  // namespace

void ScGen::finish_fit(const TrainInput& input) {
  mean_control_ = latent_mean(net_, input.source_train);
  mean_perturbed_ = latent_mean(net_, input.target_train);
}

std::vector<float> ScGen::transport(const float* x, std::int64_t n) const {
  std::vector<float> z = net_.encode(x, n, nullptr);
  const std::size_t latent = mean_control_.size();
  CELLOT_CHECK(latent == static_cast<std::size_t>(net_.hyper().latent), "scgen latent means missing");
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = (z[i] - mean_control_[i % latent]) + mean_perturbed_[i % latent];
  return net_.decode(z.data(), n, nullptr);
}

void ScGen::export_extra(std::vector<NamedTensor>& out) const {
  // An untrained model exports zeros of the final shape: the results store sizes its parameter
  // rows from untrained models, so the layout must not change with training.
  const std::int64_t latent = net_.hyper().latent;
  auto or_zeros = [latent](const std::vector<float>& v) {
    return v.empty() ? std::vector<float>(static_cast<std::size_t>(latent), 0.f) : v;
  };
  out.push_back({"latent_mean.control", {latent}, or_zeros(mean_control_)});
  out.push_back({"latent_mean.perturbed", {latent}, or_zeros(mean_perturbed_)});
}

void ScGen::import_extra(const std::vector<NamedTensor>& in) {
  const std::int64_t latent = net_.hyper().latent;
  for (const char* name : {"latent_mean.control", "latent_mean.perturbed"}) {
    const NamedTensor* t = nullptr;
    for (const auto& p : in)
      if (p.name == name) t = &p;
    if (!t) throw InputError("model parameters", name, "", "missing tensor");
    if (t->shape != std::vector<std::int64_t>{latent} || static_cast<std::int64_t>(t->values.size()) != latent)
      throw InputError("model parameters", name, std::to_string(t->values.size()),
                       "shape does not match the latent size");
    (std::string(name) == "latent_mean.control" ? mean_control_ : mean_perturbed_) = t->values;
  }
}

std::unique_ptr<Model> make_scgen(const Config& cfg, std::int64_t n_features) {
  return std::make_unique<ScGen>(cfg, n_features);
}

}  // namespace cellot::models
