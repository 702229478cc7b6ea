#pragma once
// The mean-shift baseline: T(x) = x + (mu_perturbed - mu_control), the means taken (in double)
// over the TRAINING split and the shift kept in float32 (so a reloaded model predicts
// identically). With dosage t: x + t * shift. On the training split the predicted mean equals
// the perturbed mean up to float rounding, so its drug-signature error l2_ds there is ~0: it is
// the "first moment only" reference that any distributional model must beat on the other
// metrics. Parameters: "shift" [n_features].
#include <vector>

#include "cellot/models/model.hpp"

namespace cellot::models {

class MeanShiftModel final : public Model {
 public:
  explicit MeanShiftModel(std::int64_t n_features);
  std::string name() const override { return "mean_shift"; }
  void train(const TrainInput& input, const TrainContext& ctx) override;
  Matrix predict(const Matrix& source, double t = 1.0) const override;
  std::vector<NamedTensor> parameters() const override;
  void set_parameters(const std::vector<NamedTensor>& params) override;
  const std::vector<float>& shift() const { return shift_; }

 private:
  std::int64_t n_features_;
  std::vector<float> shift_;
  bool trained_ = false;
};

std::unique_ptr<Model> make_mean_shift(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
