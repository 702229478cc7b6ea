#include "cellot/models/autoencoder/cae.hpp"

namespace cellot::models {

std::vector<float> Cae::transport(const float* x, std::int64_t n) const {
  const std::vector<float> z = net_.encode(x, n, nullptr, /*fixed_label=*/0);
  return net_.decode(z.data(), n, nullptr, /*fixed_label=*/1);
}

std::unique_ptr<Model> make_cae(const Config& cfg, std::int64_t n_features) {
  return std::make_unique<Cae>(cfg, n_features);
}

}  // namespace cellot::models
