#pragma once
// What the layers outside models/ know about a model: its traits, declared once per model in the
// model registry (src/models/kinds.cpp) and registered by each executable before it reads a
// configuration: cellot::register_model_kinds(models::kinds()). Config, plan, screen and report
// ask these traits; no layer outside models/ branches on a model's name.
#include <cstdint>
#include <string>
#include <vector>

namespace cellot {

// What one task of the model costs, in the plan's unit (optimiser steps, screen::model_iterations).
enum class ModelCost {
  cellot_updates,        // training.iters x (training.inner_iters + 1) network updates
  autoencoder_batches,   // training.epochs x batches per epoch, or training.iters
  none,                  // no optimisation (a baseline): 1
};

struct ModelKind {
  std::string name;
  std::string summary;             // one line for help texts
  bool primary = false;            // the method under test: the report's paired tests are against it
  bool floor = false;              // the observed floor: it is handed the treated test cells (its
                                   // "prediction" is one half of them, scored against the other),
                                   // works in the embedding's own scale, and the report ranks it
                                   // as a reference, not a method
  bool has_grid = false;           // model.grid (a hyper-parameter grid on the validation split) applies
  ModelCost cost = ModelCost::none;
  // The time of one of those steps relative to one CellOT network update (the plan's cost is in
  // CellOT updates, so that the hand-out order, shard balance and ETA weigh models alike).
  double step_cost = 1.0;
  bool packs = false;              // trains several tasks at once on one group (screen.pack),
                                   // each to the bits it gets alone (models::train_together)
  int default_batch_size = 256;    // training.batch_size when not set
  double default_lr = 1e-4;        // training.lr when not set
  // Early stopping when training.patience / training.min_iters are not set: iterations without a
  // new best validation value (converted to evaluations at training.eval_every), and the
  // iterations before which it never stops. 0: trains every planned iteration.
  std::int64_t default_patience_iters = 0;
  std::int64_t default_min_iters = 0;
};

// Replaces the registered kinds (each executable once, at start; tests may call it again).
void register_model_kinds(std::vector<ModelKind> kinds);
// InternalError when no kinds were registered (an executable that forgot to).
const std::vector<ModelKind>& model_kinds();
const ModelKind* find_model_kind(const std::string& name);  // nullptr: not a model
// The kind of a model name that was validated (InternalError otherwise).
const ModelKind& model_kind(const std::string& name);
const ModelKind& primary_model_kind();
std::vector<std::string> model_names();   // in registry order
std::string model_names_text(const char* sep = " | ");

}  // namespace cellot
