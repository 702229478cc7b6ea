#pragma once
// The deterministic autoencoder shared by the scGen and cAE baselines (paper App. A, C.1), its
// data-parallel trainer and the validation grid search. Torch-free header: the network math
// lives in src/models/autoencoder.cpp.
//
// Architecture (as the reference's `dnn`): encoder  (d + C) -> [width, ReLU, dropout] x depth
// -> latent (linear); decoder (latent + C) -> [width, ReLU, dropout] x depth -> d (linear). C is
// the number of one-hot condition columns concatenated to both inputs (0 for scGen, 2 for cAE:
// control = 0, perturbed = 1). ReLU rather than LeakyReLU: it is what the reference trains (the
// reported baseline numbers come from it) and dead units are not a problem at width 32 with
// Adam. Dropout (inverted: kept units scaled by 1/(1-p)) only while training.
//
// Training: MSE reconstruction (mean over features, mean over the batch) of control AND
// perturbed training cells with their true labels; Adam with torch's default betas (0.9, 0.999),
// eps 1e-8, no weight decay — the reference builds torch.optim.Adam(lr=...) for the
// autoencoders, and cellot's (0.5, 0.9) are a choice for the adversarial ICNN pair, not for a
// plain regression loss. training.beta1/beta2 are therefore not read here. Weights start as
// torch's nn.Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
//
// Steps: training.epochs > 0 gives epochs * ceil(N / batch) steps, else training.iters steps
// (epochs continue cyclically). Every epoch draws a fresh permutation of the N training cells
// from Rng(seed, "ae:order"); batches are consecutive slices of it (the last one partial).
//
// Data parallel over ctx.comm (R ranks): parameters are broadcast from rank 0 at start; every
// rank draws the same permutation and the same dropout masks for the whole global batch (per
// global sample, layer-major, from Rng(seed, "ae:dropout")), takes its nn::share of the
// batch rows, and accumulates gradient sums scaled by 1/global_batch into one flat float
// buffer that also carries the loss and a stop flag: ONE MPI_Allreduce per step, then the same
// Adam step everywhere. R = 1 and R = 2 therefore differ only in float summation order, and
// parameters stay bit-identical across the group.
//
// Iterate selection: the validation reconstruction loss (both conditions, no dropout) is
// evaluated every training.eval_every steps and at the end; the iterate with the lowest value
// is kept (the reference keeps its best-eval-loss checkpoint, but on the test split; we use
// validation). Without validation cells the last iterate is kept. With training.patience > 0
// a fit stops after that many evaluations without a new best validation loss, once
// training.min_iters steps are done (nn/early_stop.hpp; each grid candidate counts afresh).
//
// Grid (model.grid = true, App. C.1): width {16, 32} x depth {2, 3} x latent {4, 8} x dropout
// {0, 0.05, 0.1, 0.2} x lr {1e-5, 1e-4, 1e-3} = 96 fits, each with the same seed (so refitting
// the chosen hyperparameters with grid = false reproduces the chosen model bit for bit). A
// candidate is scored by a DISTRIBUTION loss on the validation split — ctx.validation_metric
// (predicted validation controls vs observed validation perturbed cells) or, when the caller
// gives none, metrics::mmd_rbf with the configured metrics.mmd_gammas (all validation cells,
// collective over the group). Not the reconstruction loss: it measures
// only how well the AE copies its input and decreases with capacity (it would always pick
// width 32 / depth 3 / latent 8 / dropout 0), while the baselines are judged on the predicted
// perturbed distribution. A diverged candidate scores +inf; the lowest score wins (first on
// ties). The chosen hyperparameters are in the "hparams" parameter and every candidate's score
// in "grid", so a reload reproduces the model and shows how it was chosen.
//
// Preemption: ctx.should_stop is polled every step (its vote travels in the step's allreduce,
// so every rank stops at the same step) and training throws Interrupted. Autoencoders are
// cheap to refit and write no checkpoints: ctx.checkpoint_path and ctx.resume are ignored, and
// a resumed task trains from scratch (same seed, so the same result).
//
// Packs (screen.pack): AutoencoderModel::train_pack trains several scGen or cAE tasks on one
// group, one optimiser step of each in turn, each member to the bits of train() alone.
//
// Parameters (float32, names as torch's state_dict of the reference): "hparams" = [n_features,
// n_conditions, width, depth, latent, dropout, lr, batch_size]; "encoder.<l>.weight" [out, in],
// "encoder.<l>.bias" [out], "decoder.<l>.*" likewise (l = 0..depth); "selection" = [best_step,
// best_val_loss, val_metric] (NaN where not computed); "grid" [96, 6] = (width, depth, latent,
// dropout, lr, score) when the grid ran; plus each model's own (scGen's latent means).
#include <cstdint>
#include <exception>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#include "cellot/core/rng.hpp"
#include "cellot/nn/early_stop.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

