#pragma once
// CellOT's min-max training (DESIGN.md 'Model numerics'), data-parallel over a rank group.
//
// Batches as the reference's DataLoaders (shuffle, no drop_last, cycled): the control and the
// perturbed training sets each have a sampler (nn/epoch_sampler.hpp) on their own stream that
// walks a fresh permutation per epoch, the last batch of an epoch holding the rest. The batch
// size is min(training.batch_size, cells of either set), as the reference adapts it. Per outer
// iteration, in the reference's order of draws: a target batch, then inner_iters times
// {a source batch, a g step}, then a source batch and an f step followed by W^f <- max(W^f, 0).
//
// Every step's gradient comes from CellotGroupStep: the batch is cut into training.micro_batches
// micro-batches, computed by the group's ranks and threads and summed in a fixed tree, so the
// result is the same bits for any number of ranks per task and threads per rank. Every rank
// applies the same Adam update to the same gradient, so the parameters stay bit-identical
// across the group. Parameters are broadcast from the group root at start.
//
// Model selection uses the validation split: at every eval step (every eval_every iterations
// and the last one) the validation metric of the current parameters is computed, and the
// parameters with the lowest value are the result. Without a metric the last iterate is kept.
// With training.patience > 0, training stops early after that many evaluations without a new
// best once training.min_iters are done (nn/early_stop.hpp); the result is the best iterate.
//
// Checkpoints (HDF5, written atomically by the group root every checkpoint_every iterations and
// when stopping on request) hold everything a continued run needs to be bit-identical to an
// uninterrupted one: parameters, both Adam states, both samplers, the step, the curves so far,
// the best parameters and the loss sums of the current curve interval.
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/models/cellot/icnn.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

struct CellotHyper {
  std::int64_t iters = 100000;
  std::int64_t batch = 256;
  std::int64_t inner = 10;
  std::int64_t micro_batches = 4;
  double lr = 1e-4, beta1 = 0.5, beta2 = 0.9;
  double g_penalty = 1.0;
  std::int64_t eval_every = 1000;
  std::int64_t checkpoint_every = 10000;
  std::int64_t patience = 0, min_iters = 0;  // early stopping (0: off)
  std::string select_metric = "energy";       // training.select_metric: names the curve column val_<name>
  static CellotHyper from_config(const Config& cfg);  // InputError for out-of-range values
};

// Everything that a resumed run needs to continue bit-identically.
struct CellotState {
  std::vector<float> f, g;                      // parameters (flat IcnnShape layout)
  std::vector<float> f_m, f_v, g_m, g_v;        // Adam moments
  std::int64_t f_t = 0, g_t = 0;                // Adam step counts
  std::vector<std::uint64_t> rng;               // batch samplers: source then target (EpochSampler states)
  std::int64_t step = 0;                        // outer iterations done
  models::Curves curves;
  std::vector<float> best_f, best_g;            // parameters with the best validation metric
  double best_metric = std::numeric_limits<double>::infinity();
  std::int64_t best_step = -1;
  double sum_g = 0, sum_f = 0;                  // loss sums since the last curve row
  std::int64_t count_g = 0, count_f = 0;
};

// Identifies the training problem a checkpoint belongs to (shape, hyperparameters that change
// the trajectory, seed, training set sizes); resuming from another problem's checkpoint is an
// InputError.
std::string checkpoint_signature(const models::IcnnShape& shape, const CellotHyper& hp, std::uint64_t seed,
                                 std::int64_t n_source, std::int64_t n_target);

// Atomic write (path.tmp, then rename). Not collective: the caller picks the writing rank.
void save_checkpoint(const std::string& path, const CellotState& state, const std::string& signature);
// False when the file does not exist; InputError when it belongs to another problem.
bool load_checkpoint(const std::string& path, CellotState& state, const std::string& signature);

struct CellotResult {
  std::vector<float> f, g;  // selected parameters
  models::Curves curves;
  std::int64_t steps = 0;       // outer iterations done (fewer than iters when stopped early)
  bool stopped_early = false;   // training.patience ended training before iters
  std::int64_t best_step = -1;  // step of the selected parameters (-1: last iterate, no metric)
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  // Cross-rank checks that the parameters are bit-identical (one per eval step on groups of
  // more than one rank; 0 on one rank). A failed check throws RuntimeError, so a result with
  // sync_checks > 0 was verified identical on every rank at each of them.
  std::int64_t sync_checks = 0;
};

// Trains f and g on input's training split. Collective over ctx.comm (every rank passes the same
// input). Throws models::Diverged on NaN/Inf (with the step), RuntimeError on every rank when the
// parameters differ between ranks at an eval step (see sync_checks), models::Interrupted after
// checkpointing when ctx.should_stop asked to stop. ctx.should_stop is called once per outer
// iteration on every rank (any rank asking stops the group); ctx.validation_metric is called on
// every rank with identical arguments (it may be collective over ctx.comm) and the group root's
// value is used.
CellotResult train_cellot(const models::IcnnShape& shape, const CellotHyper& hp, const models::TrainInput& input,
                          const models::TrainContext& ctx);

// Packed training (screen.pack): several CellOT tasks trained together on one rank group. Each
// task keeps its own parameters, Adam states, samplers, checkpoint and early stopping, and runs
// exactly the kernels and reductions of train_cellot, one outer iteration of every running task
// in turn; so every task's result (parameters, curves, best step) is bit-identical to training
// it alone, whatever the pack. Tasks end independently (iters, training.patience). The
// preemption hook is asked once per round, from the first running member's ctx.should_stop;
// when it asks to stop, every running member checkpoints and reports Interrupted.
// Collective over the members' ctx.comm (one communicator for the whole pack, every rank
// passing the same members in the same order).
struct CellotPackMember {
  const models::IcnnShape* shape = nullptr;
  const CellotHyper* hp = nullptr;
  const models::TrainInput* input = nullptr;
  models::TrainContext ctx;
};
struct CellotPackOutcome {
  CellotResult result;       // valid when error is null
  std::exception_ptr error;  // models::Diverged, models::Interrupted, or InputError (bad input)
};
// Errors other than the members' own (a hook's, an inconsistent group's) end the whole pack:
// they propagate, as from train_cellot.
std::vector<CellotPackOutcome> train_cellot_pack(const std::vector<CellotPackMember>& members);

// Columns of CellotResult::curves: step, g_loss, f_loss, w2, val_<select_metric> (the
// validation metric that selects the iterate, e.g. val_energy).
std::vector<std::string> cellot_curve_columns(const std::string& select_metric);

}  // namespace cellot::models
