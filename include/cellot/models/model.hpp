#pragma once
// The model interface shared by CellOT and the baselines: train on a (control, perturbed) pair,
// predict perturbed states of control cells, and expose named parameters so any prediction can
// be remade from a store or a model directory.
#include <mpi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <memory>
#include <limits>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/data/transform.hpp"

namespace cellot::models {

struct TrainInput {
  std::string perturbation;
  Matrix source_train, target_train;  // control / perturbed cells of the training split
  Matrix source_val, target_val;      // validation split (model selection, curves)
  // Perturbed cells of the TEST split. Read only by the `observed` baseline (its prediction
  // half, see models/observed.hpp); every trained model ignores it. Fill it for model.name =
  // observed, and evaluate that model against observed_halves(target_test, ctx.seed).reference.
  Matrix target_test;
};

struct TrainContext {
  const Config* config = nullptr;
  MPI_Comm comm = MPI_COMM_SELF;  // the rank group training this model (data-parallel)
  std::uint64_t seed = 0;         // task seed, already derived from (seed, task key)
  bool progress = false;          // print progress lines (group root, not quiet)
  std::string checkpoint_path;    // empty: no checkpoints
  bool resume = false;            // continue from checkpoint_path if it exists
  // Called between iterations; returning true asks the trainer to checkpoint and stop
  // (preemption). The trainer then throws Interrupted.
  std::function<bool()> should_stop;
  // Called after each optimisation step with the fraction of the planned steps done (0..1), for
  // the screen's progress line and ETA while a long task runs. Unset: nothing.
  std::function<void(double fraction)> on_progress;
  // Validation metric for curves and model selection (lower is better), e.g. MMD from
  // cellot::metrics; computed on (predicted validation controls, observed validation treated).
  // Unset: the trainer keeps the last iterate and logs no validation metric.
  std::function<double(const Matrix& predicted, const Matrix& observed)> validation_metric;
};

// Thrown when training stopped on request after writing a checkpoint.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown when training diverged (NaN/Inf): the task's status says so.
struct Diverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A named float32 tensor, row-major.
struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// Training curves: one row per logged step, columns named.
struct Curves {
  std::vector<std::string> columns;  // e.g. step, g_loss, f_loss, w2, val_energy
  std::vector<std::vector<double>> rows;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual void train(const TrainInput& input, const TrainContext& ctx) = 0;
  // Predicted perturbed states of `source` cells (row i pairs with source row i). `t` in [0, 1]
  // interpolates (1-t) x + t T(x) (dosage); models without a map ignore t < 1 only if documented.
  virtual Matrix predict(const Matrix& source, double t = 1.0) const = 0;
  virtual std::vector<NamedTensor> parameters() const = 0;
  virtual void set_parameters(const std::vector<NamedTensor>& params) = 0;
  virtual const Curves& curves() const { return curves_; }
  // The iterate training selected on the validation metric: its step (-1: the last iterate, the
  // model selects none) and the metric's value there.
  virtual std::int64_t best_step() const { return -1; }
  virtual double best_metric() const { return std::numeric_limits<double>::quiet_NaN(); }
  // The fraction of the configured optimisation the last train() ran: below 1 when early
  // stopping (training.patience) ended it sooner. The screen's ETA re-estimates from it.
  virtual double work_done() const { return 1.0; }

 protected:
  Curves curves_;
};

// The transform `model` works through, from its split's: the split's, except that the observed
// baseline keeps the embedding's own scale (it hands out real cells, stored as float32
// parameters: standardised, they would come back rounded, no longer the cells themselves).
data::FeatureTransform model_transform(const data::FeatureTransform& split, const std::string& model);

// Trains models[i] on inputs[i] with ctxs[i], together where their kind trains packs
// (ModelKind::packs; all of one kind, one communicator) and one after another otherwise. Each
// model ends as train() alone would leave it, bit for bit. errors[i] (null: trained) is what
// train() would have thrown for that model alone: Interrupted, Diverged, InputError; any other
// error ends the call for all (it propagates). Collective over the ctxs' communicator.
std::vector<std::exception_ptr> train_together(const std::vector<Model*>& models,
                                               const std::vector<const TrainInput*>& inputs,
                                               const std::vector<TrainContext>& ctxs);

// Creates an untrained model of cfg.model.name (InputError for an unknown name).
std::unique_ptr<Model> make_model(const Config& cfg, std::int64_t n_features);

// The model's own checks of its hyper-parameters in cfg, before any data is read (InputError
// naming the key); nothing for models without any beyond Config's validate().
void check_model_config(const Config& cfg);

// An upper bound of the parameter values one task of cfg.model.name stores (the store's /params
// row): its own parameters, the largest candidate of a grid, or the observed floor's pool for
// the largest treated test split of the plan (`n_treated_test_max`).
std::int64_t max_stored_params(const Config& cfg, std::int64_t n_features, std::int64_t n_treated_test_max);

// True when the registry holds a pack trainer for the model (a test checks it is ModelKind::packs).
bool has_pack_trainer(const std::string& name);

// The names the factories are registered under (a test checks they are models::kinds()').
std::vector<std::string> registered_factories();

// Registration hook: each model's translation unit provides its factory (see model_registry.cpp).
using ModelFactory = std::unique_ptr<Model> (*)(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