struct AeHyper {
  int width = 32;
  int depth = 2;
  int latent = 8;
  double dropout = 0.05;
  double lr = 1e-3;
};

// The App. C.1 grid, in the order it is searched.
std::vector<AeHyper> autoencoder_grid();

// Hyperparameters from cfg.model and cfg.lr() (InputError naming the key when out of range).
AeHyper hyper_from_config(const Config& cfg);

// The network: one flat float32 parameter buffer and its layer table.
class AeNet {
 public:
  AeNet() = default;
  AeNet(std::int64_t n_features, int n_conditions, const AeHyper& hyper);

  std::int64_t n_features() const { return n_features_; }
  int n_conditions() const { return n_conditions_; }
  const AeHyper& hyper() const { return hyper_; }
  std::int64_t size() const { return static_cast<std::int64_t>(params_.size()); }
  float* data() { return params_.data(); }
  const float* data() const { return params_.data(); }
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  int hidden_layers() const { return 2 * hyper_.depth; }  // layers followed by ReLU + dropout

  // nn.Linear's default initialisation drawn from `rng`.
  void init(Rng& rng);

  // Eval mode (no dropout). `labels` (one per row, 0 or 1) are read only when n_conditions > 0;
  // nullptr means label `fixed_label` for every row.
  std::vector<float> encode(const float* x, std::int64_t n, const int* labels, int fixed_label = 0) const;
  std::vector<float> decode(const float* z, std::int64_t n, const int* labels, int fixed_label = 0) const;
  // Sum over rows of the per-sample reconstruction MSE (eval mode).
  double reconstruction_sum(const float* x, std::int64_t n, const int* labels) const;

  // Training step on n rows: returns scale * sum of per-sample losses and writes
  // scale * d(sum of per-sample losses)/d(params) into grad (size(), overwritten). masks[l]
  // (n x width, entries 0 or 1/(1-p)) per hidden layer, or masks == nullptr for no dropout.
  double loss_and_grad(const float* x, const int* labels, std::int64_t n, const float* const* masks, double scale,
                       float* grad) const;

  // Named tensors "encoder.<l>.weight" ... and the inverse (InputError on a name or shape mismatch).
  void export_to(std::vector<NamedTensor>& out) const;
  void import_from(const std::vector<NamedTensor>& in);

 private:
  struct Layer {
    std::int64_t in = 0, out = 0, w_off = 0, b_off = 0;
  };
  struct Scratch;
  static Scratch& scratch();  // the calling thread's
  void block_forward(const std::vector<Layer>& layers, const float* in, std::int64_t n, float* const* hidden,
                     float* const* keep, const float* const* masks, float* out, std::int64_t ld_out) const;
  std::vector<float> eval_block(const std::vector<Layer>& layers, const float* in, std::int64_t n) const;
  std::int64_t n_features_ = 0;
  int n_conditions_ = 0;
  AeHyper hyper_;
  std::vector<Layer> enc_, dec_;
  std::vector<float> params_;
};

// Training data of one fit, as float32 rows with labels (0 control, 1 perturbed).
struct AeData {
  std::int64_t n_features = 0;
  std::vector<float> train_x, val_x;
  std::vector<int> train_labels, val_labels;
  std::int64_t n_train() const { return static_cast<std::int64_t>(train_labels.size()); }
  std::int64_t n_val() const { return static_cast<std::int64_t>(val_labels.size()); }
};
AeData make_ae_data(const TrainInput& input);

// One optimiser step of a fit, for the independent PyTorch cross-check
// (tests/crosscheck/ae_reference.py): what a second implementation needs to replay the step
// (the batch and its dropout realisation) and what it compares (loss, parameters). Step 0 is
// the start of the fit: the initial parameters, no batch. Pointers are valid during the call.
struct AeStepTrace {
  std::int64_t step = 0;                // steps done (1-based); 0 = initial parameters
  const std::int64_t* rows = nullptr;   // the batch: indices into AeData's training rows
  std::int64_t n_rows = 0;
  const float* masks = nullptr;         // hidden_layers() x n_rows x width, or nullptr (no dropout)
  double loss = 0;                      // the batch's reconstruction loss (as the curves sum it)
  const float* params = nullptr;        // the flat parameters after the step (AeNet layout)
  std::int64_t n_params = 0;
};
using AeStepObserver = std::function<void(const AeStepTrace&)>;

