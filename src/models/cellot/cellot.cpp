#include "cellot/models/cellot/cellot.hpp"

#include <algorithm>
#include <cmath>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot_steps.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"

namespace cellot::models {

CellotModel::CellotModel(const Config& cfg, std::int64_t n_features)
    : cfg_(cfg), shape_(IcnnShape::from_config(cfg, n_features)) {
  f_.resize(static_cast<std::size_t>(shape_.size()));
  g_.resize(static_cast<std::size_t>(shape_.size()));
  Rng init_f(cfg.training.seed, "cellot/init/f"), init_g(cfg.training.seed, "cellot/init/g");
  shape_.init(f_.data(), init_f);
  shape_.init(g_.data(), init_g);
}

void CellotModel::train(const TrainInput& input, const TrainContext& ctx) {
  CELLOT_CHECK(ctx.config != nullptr, "TrainContext without config");
  const auto hp = models::CellotHyper::from_config(*ctx.config);
  adopt(models::train_cellot(shape_, hp, input, ctx), hp.iters);
}

void CellotModel::adopt(CellotResult&& result, std::int64_t planned_iters) {
  f_ = std::move(result.f);
  g_ = std::move(result.g);
  curves_ = std::move(result.curves);
  best_step_ = result.best_step;
  best_metric_ = result.best_metric;
  work_done_ = planned_iters > 0 ? static_cast<double>(result.steps) / static_cast<double>(planned_iters) : 1.0;
}

// The registry's pack trainer for CellOT: train_cellot_pack over the models' own shapes.
std::vector<std::exception_ptr> train_cellot_models(const std::vector<Model*>& models,
                                                    const std::vector<const TrainInput*>& inputs,
                                                    const std::vector<TrainContext>& ctxs) {
  std::vector<CellotModel*> cm;
  std::vector<CellotHyper> hps;
  hps.reserve(models.size());  // members point into it
  std::vector<CellotPackMember> members;
  for (std::size_t i = 0; i < models.size(); ++i) {
    cm.push_back(dynamic_cast<CellotModel*>(models[i]));
    CELLOT_CHECK(cm.back() != nullptr && ctxs[i].config != nullptr, "cellot pack member without model or config");
    hps.push_back(CellotHyper::from_config(*ctxs[i].config));
    members.push_back({&cm.back()->shape(), &hps.back(), inputs[i], ctxs[i]});
  }
  auto out = train_cellot_pack(members);
  std::vector<std::exception_ptr> errors(models.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    errors[i] = out[i].error;
    if (!errors[i]) cm[i]->adopt(std::move(out[i].result), hps[i].iters);
  }
  return errors;
}

Matrix CellotModel::predict(const Matrix& source, double t) const {
  const std::int64_t d = shape_.dim();
  if (source.rows > 0 && source.cols != d)
    throw InputError("cells", "n_vars", std::to_string(source.cols),
                     "the cellot model was trained on " + std::to_string(d) + " features");
  std::vector<float> x(source.data.size()), tx(source.data.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(source.data[i]);
  // Workspace sized to the call (up to 1024-row chunks): a screen predicts a few dozen held-out
  // controls per task, and a full 1024-row workspace cost more than the prediction itself.
  models::CellotSteps<float> steps(shape_, std::clamp<std::int64_t>(source.rows, 1, 1024));
  steps.transport(g_.data(), x.data(), source.rows, tx.data());
  Matrix out(source.rows, d);
  for (std::size_t i = 0; i < x.size(); ++i)
    out.data[i] = t == 1.0 ? static_cast<double>(tx[i]) : (1.0 - t) * source.data[i] + t * static_cast<double>(tx[i]);
  return out;
}

std::vector<NamedTensor> CellotModel::parameters() const {
  auto out = shape_.to_named(f_.data(), "f.");
  auto gn = shape_.to_named(g_.data(), "g.");
  out.insert(out.end(), gn.begin(), gn.end());
  return out;
}

void CellotModel::set_parameters(const std::vector<NamedTensor>& params) {
  shape_.from_named(params, "f.", f_.data());
  shape_.from_named(params, "g.", g_.data());
}

std::unique_ptr<Model> make_cellot(const Config& cfg, std::int64_t n_features) {
  return std::make_unique<CellotModel>(cfg, n_features);
}

}  // namespace cellot::models
