// cellot predict: map control cells (the test split by default, or every cell) through a trained
// model, from a model directory (cellot train) or from a task of a results store (cellot screen);
// the output h5ad keeps the mapped cells' obs names and obs columns.
#include <filesystem>
#include <set>

#include "cellot/cli/command_line.hpp"
#include "cellot/cli/stored_task.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/nn/threads.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/io/store.hpp"
#include "cellot/models/model_dir.hpp"
#include "cellot/screen/fingerprint.hpp"
#include "cellot/screen/plan.hpp"

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
  data::FeatureTransform transform;  // file features -> model inputs, as trained
  std::string features_origin;  // file the features come from (for mismatch errors)
  std::string perturbation, model_name, data_path;
  std::uint64_t split_seed = 0;
  std::string data_fingerprint;  // of the training data ("" / "none": not recorded)
  HashScheme fingerprint_hash = kCurrentHashScheme;  // its hash (legacy: a store or model written before XXH3)
  std::map<std::string, std::string> uns;  // provenance written to the output's uns
};

// The cells of the file that are mapped, what to call them in uns, and the log line's reason.
struct CellChoice {
  std::vector<std::int64_t> rows;
  std::string cells, why;
};

// The training data's fingerprint: recorded with the model, else (model directories written
// before it was kept) computed from the recorded training file if it is still readable.
std::string training_fingerprint(const Source& src) {
  if (!src.data_fingerprint.empty() && src.data_fingerprint != screen::kNoFingerprint) return src.data_fingerprint;
  std::error_code ec;
  if (src.data_path.empty() || !std::filesystem::is_regular_file(src.data_path, ec)) return {};
  try {
    return screen::data_fingerprint(src.data_path, src.data.condition_key, src.data.layer, src.fingerprint_hash);
  } catch (const InputError&) {
    return {};  // the recorded file changed into something unreadable: not the same data
  }
}

// rule "auto": on the training data (same data fingerprint) the test-split controls, the cells
// the model never saw; on any other file every control cell: a model applied to new data must
// not silently drop the ~80% of its cells that happen to fall in the training split's train and
// validation parts. "test", "control" and "all" force a rule.
CellChoice choose_cells(const data::Dataset& ds, const DataConfig& dcfg, const Source& src, std::string rule) {
  CellChoice c;
  if (rule == "auto") {
    const std::string want = training_fingerprint(src);
    // With the hash the model's fingerprint was made with (a legacy one for models written before).
    const std::string have = screen::data_fingerprint(dcfg.path, dcfg.condition_key, dcfg.layer, src.fingerprint_hash);
    if (!want.empty() && want == have) {
      rule = "test";
      c.why = dcfg.path + " is the training data (data fingerprint " + have +
              "): its test-split control cells, which the model never saw (--cells control maps every control cell)";
    } else {
      rule = "control";
      c.why = dcfg.path + " is not the training data (data fingerprint " + have + ", the model's training data " +
              (want.empty() ? "unknown: not recorded and " + src.data_path + " not readable" : want) +
              "): every control cell (--cells test maps only the training split's test cells)";
    }
  } else {
    c.why = "--cells " + rule;
  }
  if (rule == "all") {
    c.rows.resize(static_cast<std::size_t>(ds.n_obs()));
    for (std::size_t i = 0; i < c.rows.size(); ++i) c.rows[i] = static_cast<std::int64_t>(i);
    c.cells = "all";
  } else if (rule == "control") {
    c.rows = ds.rows_of(dcfg.control);
    c.cells = dcfg.control;
  } else {
    const auto control_rows = ds.rows_of(dcfg.control);
    const data::Split split = ds.split_of(dcfg.control, src.split_seed);
    for (std::int64_t i : split.test) c.rows.push_back(control_rows[static_cast<std::size_t>(i)]);
    c.cells = "test-split " + dcfg.control;
  }
  return c;
}

// The model to map with: a done task of a store (--store, --task) or a model directory (--model).
Source load_source(const std::string& store_path, const std::string& task_key, const std::string& model_dir) {
  Source src;
  if (!store_path.empty()) {
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
    src.data_fingerprint = st.data_fingerprint;
    src.fingerprint_hash = st.fingerprint_hash;
    src.transform = st.transform;
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
    src.data_fingerprint = loaded.info.data_fingerprint;
    src.fingerprint_hash = loaded.info.fingerprint_hash;
    src.transform = loaded.info.transform;
    src.uns["cellot_model_dir"] = std::filesystem::absolute(model_dir).string();
  }
  return src;
}

}  // namespace

