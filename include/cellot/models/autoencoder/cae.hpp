#pragma once
// cAE, the conditional autoencoder (Lopez et al. 2018 style; paper App. A.2): a one-hot
// condition (control = 0, perturbed = 1) is concatenated to the encoder input and to the
// decoder input; trained to reconstruct every training cell under its true label; a control
// cell is predicted as T(x) = dec(enc(x | 0) | 1). Training, grid search and parameters:
// models/autoencoder.hpp (encoder.0.weight is [width, d + 2], decoder.0.weight [width, latent + 2]).
#include "cellot/models/autoencoder/autoencoder.hpp"

namespace cellot::models {

class Cae final : public AutoencoderModel {
 public:
  Cae(const Config& cfg, std::int64_t n_features) : AutoencoderModel(cfg, n_features, 2) {}
  std::string name() const override { return "cae"; }

 protected:
  std::vector<float> transport(const float* x, std::int64_t n) const override;
};

std::unique_ptr<Model> make_cae(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
