#pragma once
// scGen (Lotfollahi et al. 2019; paper App. A.1): a deterministic autoencoder trained to
// reconstruct control and perturbed training cells; a control cell x is mapped by latent
// arithmetic, T(x) = dec(enc(x) - zbar_control + zbar_perturbed), with the latent means taken
// over the TRAINING split in eval mode (no dropout; the reference happens to compute them with
// the network still in train mode, i.e. with dropout noise — we do not copy that).
// Training, grid search and parameters: models/autoencoder.hpp. Extra parameters:
// "latent_mean.control" and "latent_mean.perturbed" [latent], so predict works after a load.
#include <vector>

#include "cellot/models/autoencoder/autoencoder.hpp"

namespace cellot::models {

class ScGen final : public AutoencoderModel {
 public:
  ScGen(const Config& cfg, std::int64_t n_features) : AutoencoderModel(cfg, n_features, 0) {}
  std::string name() const override { return "scgen"; }
  const std::vector<float>& latent_mean_control() const { return mean_control_; }
  const std::vector<float>& latent_mean_perturbed() const { return mean_perturbed_; }

 protected:
  std::vector<float> transport(const float* x, std::int64_t n) const override;
  void finish_fit(const TrainInput& input) override;
  void export_extra(std::vector<NamedTensor>& out) const override;
  void import_extra(const std::vector<NamedTensor>& in) override;

 private:
  std::vector<float> mean_control_, mean_perturbed_;
};

std::unique_ptr<Model> make_scgen(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