int cmd_predict(int argc, char** argv, Runtime& rt) {
  Config cfg;
  CommandSpec spec;
  spec.name = "predict";
  spec.usage =
      "cellot predict (--model DIR | --store results.h5 --task KEY) --out PRED.h5ad [--data F.h5ad] [--all-cells]\n"
      "               [--t 0.5] [--perturbation P] [--config C.ini] [--data.KEY V] [--training.threads N]";
  spec.description =
      "Maps cells of F through a trained model. Which cells (--cells, default auto): on the training data (the\n"
      "same data fingerprint: X or the data.layer used, and the condition labels) the control cells of the\n"
      "test split (the model's split rule and seed, so the cells the model never saw); on any other file all\n"
      "its control cells; the log says which rule applied. --cells test|control|all forces one (--all-cells\n"
      "is --cells all). The model:\n"
      "  --model DIR                  a model directory written by cellot train;\n"
      "  --store S --task KEY         a done task of a results store written by cellot screen (its /params\n"
      "                               row and the store's config): remakes the screen's prediction of the\n"
      "                               task bit for bit (the rows of /predictions with save_predictions).\n"
      "Writes PRED.h5ad: X = predicted perturbed states, obs = the mapped cells' obs names and columns\n"
      "(rows pair with the input), var = features, uns = source, model, perturbation, t, cells.\n"
      "--t interpolates the dose: (1 - t) x + t T(x). Of the config keys, predict takes data.path (as --data),\n"
      "data.condition_key, data.control, data.preprocess, data.layer and training.threads (as --threads); the others\n"
      "are the model's own and are ignored in a --config file (an error on the command line).";
  std::string model_dir, store_path, task_key, data, out, perturbation, cells_rule = "auto";
  double t = 1.0;
  int threads = 0;
  spec.options.add_options()
    ("model,m", po::value(&model_dir), "trained model directory (cellot train --out)")
    ("store,s", po::value(&store_path), "results store (cellot screen --store); with --task")
    ("task", po::value(&task_key), "task key of the store, e.g. 'drug_000|cellot|fold0|seed0' (cellot inspect)")
    ("data", po::value(&data), "input .h5ad (default: data.path, else the training data recorded with the model)")
    ("out,o", po::value(&out), "output .h5ad")
    ("cells", po::value(&cells_rule)->default_value("auto"), "auto | test | control | all (see above)")
    ("all-cells", "map every cell of the file (--cells all)")
    ("t", po::value(&t)->default_value(1.0), "dose in [0, 1]: (1 - t) x + t T(x)")
    ("perturbation,p", po::value(&perturbation), "recorded in uns (default: the model's perturbation)")
    ("threads", po::value(&threads)->default_value(0), "torch threads (same as training.threads; 0: SLURM_CPUS_PER_TASK or cores / ranks)");
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;

  for (const auto& key : cl->on_command_line)
    if (key.find('.') != std::string::npos && !predict_keys().count(key))
      throw InputError("command line", "--" + key, cl->token("--" + key),
                       "not used by predict: the trained model's own configuration applies (predict takes "
                       "data.path, data.condition_key, data.control, data.preprocess, data.layer, "
                       "training.threads)");
  if (cl->has("threads") && cl->given_on_command_line("training.threads") && threads != cfg.training.threads)
    throw InputError("command line", "--threads", std::to_string(threads),
                     "conflicts with --training.threads " + std::to_string(cfg.training.threads));
  nn::set_threads(rt, cl->has("threads") ? threads : cfg.training.threads);  // before any torch work

  const bool from_store = !store_path.empty();
  if (from_store && !model_dir.empty())
    throw InputError("command line", "--store", store_path, "give --model DIR or --store with --task, not both");
  if (!from_store && model_dir.empty()) throw InputError("command line", "--model", "", "is required (or --store and --task)");
  if (from_store && task_key.empty()) throw InputError("command line", "--task", "", "is required with --store");
  if (!from_store && !task_key.empty()) throw InputError("command line", "--task", task_key, "needs --store");
  if (out.empty()) throw InputError("command line", "--out", "", "is required");
  if (cells_rule != "auto" && cells_rule != "test" && cells_rule != "control" && cells_rule != "all")
    throw InputError("command line", "--cells", cells_rule, "must be one of auto|test|control|all");
  if (cl->has("all-cells")) {
    if (cl->has("cells") && cells_rule != "all")
      throw InputError("command line", "--all-cells", "", "conflicts with --cells " + cells_rule);
    cells_rule = "all";
  }
  check_output_file(out, "--out");
  if (!(t >= 0.0 && t <= 1.0)) throw InputError("command line", "--t", std::to_string(t), "must be in [0, 1]");
  if (!data.empty() && cl->given_on_command_line("data.path") && data != cfg.data.path)
    throw InputError("command line", "--data", data, "conflicts with --data.path " + cfg.data.path);
  // One rank does the work; mapping is cheap next to training.
  if (rt.world_rank() != 0) return kExitOk;

  Source src = load_source(store_path, task_key, model_dir);
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

  const CellChoice choice = choose_cells(dataset, dcfg, src, cells_rule);
  const std::vector<std::int64_t>& rows = choice.rows;
  const std::string& cells = choice.cells;
  log::root_info("predict: mapping " + choice.why);
  // Into the model's space and back: the standardised embedding the model was trained in, then
  // decoded to the file's features (so X keeps var).
  const data::FeatureTransform& tf = src.transform;
  const Matrix x = tf.standardize(data::load_embedded(dataset, tf, rows));
  io::AnnData ad;
  ad.X = tf.decode_embedding(tf.unstandardize(src.model->predict(x, t)));
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
