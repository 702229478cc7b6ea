#pragma once
// The identity baseline: every control cell is "predicted" unchanged, T(x) = x (the no-effect
// reference line of the benchmark; t is irrelevant). Training only records the feature count.
// Parameters: "hparams" = [n_features].
#include "cellot/models/model.hpp"

namespace cellot::models {

class IdentityModel final : public Model {
 public:
  explicit IdentityModel(std::int64_t n_features);
  std::string name() const override { return "identity"; }
  void train(const TrainInput& input, const TrainContext& ctx) override;
  Matrix predict(const Matrix& source, double t = 1.0) const override;
  std::vector<NamedTensor> parameters() const override;
  void set_parameters(const std::vector<NamedTensor>& params) override;

 private:
  std::int64_t n_features_;
};

std::unique_ptr<Model> make_identity(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
