// cellot train: one model for one perturbation, data-parallel over the ranks of the job.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cellot/core/model_kinds.hpp"
#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/nn/threads.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/screen/fingerprint.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/models/embedding_ae.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/metrics/selection.hpp"
#include "cellot/models/model.hpp"
#include "cellot/models/model_dir.hpp"

namespace cellot::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  return buf;
}


struct TrainArgs {
  std::string data, perturbation, model_name, out;
  std::int64_t stop_after = 0;
};

// The command line and config, checked before any data is read.
std::optional<CommandLine> parse_train(int argc, char** argv, Config& cfg, Runtime& rt, TrainArgs& a) {
  CommandSpec spec;
  spec.name = "train";
  spec.usage = "cellot train --data F.h5ad --perturbation P --model NAME --out DIR [--config C.ini] [--resume]";
  spec.description =
      "Trains one model (" + model_names_text(", ") + ") on the training split of the\n"
      "(control, P) pair of F and selects it on the validation split. Writes DIR/model.h5 (weights),\n"
      "DIR/config.ini (resolved config), DIR/curves.csv and, every training.checkpoint_every iterations,\n"
      "DIR/checkpoint.h5. Under mpiexec all ranks train the one model data-parallel. The split and the\n"
      "model's seed are those of a screen task with the same training.seed and data.fold.";
  // clang-format off
  spec.options.add_options()
    ("data", po::value(&a.data), "input .h5ad (sets data.path)")
    ("perturbation,p", po::value(&a.perturbation), "perturbation (condition) to learn")
    ("model,m", po::value(&a.model_name), "model name (shorthand for --model.name)")
    ("out,o", po::value(&a.out), "output model directory")
    ("resume", "continue from DIR/checkpoint.h5 when it exists (bit-identical to an uninterrupted run)")
    ("stop-after", po::value(&a.stop_after), "checkpoint and exit 0 after N iterations of this run (tests, time slicing)");
  // clang-format on
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return std::nullopt;
  nn::set_threads(rt, cfg.training.threads);  // before any torch work

  // --data and --model are the command line's spellings of data.path and model.name: they win
  // over the config file like every --section.key does.
  if (!a.data.empty()) {
    cfg.data.path = a.data;
    cl->on_command_line.insert("data.path");
  }
  if (!a.model_name.empty()) {
    if (cl->given_on_command_line("model.name") && cfg.model.name != a.model_name)
      throw InputError("command line", "--model", a.model_name, "conflicts with --model.name " + cfg.model.name);
    cfg.model.name = a.model_name;
    cl->on_command_line.insert("model.name");
  }
  if (cfg.data.path.empty()) throw InputError("command line", "--data", "", "is required (or data.path in the config)");
  if (a.out.empty()) throw InputError("command line", "--out", "", "is required");
  if (a.perturbation.empty()) {
    const auto listed = split_list(cfg.data.perturbations);
    if (listed.size() != 1 || listed[0] == "all")
      throw InputError("command line", "--perturbation", "", "is required (data.perturbations does not name exactly one)");
    a.perturbation = listed[0];
  }
  if (a.stop_after < 0)
    throw InputError("command line", "--stop-after", std::to_string(a.stop_after), "must not be negative");
  // The model's own hyperparameter checks too, before any data is read, each error under the
  // origin of its key (command line, config file, or default).
  cl->with_origins([&](const std::string& origin) {
    validate(cfg, origin);
    models::check_model_config(cfg);
  });
  return cl;
}

// The split's cells in the model's (standardised) space.
models::TrainInput training_input(const data::PairData& pair, const data::FeatureTransform& tf, const Config& cfg,
                                  const std::string& perturbation) {
  models::TrainInput in;
  in.perturbation = perturbation;
  in.source_train = tf.standardize(pair.control.select_rows(pair.control_split.train));
  in.target_train = tf.standardize(pair.treated.select_rows(pair.treated_split.train));
  in.source_val = tf.standardize(pair.control.select_rows(pair.control_split.val));
  in.target_val = tf.standardize(pair.treated.select_rows(pair.treated_split.val));
  if (model_kind(cfg.model.name).floor) in.target_test = tf.standardize(pair.treated.select_rows(pair.treated_split.test));
  return in;
}

}  // namespace

