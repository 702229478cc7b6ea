// cellot predict: map control cells (the test split by default, or every cell) through a trained
// model, from a model directory (cellot train) or from a task of a results store (cellot screen);
// the output h5ad keeps the mapped cells' obs names and obs columns.
#include <filesystem>
#include <set>

#include "cellot/cli/command_line.hpp"
#include "cellot/cli/stored_task.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/io/store.hpp"
#include "cellot/models/model_dir.hpp"

namespace cellot::cli {

namespace {

// Config keys predict takes from --config / --section.key: where the cells are and how to read
// them, and the thread count. Everything else (the model, the split rule and seed, the
// training) is the trained model's own configuration; a config file may hold those keys (the
// file the model was trained with) and they are ignored, but giving one on the command line is
// an error, since it could not have the effect asked for.
const std::set<std::string>& predict_keys() {
  static const std::set<std::string> keys = {"data.path",       "data.condition_key", "data.control",
                                             "data.preprocess", "data.layer",         "training.threads"};
  return keys;
}

// The model to map cells through, from either source.
struct Source {
  std::unique_ptr<models::Model> model;
  DataConfig data;  // the model's data config (split rule, fold, condition key, ...)
  std::vector<std::string> features;
  std::string features_origin;  // file the features come from (for mismatch errors)
  std::string perturbation, model_name, data_path;
  std::uint64_t split_seed = 0;
  std::map<std::string, std::string> uns;  // provenance written to the output's uns
};

}  // namespace

int cmd_predict(int argc, char** argv, Runtime& rt) {
  Config cfg;
  CommandSpec spec;
  spec.name = "predict";
  spec.usage =
      "cellot predict (--model DIR | --store results.h5 --task KEY) --out PRED.h5ad [--data F.h5ad] [--all-cells]\n"
      "               [--t 0.5] [--perturbation P] [--config C.ini] [--data.KEY V] [--training.threads N]";
  spec.description =
      "Maps the control cells of the test split of F (the split rule and seed of the trained model, so the\n"
      "cells are those the model never saw) or, with --all-cells, every cell of F through a trained model:\n"
      "  --model DIR                  a model directory written by cellot train;\n"
      "  --store S --task KEY         a done task of a results store written by cellot screen (its /params\n"
      "                               row and the store's config): remakes the screen's prediction of the\n"
      "                               task bit for bit (the rows of /predictions with save_predictions).\n"
      "Writes PRED.h5ad: X = predicted perturbed states, obs = the mapped cells' obs names and columns\n"
      "(rows pair with the input), var = features, uns = source, model, perturbation, t, cells.\n"
      "--t interpolates the dose: (1 - t) x + t T(x). Of the config keys, predict takes data.path (as --data),\n"
      "data.condition_key, data.control, data.preprocess and training.threads (as --threads); the others\n"
      "are the model's own and are ignored in a --config file (an error on the command line).";
  std::string model_dir, store_path, task_key, data, out, perturbation;
  double t = 1.0;
  int threads = 0;
  spec.options.add_options()
    ("model,m", po::value(&model_dir), "trained model directory (cellot train --out)")
    ("store,s", po::value(&store_path), "results store (cellot screen --store); with --task")
    ("task", po::value(&task_key), "task key of the store, e.g. 'drug_000|cellot|fold0|seed0' (cellot inspect)")
    ("data", po::value(&data), "input .h5ad (default: data.path, else the training data recorded with the model)")
    ("out,o", po::value(&out), "output .h5ad")
    ("all-cells", "map every cell of the file, not only the test-split controls")
    ("t", po::value(&t)->default_value(1.0), "dose in [0, 1]: (1 - t) x + t T(x)")
    ("perturbation,p", po::value(&perturbation), "recorded in uns (default: the model's perturbation)")
    ("threads", po::value(&threads)->default_value(0), "torch threads (same as training.threads; 0: SLURM_CPUS_PER_TASK or cores / ranks)");
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;

  for (const auto& key : cl->on_command_line)
    if (key.find('.') != std::string::npos && !predict_keys().count(key))
      throw InputError("command line", "--" + key, cl->token("--" + key),
                       "not used by predict: the trained model's own configuration applies (predict takes "
                       "data.path, data.condition_key, data.control, data.preprocess, training.threads)");
  if (cl->has("threads") && cl->given_on_command_line("training.threads") && threads != cfg.training.threads)
    throw InputError("command line", "--threads", std::to_string(threads),
                     "conflicts with --training.threads " + std::to_string(cfg.training.threads));
  rt.set_threads(cl->has("threads") ? threads : cfg.training.threads);  // before any torch work

  const bool from_store = !store_path.empty();
  if (from_store && !model_dir.empty())
    throw InputError("command line", "--store", store_path, "give --model DIR or --store with --task, not both");
  if (!from_store && model_dir.empty()) throw InputError("command line", "--model", "", "is required (or --store and --task)");
  if (from_store && task_key.empty()) throw InputError("command line", "--task", "", "is required with --store");
  if (!from_store && !task_key.empty()) throw InputError("command line", "--task", task_key, "needs --store");
  if (out.empty()) throw InputError("command line", "--out", "", "is required");
  check_output_file(out, "--out");
  if (!(t >= 0.0 && t <= 1.0)) throw InputError("command line", "--t", std::to_string(t), "must be in [0, 1]");
  if (!data.empty() && cl->given_on_command_line("data.path") && data != cfg.data.path)
    throw InputError("command line", "--data", data, "conflicts with --data.path " + cfg.data.path);
  // One rank does the work; mapping is cheap next to training.
  if (rt.world_rank() != 0) return kExitOk;

  Source src;
  if (from_store) {
    const io::Store store = io::Store::open(store_path, MPI_COMM_NULL, false);
    StoredTask st = load_stored_task(store, task_key);
    src.model = std::move(st.model);
    src.data = st.config.data;
    src.features = st.features;
    src.features_origin = store_path;
    src.perturbation = st.task.perturbation;
    src.model_name = st.task.model;
    src.data_path = st.config.data.path;
    src.split_seed = st.split_seed;
    src.uns["cellot_store"] = std::filesystem::absolute(store_path).string();
    src.uns["cellot_task"] = task_key;
  } else {
    models::LoadedModel loaded = models::load_model_dir(model_dir);
    src.model = std::move(loaded.model);
    src.data = loaded.config.data;
    src.features = loaded.info.features;
    src.features_origin = model_dir + "/model.h5";
    src.perturbation = loaded.info.perturbation;
    src.model_name = loaded.info.model;
    src.data_path = loaded.info.data_path;
    src.split_seed = loaded.info.split_seed;
    src.uns["cellot_model_dir"] = std::filesystem::absolute(model_dir).string();
  }
  if (perturbation.empty()) perturbation = src.perturbation;

  // The model's data config with what the user gave (command line over file over the model's).
  DataConfig dcfg = src.data;
  if (cl->has("data.condition_key")) dcfg.condition_key = cfg.data.condition_key;
  if (cl->has("data.control")) dcfg.control = cfg.data.control;
  if (cl->has("data.preprocess")) dcfg.preprocess = cfg.data.preprocess;
  if (cl->has("data.layer")) dcfg.layer = cfg.data.layer;
  dcfg.path = !data.empty() ? data : (cl->has("data.path") ? cfg.data.path : src.data_path);
  // Only the control label, the split and the preprocessing matter here; the file may hold
  // other perturbations than the training file did.
  dcfg.perturbations = "all";
  data::Dataset dataset(dcfg);
  io::DataFrame model_var;
  model_var.index = src.features;
  data::check_same_features(model_var, src.features_origin, dataset.reader().var(), dcfg.path);

  std::vector<std::int64_t> rows;
  std::string cells;
  if (cl->has("all-cells")) {
    rows.resize(static_cast<std::size_t>(dataset.n_obs()));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
    cells = "all";
  } else {
    const auto control_rows = dataset.rows_of(dcfg.control);
    const data::Split split = dataset.split_of(dcfg.control, src.split_seed);
    for (std::int64_t i : split.test) rows.push_back(control_rows[static_cast<std::size_t>(i)]);
    cells = "test-split " + dcfg.control;
  }
  const Matrix x = dataset.load_rows(rows);
  io::AnnData ad;
  ad.X = src.model->predict(x, t);
  ad.obs = dataset.reader().obs().select_rows(rows);
  ad.var = dataset.reader().var();
  ad.uns_strings = src.uns;
  ad.uns_strings["cellot_model"] = src.model_name;
  ad.uns_strings["cellot_perturbation"] = perturbation;
  ad.uns_strings["cellot_cells"] = cells;
  ad.uns_strings["cellot_data"] = dcfg.path;
  ad.uns_numbers["cellot_t"] = t;
  io::write_h5ad(out, ad);
  log::root_info("predict: mapped " + std::to_string(rows.size()) + " cells (" + cells + ") of " + dcfg.path +
                 " through " + src.model_name + " (" + src.perturbation + (from_store ? ", task " + task_key : "") +
                 "), t = " + std::to_string(t) + " -> " + out);
  return kExitOk;
}

}  // namespace cellot::cli