// How a network is fitted (training.* of a model, data.ae_* of the embedding autoencoder).
struct AeFitSettings {
  std::int64_t batch_size = 128;
  std::int64_t epochs = 0, iters = 0;  // epochs * ceil(N / batch) steps when epochs > 0, else iters
  std::int64_t eval_every = 0;         // 0: evaluate once, at the end
  std::int64_t micro_batches = 4;      // the batch's units of work (part of the numerics)
  nn::EarlyStop early;                 // patience / min_iters on the validation loss
};
struct AeFitResult {
  Curves curves;
  double best_step = 0, best_val_loss = 0;
  std::int64_t steps = 0;  // steps trained (fewer than planned when stopped early)
};
// The fitting loop of the autoencoders (see the header comment: initialisation from
// Rng(ctx.seed, "ae:init"), Adam, data parallel over ctx.comm, validation-loss iterate selection
// and early stopping). `net` gives the shape and hyperparameters and ends with the selected
// parameters. Shared by AutoencoderModel (scGen, cAE) and the embedding autoencoder
// (models/embedding_ae.hpp).
AeFitResult fit_ae_net(AeNet& net, const AeFitSettings& settings, const AeData& data, const TrainContext& ctx,
                       const std::string& label, const AeStepObserver& observer = {});

// Base of ScGen and Cae: training (single fit or grid), prediction, parameters.
class AutoencoderModel : public Model {
 public:
  AutoencoderModel(const Config& cfg, std::int64_t n_features, int n_conditions);

  void train(const TrainInput& input, const TrainContext& ctx) override;
  Matrix predict(const Matrix& source, double t = 1.0) const override;
  std::vector<NamedTensor> parameters() const override;
  void set_parameters(const std::vector<NamedTensor>& params) override;

  const AeNet& net() const { return net_; }
  bool trained() const { return trained_; }
  // Called at the start of every fit and after every optimiser step (tests and debugging only:
  // the cross-check replays the steps in PyTorch). Every rank of the group calls it.
  void observe_steps(AeStepObserver observer) { observer_ = std::move(observer); }

  // The registry's pack trainer (screen.pack; models::train_together): models[i] (scGen or cAE,
  // all of one kind) trained on inputs[i] with ctxs[i], one optimiser step of every running
  // member in turn. Each member keeps its own network, Adam state, batch order, dropout stream,
  // micro-batch reducer, early stopping and grid search, and does exactly the arithmetic and
  // reductions of train() alone, so every member ends bit-identical to train() alone, whatever
  // the pack. Members end independently (steps, training.patience, grid). The preemption hook
  // is asked once per round, from the first running member's ctx.should_stop; when it asks to
  // stop, every running member reports Interrupted (autoencoders keep no checkpoint: a resumed
  // task refits from scratch, to the same bits). errors[i]: what train() would have thrown
  // alone (Interrupted, Diverged, InputError), null when trained. Collective over the ctxs'
  // communicator (one for the whole pack, every rank passing the same members in order).
  static std::vector<std::exception_ptr> train_pack(const std::vector<Model*>& models,
                                                    const std::vector<const TrainInput*>& inputs,
                                                    const std::vector<TrainContext>& ctxs);

 protected:
  // T(x) for `n` source rows (float32, eval mode) with the current net_.
  virtual std::vector<float> transport(const float* x, std::int64_t n) const = 0;
  // Called after a fit with the selected parameters in net_ (scGen: latent means).
  virtual void finish_fit(const TrainInput& input) { (void)input; }
  virtual void export_extra(std::vector<NamedTensor>& out) const { (void)out; }
  virtual void import_extra(const std::vector<NamedTensor>& in) { (void)in; }

  AeNet net_;

 private:
  class Training;  // train(), step by step (autoencoder.cpp)
  double score_on_validation(const TrainInput& input, const TrainContext& ctx) const;

  std::int64_t n_features_;
  int n_conditions_;
  AeHyper hyper_;
  int batch_size_;
  std::int64_t epochs_, iters_, eval_every_;
  std::int64_t micro_batches_;  // training.micro_batches: the batch's units of work (part of the numerics)
  nn::EarlyStop early_;  // training.patience, training.min_iters on the validation loss
  bool grid_;
  bool trained_ = false;
  std::vector<float> selection_;   // best_step, best_val_loss, val_metric
  std::vector<float> grid_table_;  // 96 x 6 when the grid ran
  AeStepObserver observer_;
};

}  // namespace cellot::models
