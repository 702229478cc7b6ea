#pragma once
// The configuration contract (DESIGN.md 'Config'): INI sections read by Boost.Program_options,
// every key also a `--section.key` flag that overrides the file. Unknown keys are errors.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace cellot {

struct DataConfig {
  std::string path;
  std::string condition_key = "condition";
  std::string control = "control";
  std::string perturbations = "all";  // comma list or "all"
  std::string preprocess = "none";    // none | 4i
  std::string split = "train_val_test";  // train_val_test | kfold | holdout
  double test_fraction = 0.2;
  double val_fraction = 0.1;
  int folds = 5;
  int fold = 0;  // which fold is the test fold when split = kfold (screens iterate over it)
  std::string holdout_key;
  std::string holdout_value;
  std::string stratify_key;  // optional obs column to stratify splits by (e.g. cell line)
  std::string layer = "X";   // the matrix modelled: X | raw (raw/X, raw/var) | layers/<name>
  // Feature transform fitted on the training split (data/transform.hpp): models train and predict
  // in the standardised embedding; predictions are decoded back to the file's features.
  std::string standardize = "true";  // true | global | false
  std::string embedding = "none";    // none | pca:K | obsm:KEY | ae:K
  // The embedding autoencoder of ae:K (models/embedding_ae.hpp): hidden width and layers of its
  // encoder and decoder, epochs, Adam learning rate, batch size, and early-stopping patience in
  // epochs on a validation part of the training cells. Written to a store's config only for ae:K.
  int ae_width = 256;
  int ae_depth = 2;
  int ae_epochs = 30;
  double ae_lr = 1e-3;
  int ae_batch_size = 256;
  int ae_patience = 5;
};

struct ModelConfig {
  std::string name = "cellot";  // a model of the registry (models/kinds.cpp)
  std::string hidden = "64,64,64,64";  // ICNN widths
  int width = 32;   // autoencoder hidden width
  int depth = 2;    // autoencoder hidden layers
  int latent = 8;
  double dropout = 0.05;
  bool grid = false;  // autoencoders: grid search selected on the validation split
};

struct TrainingConfig {
  std::int64_t iters = 100000;   // optimiser outer iterations (cellot) / steps
  std::int64_t epochs = 0;       // autoencoders: epochs instead of iters when > 0
  std::optional<int> batch_size;  // default: 256 (cellot), 128 (autoencoders)
  int inner_iters = 10;
  // Micro-batches per global batch: the unit of work of ranks and threads, and part of the
  // numerics (gradients are summed over them in a fixed tree), so a result never depends on how
  // many ranks or threads share a task. More than ranks_per_task x threads leaves workers idle.
  int micro_batches = 4;
  std::optional<double> lr;      // default: 1e-4 (cellot, cae), 1e-3 (scgen)
  double beta1 = 0.5;
  double beta2 = 0.9;
  double g_penalty = 1.0;
  std::int64_t eval_every = 1000;
  // Early stopping (nn/early_stop.hpp): stop after `patience` evaluations in a row without a new
  // best validation value, once min_iters steps are done (0: train all iters). Unset (auto):
  // the model's default (ModelKind::default_patience_iters, default_min_iters; Config::patience).
  std::optional<std::int64_t> patience;
  std::optional<std::int64_t> min_iters;
  std::int64_t checkpoint_every = 10000;
  std::uint64_t seed = 0;
  int threads = 0;  // 0: SLURM_CPUS_PER_TASK, else cores / ranks on the node
  // Validation metric that selects the iterate (lower is better): energy distance (cannot
  // saturate), mmd_median (MMD with median-heuristic bandwidths of the training cells) or mmd
  // (metrics.mmd_gammas, the reference's fixed bandwidths).
  std::string select_metric = "energy";
};

struct ScreenConfig {
  std::string models = "cellot";
  std::string seeds = "0";  // comma list
  int folds = 1;            // how many folds of the split rule to run (kfold: 1..data.folds)
  int ranks_per_task = 1;
  std::string store = "results.h5";
  bool save_predictions = false;
  // Coordinator: rank 0 probes for requests at most every poll_ms milliseconds from inside its
  // own training (each probe can yield the core where ranks share cores); any wait for the
  // coordinator or the group warns every minute and fails the job after wait_timeout seconds
  // (0: wait forever), so a lost message costs minutes of an allocation, not all of it.
  double poll_ms = 1;
  double wait_timeout = 3600;
  // Packed training: up to `pack` tasks of one model kind (one that trains packs, ModelKind::
  // packs) and similar cost are handed to a group together and trained at once. Each task's
  // numbers are those of the task trained alone, so pack is scheduling, not results (out of the
  // plan hash). 1: one task at a time.
  int pack = 1;
};

struct MetricsConfig {
  std::string names = "all";
  std::string mmd_gammas = "2,1,0.5,0.1,0.01,0.005";
  double epsilon = 0.5;
  std::int64_t max_cells = 0;  // 0: no subsampling
  int bootstrap = 0;           // number of resamples (0: none)
  std::string knn_k = "50,100";
  // Marker genes per perturbation (largest |standardised mean difference| between treated and
  // control training cells): pearson_delta@k and direction_acc@k for each k.
  std::string top_k = "20,50,100";
  // Sinkhorn stopping rule (POT's defaults: L2 error of the column marginal, checked every 10
  // iterations); a run that hits the cap is reported as not converged.
  double sinkhorn_tol = 1e-9;
  int sinkhorn_max_iter = 1000;
};

struct Config {
  DataConfig data;
  ModelConfig model;
  TrainingConfig training;
  ScreenConfig screen;
  MetricsConfig metrics;

  // Resolved values with model-dependent defaults.
  int batch_size() const;
  double lr() const;
  // Early stopping in evaluations: training.patience, or the model's default patience in
  // iterations over training.eval_every, rounded up (0: off, also when eval_every is 0).
  std::int64_t patience() const;
  std::int64_t min_iters() const;

  // The resolved configuration as INI text (every key, file values and overrides applied);
  // stored with trained models and in the results store, and parseable by parse_ini_text().
  std::string to_ini() const;
};

// Registers every `section.key` option on `desc`, bound to the fields of `cfg`.
void add_config_options(boost::program_options::options_description& desc, Config& cfg);

// Parses an INI file (unknown keys or bad values throw InputError naming file, key and value).
// Values already present in `vm` (command line) win over the file.
void apply_config_file(const std::string& path, const boost::program_options::options_description& desc,
                       boost::program_options::variables_map& vm);

// Boost converts "-1" to an unsigned option by wrapping it (a seed of 2^64 - 1): throws
// InputError(origin, shown_key, value) when `key` is an unsigned option of `desc` and `value`
// has a minus sign. For the command line and config files alike.
void refuse_negative_unsigned(const boost::program_options::options_description& desc, const std::string& key,
                              const std::string& value, const std::string& origin, const std::string& shown_key);

// Parses INI text (e.g. a config stored in a model directory or results store).
Config parse_ini_text(const std::string& text, const std::string& origin);

// Validates values that Boost cannot (enumerations, ranges); throws InputError naming `origin`.
void validate(const Config& cfg, const std::string& origin);

// Helpers for comma lists.
std::vector<std::string> split_list(const std::string& text);
std::vector<int> parse_int_list(const std::string& text, const std::string& where, const std::string& key);
std::vector<double> parse_double_list(const std::string& text, const std::string& where, const std::string& key);

// FNV-1a 64-bit hash as 16 hex digits (plan and config hashes).
std::string hash_hex(const std::string& text);

}  // namespace cellot
