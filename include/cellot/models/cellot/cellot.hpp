#pragma once
// CellOT (Bunne et al.): two ICNNs f, g trained by the min-max of Makkuva et al.; the learned map
// of control cells to perturbed cells is T(x) = grad_x g(x). Training is models::train_cellot
// (data-parallel over ctx.comm, checkpoints, validation-based selection).
#include <cstdint>
#include <memory>
#include <vector>

#include "cellot/models/cellot/icnn.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

struct CellotResult;

class CellotModel : public Model {
 public:
  // Untrained: weights initialised from cfg.training.seed (training re-initialises from ctx.seed).
  CellotModel(const Config& cfg, std::int64_t n_features);

  std::string name() const override { return "cellot"; }
  void train(const TrainInput& input, const TrainContext& ctx) override;
  // (1 - t) x + t grad g(x), float32 arithmetic as in training, returned as float64.
  Matrix predict(const Matrix& source, double t = 1.0) const override;
  // "f.W.<k>.weight", "f.A.<k>.weight", "f.A.<k>.bias", and the same for "g." (the reference
  // nn.Module's state_dict names, prefixed by the network).
  std::vector<NamedTensor> parameters() const override;
  void set_parameters(const std::vector<NamedTensor>& params) override;

  const IcnnShape& shape() const { return shape_; }
  const std::vector<float>& f_params() const { return f_; }
  const std::vector<float>& g_params() const { return g_; }
  // Outer iteration of the selected parameters (-1: last iterate, no validation metric) and its
  // validation metric.
  std::int64_t best_step() const override { return best_step_; }
  double best_metric() const override { return best_metric_; }
  double work_done() const override { return work_done_; }
  // Takes the result of training (train(), or a pack's member: train_cellot_models).
  void adopt(CellotResult&& result, std::int64_t planned_iters);

 private:
  Config cfg_;
  IcnnShape shape_;
  std::vector<float> f_, g_;
  std::int64_t best_step_ = -1;
  double best_metric_ = 0;
  double work_done_ = 1.0;
};

std::unique_ptr<Model> make_cellot(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