int cmd_train(int argc, char** argv, Runtime& rt) {
  Config cfg;
  TrainArgs a;
  auto cl = parse_train(argc, argv, cfg, rt, a);
  if (!cl) return kExitOk;
  const std::string& perturbation = a.perturbation;
  const int fold = cfg.data.fold;
  const std::uint64_t split_seed = screen::split_seed(cfg, fold, cfg.training.seed);
  const std::uint64_t task_seed =
      derive_seed(cfg.training.seed, screen::task_key(perturbation, cfg.model.name, fold, cfg.training.seed));
  const bool root = rt.world_rank() == 0;

  data::Dataset dataset(cfg.data);
  // The transform a screen with this config fits for this split (every rank fits the same one:
  // the fit is deterministic), stored with the model.
  const data::FeatureTransform tf =
      models::model_transform(models::fit_split_transform(dataset, split_seed), cfg.model.name);
  if (tf.embeds() || tf.scaling() != data::FeatureTransform::Scaling::none) log::root_info("train: " + tf.describe());
  const models::TrainInput in = training_input(dataset.load_pair(perturbation, split_seed, &tf), tf, cfg, perturbation);
  const auto d = tf.dim();
  log::root_info("train: " + cfg.model.name + " on " + perturbation + " (" + cfg.data.path + "): " +
                 std::to_string(in.source_train.rows) + " control / " + std::to_string(in.target_train.rows) +
                 " perturbed training cells, " + std::to_string(in.source_val.rows) + " / " +
                 std::to_string(in.target_val.rows) + " validation, " + std::to_string(d) + " features, " +
                 std::to_string(rt.world_size()) + " rank(s) x " + std::to_string(rt.threads()) + " thread(s)");

  std::error_code ec;
  if (root) std::filesystem::create_directories(a.out, ec);
  if (ec) throw InputError("command line", "--out", a.out, "cannot create directory: " + ec.message());
  // Bound: every rank trains the one task in lockstep; an error on any rank aborts the job (cli/commands.cpp
  // fail()).
  MPI_Barrier(MPI_COMM_WORLD);

  std::unique_ptr<models::Model> model;
  cl->with_origins([&](const std::string&) { model = models::make_model(cfg, d); });
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = MPI_COMM_WORLD;
  ctx.seed = task_seed;
  ctx.progress = !cl->quiet;
  ctx.checkpoint_path = (std::filesystem::path(a.out) / "checkpoint.h5").string();
  ctx.resume = cl->has("resume");
  ctx.validation_metric = metrics::selection_metric(cfg, in.target_train, MPI_COMM_WORLD);
  std::int64_t calls = 0;
  ctx.should_stop = [&] { return g_stop != 0 || (a.stop_after > 0 && ++calls >= a.stop_after); };
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);

  const double t0 = MPI_Wtime();
  try {
    // A model's late hyperparameter checks name their key as "config": give them their origin.
    cl->with_origins([&](const std::string&) { model->train(in, ctx); });
  } catch (const models::Interrupted& e) {
    if (g_stop) throw RuntimeError(std::string(e.what()) + " (signal); continue with --resume");
    log::root_info(std::string(e.what()) + " as requested by --stop-after; continue with --resume");
    return kExitOk;
  }
  const double seconds = MPI_Wtime() - t0;

  models::ModelInfo info;
  info.perturbation = perturbation;
  info.features = dataset.features();
  info.transform = tf;
  info.data_path = cfg.data.path;
  // What predict compares a file with to tell the training data from new data.
  if (root) info.data_fingerprint = screen::data_fingerprint(cfg.data.path, cfg.data.condition_key, cfg.data.layer);
  info.split_seed = split_seed;
  info.task_seed = task_seed;
  // Steps done: the last curve row's step (every trained model's first curve column).
  const auto& curves = model->curves();
  if (!curves.rows.empty() && !curves.columns.empty() && curves.columns[0] == "step")
    info.steps = static_cast<std::int64_t>(curves.rows.back()[0]);
  info.best_step = model->best_step();
  info.best_metric = model->best_metric();
  if (root) models::save_model_dir(a.out, *model, cfg, info);
  // Bound: as above; rank 0 writes the model directory first (finite file work) or aborts the job.
  MPI_Barrier(MPI_COMM_WORLD);
  log::root_info("train: wrote " + a.out + " in " + log::format_duration(seconds) +
                 (info.best_step >= 0 ? " (selected step " + std::to_string(info.best_step) + ", validation " +
                                            cfg.training.select_metric + " " + fmt(info.best_metric) + ")"
                                      : ""));
  return kExitOk;
}

}  // namespace cellot::cli
