// cellot evaluate: distributional metrics between predictions and observed perturbed cells.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/models/model_dir.hpp"
#include "cellot/models/baselines/observed.hpp"

namespace cellot::cli {

namespace {

std::string fixed(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

struct Cells {
  Matrix predicted, observed, control, truth;
  std::vector<std::int64_t> control_rows;  // file rows of `control`
  std::string control_note;  // how the control cells were identified
};

// The config keys that decide which cells are the test split (and how cells are read): they
// must be the trained model's, or evaluate would score the model on cells it was trained on.
struct SplitKey {
  const char* key;
  std::function<std::string(const Config&)> get;
};

std::string text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

const std::vector<SplitKey>& split_keys() {
  static const std::vector<SplitKey> keys{
      {"data.condition_key", [](const Config& c) { return c.data.condition_key; }},
      {"data.control", [](const Config& c) { return c.data.control; }},
      {"data.preprocess", [](const Config& c) { return c.data.preprocess; }},
      {"data.split", [](const Config& c) { return c.data.split; }},
      {"data.test_fraction", [](const Config& c) { return text(c.data.test_fraction); }},
      {"data.val_fraction", [](const Config& c) { return text(c.data.val_fraction); }},
      {"data.folds", [](const Config& c) { return std::to_string(c.data.folds); }},
      {"data.fold", [](const Config& c) { return std::to_string(c.data.fold); }},
      {"data.holdout_key", [](const Config& c) { return c.data.holdout_key; }},
      {"data.holdout_value", [](const Config& c) { return c.data.holdout_value; }},
      {"data.stratify_key", [](const Config& c) { return c.data.stratify_key; }},
      {"training.seed", [](const Config& c) { return std::to_string(c.training.seed); }},
  };
  return keys;
}

// Where the split comes from: the model directory recorded in the predictions (cellot predict
// writes uns/cellot_model_dir), or this command's own configuration when there is none.
struct SplitSource {
  bool from_model = false;
  std::string model_dir;     // as recorded (empty: none)
  std::string model;         // uns/cellot_model or the directory's model ("" unknown)
  std::string model_perturbation;
  std::uint64_t split_seed = 0;
  std::uint64_t task_seed = 0;  // the model's TrainContext::seed (observed halves)
  std::string note;             // one line for the report
};

std::string uns_string(const io::AnnData& a, const std::string& key) {
  const auto it = a.uns_strings.find(key);
  return it == a.uns_strings.end() ? std::string() : it->second;
}

// Takes the split keys from the model directory's resolved config into `cfg` (metrics.* and
// data.path stay this command's). A key given explicitly to evaluate with another value is an
// InputError: that split would overlap the model's training cells.
SplitSource resolve_split(const io::AnnData& pred, const std::string& pred_path, Config& cfg, const CommandLine& cl,
                          const std::string& perturbation) {
  SplitSource src;
  src.model_dir = uns_string(pred, "cellot_model_dir");
  src.model = uns_string(pred, "cellot_model");
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool present =
      !src.model_dir.empty() && fs::exists(fs::path(src.model_dir) / "model.h5", ec) &&
      fs::exists(fs::path(src.model_dir) / "config.ini", ec);
  if (present) {
    // The directory's configuration and seeds; its networks are not built (no torch work).
    const models::ModelDirContents loaded = models::read_model_dir(src.model_dir);
    const std::string ini = (fs::path(src.model_dir) / "config.ini").string();
    for (const auto& k : split_keys()) {
      const std::string mine = k.get(cfg), theirs = k.get(loaded.config);
      if (cl.has(k.key) && mine != theirs)
        throw InputError(cl.origin_of(k.key), k.key, mine,
                         std::string("differs from the model's ") + k.key + " = " + theirs + " (" + ini +
                             "): the test split must be the one the model was trained with");
    }
    const std::string path = cfg.data.path;
    cfg.data = loaded.config.data;
    cfg.data.path = path.empty() ? loaded.info.data_path : path;
    cfg.training.seed = loaded.config.training.seed;
    src.from_model = true;
    src.model = loaded.info.model;
    src.model_perturbation = loaded.info.perturbation;
    src.split_seed = loaded.info.split_seed;
    src.task_seed = loaded.info.task_seed;
    src.note = "split of the model (" + ini + "): training.seed = " + std::to_string(cfg.training.seed) +
               ", data.split = " + cfg.data.split + ", data.fold = " + std::to_string(cfg.data.fold);
    return src;
  }
  if (!src.model_dir.empty())
    log::warn("evaluate: the model directory " + src.model_dir + " recorded in " + pred_path +
              " is not readable; the split comes from this command's configuration (training.seed, data.*)");
  // As cellot train derives them for this configuration.
  src.model_perturbation = uns_string(pred, "cellot_perturbation");
  if (src.model_perturbation.empty()) src.model_perturbation = perturbation;
  src.split_seed = screen::split_seed(cfg, cfg.data.fold, cfg.training.seed);
  src.task_seed = derive_seed(cfg.training.seed, screen::task_key(src.model_perturbation, src.model.empty() ? "" : src.model,
                                                                cfg.data.fold, cfg.training.seed));
  src.note = "split of this command's configuration: training.seed = " + std::to_string(cfg.training.seed) +
             ", data.split = " + cfg.data.split + ", data.fold = " + std::to_string(cfg.data.fold);
  return src;
}

// Row keys of float32-rounded values (observed predictions are float32 copies of real cells).
std::string row_key(const Matrix& m, std::int64_t i) {
  std::string k(static_cast<std::size_t>(m.cols) * sizeof(float), '\0');
  for (std::int64_t j = 0; j < m.cols; ++j) {
    const float f = static_cast<float>(m(i, j));
    std::memcpy(&k[static_cast<std::size_t>(j) * sizeof(float)], &f, sizeof f);
  }
  return k;
}

// ---- the steps of cmd_evaluate ----

struct EvalArgs {
  std::string pred_path, perturbation, split = "test";
  bool json = false;
};

const char* kEvaluateDescription =
    "Computes the metrics of [metrics] names (default all: mmd, w2_eps, sinkhorn_div@eps, l2_ds, r_means,\n"
    "l2_means, r_stds, l2_stds, energy, knn_mix@k, spearman_pair, uvp) between the predicted cells of\n"
    "PRED.h5ad and the observed cells of perturbation P in F (data.* keys: condition key, control label,\n"
    "preprocessing, split rule).\n"
    "The split (data.* and training.seed) is the model's: read from the model directory that cellot\n"
    "predict recorded in PRED (uns/cellot_model_dir, its config.ini); this command's own settings are\n"
    "used only when there is none, and an explicit different value is an error. --data defaults to the\n"
    "model's training data.\n"
    "  --split test (default): observed = the test split of P. Predictions must be of test-split\n"
    "    control cells (an error otherwise: they were made under another split), except predict\n"
    "    --all-cells output, of which only the test-split controls are scored.\n"
    "  --split all: every predicted control cell against every cell of P.\n"
    "Predictions of the observed baseline (real perturbed test cells, one half drawn with the model's\n"
    "seed) are compared with the disjoint other half (--split all: every cell of P but that half), and\n"
    "their paired metrics are n/a.\n"
    "The control cell behind each prediction is found by its obs name (cellot predict keeps them); it is\n"
    "needed for spearman_pair (and l2_ds uses it). When the names are not cells of F, every prediction\n"
    "is used and the paired metrics are n/a. uvp needs synthetic ground truth in F (cellot synth) and\n"
    "data.preprocess = none. metrics.max_cells / metrics.bootstrap resample as the reference CellOT\n"
    "evaluation (mean and sd over resamples, deterministic in training.seed); knn_mix always compares\n"
    "equal numbers of predicted and observed cells. Sinkhorn metrics report iterations and convergence\n"
    "(metrics.sinkhorn_tol, metrics.sinkhorn_max_iter). pearson_delta@k and direction_acc@k score the k\n"
    "features of largest |standardised mean difference| between the training-split treated and\n"
    "control cells (k of metrics.top_k; n/a when k exceeds the features). Runs on every rank of the job, which share the\n"
    "pair work; rank 0 prints. --json prints one JSON object (valid UTF-8: bytes of names that are not\n"
    "UTF-8 become U+FFFD).";

// Parses the command line into `cfg` and `args`; nullopt after --help.
std::optional<CommandLine> parse_evaluate(int argc, char** argv, Config& cfg, Runtime& rt, EvalArgs& args) {
  CommandSpec spec;
  spec.name = "evaluate";
  spec.usage =
      "cellot evaluate --data F.h5ad --predictions PRED.h5ad --perturbation P [--split all|test] [--json] "
      "[--config C.ini]";
  spec.description = kEvaluateDescription;
  std::string data_path;
  // clang-format off
  spec.options.add_options()
    ("data", po::value(&data_path), "observed data .h5ad (or data.path)")
    ("predictions", po::value(&args.pred_path), "predictions .h5ad (cellot predict --out)")
    ("perturbation,p", po::value(&args.perturbation), "perturbation (default: recorded in the predictions)")
    ("split", po::value(&args.split)->default_value("test"), "test | all")
    ("json", "print one JSON object instead of a table");
  // clang-format on
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return std::nullopt;
  require(*cl, "predictions");
  if (!data_path.empty()) cfg.data.path = data_path;
  if (args.split != "test" && args.split != "all")
    throw InputError("command line", "--split", args.split, "must be 'test' or 'all'");
  args.json = cl->has("json");
  return cl;
}

// Everything one evaluation reads, decides and computes, filled step by step below.
struct Evaluation {
  EvalArgs args;
  DataConfig dcfg;
  SplitSource source;
  bool observed_model = false, all_cells_predicted = false;
  Cells cells;
  std::string observed_note, truth_note = "no ground truth in the data";
  metrics::Options opts;
  std::vector<metrics::Value> values;
  double seconds = 0;
};

// The observed baseline's predictions are real perturbed test cells (one half of them, drawn with
// the model's task seed): the observed set is the disjoint other half (--split all: every cell of
// P but the prediction half). File rows, sorted.
std::vector<std::int64_t> observed_baseline_rows(Evaluation& ev, const data::Dataset& dataset, const io::AnnData& pred,
                                                 const std::vector<std::int64_t>& treated_rows, const data::Split& s) {
  std::vector<std::int64_t> rows, test_rows;
  for (const auto i : s.test) test_rows.push_back(treated_rows[static_cast<std::size_t>(i)]);
  const models::ObservedHalves halves = models::observed_halves(dataset.load_rows(test_rows), ev.source.task_seed);
  // Every prediction must be a cell of the prediction half, or the halves are not the model's
  // (other data, split or seed) and the reference could hold the predicted cells.
  std::unordered_set<std::string> pool;
  for (std::int64_t i = 0; i < halves.prediction.rows; ++i) pool.insert(row_key(halves.prediction, i));
  for (std::int64_t i = 0; i < pred.X.rows; ++i)
    if (pool.count(row_key(pred.X, i)) == 0)
      throw InputError(ev.args.pred_path, "X", "row " + std::to_string(i),
                       "is not a cell of the observed model's prediction half of the " + ev.args.perturbation +
                           " test split (" + ev.source.note + "); the data, split or seed differ from training");
  if (ev.args.split == "test") {
    for (const auto r : halves.reference_rows) rows.push_back(test_rows[static_cast<std::size_t>(r)]);
    ev.observed_note = "observed baseline: the other half of the test split (" + std::to_string(halves.reference.rows) +
                       " cells, disjoint from the " + std::to_string(halves.prediction.rows) + " it predicts from)";
  } else {
    std::unordered_set<std::int64_t> used;
    for (const auto r : halves.prediction_rows) used.insert(test_rows[static_cast<std::size_t>(r)]);
    for (const auto r : treated_rows)
      if (!used.count(r)) rows.push_back(r);
    ev.observed_note = "observed baseline: every " + ev.args.perturbation + " cell except the " +
                       std::to_string(halves.prediction.rows) + " it predicts from";
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The observed perturbed cells: the test split of P, every cell of P, or the observed baseline's
// other half.
void load_observed(Evaluation& ev, const data::Dataset& dataset, const io::AnnData& pred) {
  const auto treated_rows = dataset.rows_of(ev.args.perturbation);
  const data::Split s = dataset.split_of(ev.args.perturbation, ev.source.split_seed);
  std::vector<std::int64_t> rows;
  if (ev.observed_model) {
    rows = observed_baseline_rows(ev, dataset, pred, treated_rows, s);
  } else if (ev.args.split == "all") {
    rows = treated_rows;
  } else {
    for (const auto i : s.test) rows.push_back(treated_rows[static_cast<std::size_t>(i)]);
  }
  ev.cells.observed = dataset.load_rows(rows);
}

// Predictions whose obs names are all cells of the data: keeps those of (test-split) control
// cells and loads those control cells beside them. Anything but predict --all-cells output that
// loses predictions here was made under another split: an InputError.
void pair_by_name(Evaluation& ev, const data::Dataset& dataset, const io::AnnData& pred,
                  const std::unordered_map<std::string, std::int64_t>& row_of) {
  const DataConfig& dcfg = ev.dcfg;
  const std::string& pred_path = ev.args.pred_path;
  const bool test = ev.args.split == "test";
  const auto control_rows = dataset.rows_of(dcfg.control);
  std::unordered_map<std::int64_t, std::int64_t> control_pos;  // file row -> index among controls
  for (std::size_t k = 0; k < control_rows.size(); ++k) control_pos.emplace(control_rows[k], static_cast<std::int64_t>(k));
  std::vector<char> in_test;
  if (test) {
    in_test.assign(control_rows.size(), 0);
    for (const auto i : dataset.split_of(dcfg.control, ev.source.split_seed).test) in_test[static_cast<std::size_t>(i)] = 1;
  }
  std::vector<std::int64_t> keep, control_file_rows;
  std::int64_t not_control = 0, not_test = 0;
  for (std::int64_t r = 0; r < pred.n_obs(); ++r) {
    const std::int64_t file_row = row_of.at(pred.obs.index[static_cast<std::size_t>(r)]);
    const auto it = control_pos.find(file_row);
    if (it == control_pos.end()) {  // not a control cell (predict --all-cells)
      ++not_control;
      continue;
    }
    if (test && !in_test[static_cast<std::size_t>(it->second)]) {
      ++not_test;
      continue;
    }
    keep.push_back(r);
    control_file_rows.push_back(file_row);
  }
  const std::string of_all = " of " + std::to_string(pred.n_obs()) + " predictions";
  if (test && not_test > 0 && !ev.all_cells_predicted)
    throw InputError(pred_path, "obs_names", std::to_string(not_test) + of_all,
                     "are of " + dcfg.control + " cells outside the test split of " + dcfg.path + " (" + ev.source.note +
                         "): the predictions were made under another split (give evaluate the model's "
                         "training.seed / data.* settings, or --split all)");
  if (not_control > 0 && !ev.all_cells_predicted)
    throw InputError(pred_path, "obs_names", std::to_string(not_control) + of_all,
                     "are of cells that are not " + dcfg.control + " cells of " + dcfg.path);
  if (keep.empty())
    throw InputError(pred_path, "obs_names", std::to_string(pred.n_obs()) + " cells",
                     test ? "no prediction is of a control cell in the test split of " + dcfg.path + " (" +
                                ev.source.note + "); --split all uses every control"
                          : "no prediction is of a control cell of " + dcfg.path);
  ev.cells.predicted = pred.X.select_rows(keep);
  ev.cells.control = dataset.load_rows(control_file_rows);
  ev.cells.control_rows = control_file_rows;
  ev.cells.control_note = std::to_string(keep.size()) + of_all + " paired with " +
                          (test ? "test-split " : "") + dcfg.control + " cells by obs name";
}

// The predicted cells, paired with their control cells by obs name when every name is a cell of
// the data (otherwise every prediction, unpaired).
void load_predicted(Evaluation& ev, const data::Dataset& dataset, const io::AnnData& pred) {
  const auto& obs_names = dataset.reader().obs().index;
  std::unordered_map<std::string, std::int64_t> row_of;
  row_of.reserve(obs_names.size());
  for (std::size_t i = 0; i < obs_names.size(); ++i) row_of.emplace(obs_names[i], static_cast<std::int64_t>(i));
  std::int64_t found = 0;
  for (const auto& name : pred.obs.index) found += row_of.count(name) ? 1 : 0;
  if (found == pred.n_obs()) {
    pair_by_name(ev, dataset, pred, row_of);
  } else {
    if (found > 0)
      log::warn("evaluate: only " + std::to_string(found) + " of " + std::to_string(pred.n_obs()) + " obs names of " +
                ev.args.pred_path + " are cells of " + ev.dcfg.path + "; evaluating every prediction without pairing");
    ev.cells.predicted = pred.X;
    ev.cells.control_note = "predictions not paired with cells of the data (obs names unknown): paired metrics n/a";
  }
  if (!ev.observed_model) return;
  // The observed model repeats its pool when asked for more rows than it holds; repeats add no
  // cells (and would be each other's nearest neighbours in knn_mix), so the comparison is of the
  // distinct predicted cells: a half of the test cells against the other half.
  std::unordered_set<std::string> seen;
  std::vector<std::int64_t> first;
  for (std::int64_t i = 0; i < ev.cells.predicted.rows; ++i)
    if (seen.insert(row_key(ev.cells.predicted, i)).second) first.push_back(i);
  if (static_cast<std::int64_t>(first.size()) < ev.cells.predicted.rows) {
    ev.cells.predicted = ev.cells.predicted.select_rows(first);
    if (ev.cells.control.rows > 0) ev.cells.control = ev.cells.control.select_rows(first);
  }
  ev.cells.control_note += "; observed baseline: " + std::to_string(first.size()) +
                           " distinct predicted cells, paired metrics (spearman_pair, uvp) n/a";
}

// Ground truth for uvp: synthetic maps act on the file's (unpreprocessed) features.
void load_truth(Evaluation& ev, const data::Dataset& dataset) {
  io::AnnData uns;
  dataset.reader().read_uns(uns);
  if (ev.observed_model) {
    ev.truth_note = "n/a for the observed baseline (its rows are not maps of the control cells)";
    return;
  }
  if (!data::SynthMaps::present(uns)) return;
  const data::SynthMaps maps(uns, ev.dcfg.path);
  if (ev.dcfg.preprocess != "none") {
    ev.truth_note = "ground truth is in raw features but data.preprocess = " + ev.dcfg.preprocess;
  } else if (!maps.has(ev.args.perturbation)) {
    ev.truth_note = "no ground-truth map for " + ev.args.perturbation;
  } else if (ev.cells.control.rows == 0) {
    ev.truth_note = "predictions not paired with control cells";
  } else if (maps.latent() && ev.dcfg.layer != "X") {
    ev.truth_note = "ground truth is in the genes of X (log-normalised) but data.layer = " + ev.dcfg.layer;
  } else {
    ev.cells.truth = maps.truth(ev.args.perturbation, ev.cells.control, ev.cells.control_rows, dataset.reader());
    ev.truth_note = maps.latent() ? "synthetic ground truth: E[X | T*(latent of control)], the expected log-normalised "
                                    "expression over library and counts"
                                  : "synthetic ground truth T*(control)";
  }
}

// The metrics (collective over the job's ranks).
void score(Evaluation& ev, const data::Dataset& dataset, const Config& cfg) {
  const DataConfig& dcfg = ev.dcfg;
  ev.opts = metrics::options_from_config(cfg.metrics, mpi_active() ? MPI_COMM_WORLD : MPI_COMM_NULL,
                                         derive_seed(cfg.training.seed, "evaluate|" + ev.args.perturbation));
  metrics::Input in;
  in.predicted = &ev.cells.predicted;
  in.observed = &ev.cells.observed;
  in.control = ev.cells.control.rows > 0 ? &ev.cells.control : nullptr;
  in.truth = ev.cells.truth.rows > 0 ? &ev.cells.truth : nullptr;
  in.paired = !ev.observed_model;
  // Markers of the perturbation from the training split of the split rule (also with --split
  // all: markers are never chosen on the cells being scored). Changes are measured from the
  // mean of the paired control cells, or else of the control cells of the evaluated split.
  const auto control_rows = dataset.rows_of(dcfg.control), treated_rows = dataset.rows_of(ev.args.perturbation);
  auto rows_of_split = [](const std::vector<std::int64_t>& file_rows, const std::vector<std::int64_t>& idx) {
    std::vector<std::int64_t> out;
    for (const auto i : idx) out.push_back(file_rows[static_cast<std::size_t>(i)]);
    return out;
  };
  const data::Split control_split = dataset.split_of(dcfg.control, ev.source.split_seed);
  const auto markers = metrics::rank_markers(
      dataset.load_rows(rows_of_split(control_rows, control_split.train)),
      dataset.load_rows(rows_of_split(treated_rows, dataset.split_of(ev.args.perturbation, ev.source.split_seed).train)));
  in.markers = &markers;
  std::vector<double> control_mean;
  if (in.control == nullptr) {
    control_mean = metrics::feature_means(
        dataset.load_rows(ev.args.split == "all" ? control_rows : rows_of_split(control_rows, control_split.test)));
    in.control_mean = &control_mean;
  }
  const auto t0 = std::chrono::steady_clock::now();
  ev.values = metrics::compute(in, ev.opts);
  // With an embedding (the model's data.embedding), the screen's "genes:" columns too: the
  // decoded predictions (already in the file's features here) on the top-k marker genes.
  if (dcfg.embedding != "none") {
    metrics::Options go = ev.opts;
    go.names = metrics::marker_metric_names(ev.opts.names, ev.opts.top_k);
    if (!go.names.empty()) {
      std::vector<double> genes_control_mean =
          in.control_mean != nullptr ? *in.control_mean : metrics::feature_means(ev.cells.control);
      metrics::Input gi = in;
      gi.control_mean = &genes_control_mean;
      for (auto& v : metrics::compute_on_markers(gi, go)) ev.values.push_back(std::move(v));
    }
  }
  ev.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One line of JSON with ", " and ": " between items (the layout this command has always printed;
// scripts strip fields with sed). Strings through nlohmann::json: escaped, and bytes that are not
// UTF-8 (names in a file) replaced by U+FFFD so that the output is always valid JSON. NaN and
// infinities print as null.
std::string dump_line(const nlohmann::ordered_json& j) {
  const auto scalar = [](const nlohmann::ordered_json& v) {
    return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  };
  std::string out;
  if (j.is_object()) {
    out += "{";
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      out += (first ? "" : ", ") + scalar(nlohmann::ordered_json(key)) + ": " + dump_line(value);
      first = false;
    }
    return out + "}";
  }
  if (j.is_array()) {
    out += "[";
    for (std::size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + dump_line(j[i]);
    return out + "]";
  }
  return scalar(j);
}

nlohmann::ordered_json metrics_json(const std::vector<metrics::Value>& values) {
  auto out = nlohmann::ordered_json::object();
  for (const auto& v : values) {
    if (!v.available) {
      out[v.name] = nullptr;
      continue;
    }
    nlohmann::ordered_json m;
    m["value"] = v.value;
    m["sd"] = v.sd;
    if (metrics::is_sinkhorn_metric(v.name)) {
      m["iterations"] = v.iterations;
      m["converged"] = v.converged;
      m["marginal_error"] = v.marginal_error;
    }
    out[v.name] = m;
  }
  return out;
}

void print_json(const Evaluation& ev, const Config& cfg) {
  nlohmann::ordered_json o;
  o["data"] = ev.dcfg.path;
  o["predictions"] = ev.args.pred_path;
  o["perturbation"] = ev.args.perturbation;
  o["split"] = ev.args.split;
  o["model"] = ev.source.model;
  o["split_from"] = ev.source.from_model ? "model" : "config";
  o["split_note"] = ev.source.note;
  o["training_seed"] = cfg.training.seed;
  o["fold"] = cfg.data.fold;
  o["observed_note"] = ev.observed_note;
  o["cells"] = {{"predicted", ev.cells.predicted.rows}, {"observed", ev.cells.observed.rows},
                {"control", ev.cells.control.rows}};
  o["bootstrap"] = ev.opts.bootstrap;
  o["max_cells"] = ev.opts.max_cells;
  o["sinkhorn"] = {{"tol", ev.opts.sinkhorn_tol}, {"max_iter", ev.opts.sinkhorn_max_iter}};
  o["uvp_truth"] = ev.truth_note;
  o["seconds"] = ev.seconds;
  o["metrics"] = metrics_json(ev.values);
  std::cout << dump_line(o) << std::endl;
}

void print_table(const Evaluation& ev) {
  const auto& opts = ev.opts;
  const bool resampled = opts.bootstrap > 0;
  bool any_sinkhorn = false;
  for (const auto& v : ev.values) any_sinkhorn = any_sinkhorn || metrics::is_sinkhorn_metric(v.name);
  std::ostringstream o;
  o << "perturbation " << ev.args.perturbation << " (" << (ev.args.split == "test" ? "test split" : "all cells")
    << " of " << ev.dcfg.path << ")\n"
    << "  " << ev.source.note << "\n"
    << "  predicted " << ev.cells.predicted.rows << " cells (" << ev.args.pred_path
    << (ev.source.model.empty() ? std::string() : ", model " + ev.source.model) << "), observed "
    << ev.cells.observed.rows << " cells\n"
    << "  " << ev.cells.control_note << "\n";
  if (!ev.observed_note.empty()) o << "  " << ev.observed_note << "\n";
  o << "  uvp: " << ev.truth_note << "\n";
  if (resampled || opts.max_cells > 0)
    o << "  resampling: " << std::max(1, opts.bootstrap) << " x "
      << (opts.max_cells > 0 ? std::to_string(opts.max_cells) : std::string("min(|P|, |O|)")) << " cells per set\n";
  if (any_sinkhorn)
    o << "  Sinkhorn: tolerance " << fixed(opts.sinkhorn_tol) << " (L2 column-marginal error), cap "
      << opts.sinkhorn_max_iter << " iterations (metrics.sinkhorn_tol / metrics.sinkhorn_max_iter)\n";
  o << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-18s %14s%s\n", "metric", "value", resampled ? "             sd" : "");
  o << line;
  int unconverged = 0;
  for (const auto& v : ev.values) {
    std::string val = v.available ? fixed(v.value) : "n/a";
    std::string extra;
    if (resampled) {
      char sd[32];
      std::snprintf(sd, sizeof sd, "%15s", v.available ? fixed(v.sd).c_str() : "");
      extra = sd;
    }
    if (v.available && metrics::is_sinkhorn_metric(v.name)) {
      extra += "   (" + std::to_string(v.iterations) + " Sinkhorn iterations, " +
               (v.converged ? "converged" : "NOT converged") + ", marginal error " + fixed(v.marginal_error) + ")";
      unconverged += v.converged ? 0 : 1;
    }
    std::snprintf(line, sizeof line, "  %-18s %14s%s\n", v.name.c_str(), val.c_str(), extra.c_str());
    o << line;
  }
  o << "\n  " << ev.values.size() << " metrics in " << log::format_duration(ev.seconds) << "\n";
  if (unconverged > 0)
    o << "  " << unconverged << " Sinkhorn metric(s) stopped at the cap: their values are those of the capped "
      << "iterate (raise metrics.sinkhorn_max_iter)\n";
  std::cout << o.str() << std::flush;
}

}  // namespace

int cmd_evaluate(int argc, char** argv, Runtime& rt) {
  Config cfg;
  Evaluation ev;
  auto cl = parse_evaluate(argc, argv, cfg, rt, ev.args);
  if (!cl) return kExitOk;
  const std::string& pred_path = ev.args.pred_path;
  const io::AnnData pred = io::read_h5ad(pred_path);
  if (ev.args.perturbation.empty()) {
    ev.args.perturbation = uns_string(pred, "cellot_perturbation");
    if (ev.args.perturbation.empty())
      throw InputError("command line", "--perturbation", "",
                       "is required (" + pred_path + " records no uns/cellot_perturbation)");
  }
  const std::string& perturbation = ev.args.perturbation;
  ev.source = resolve_split(pred, pred_path, cfg, *cl, perturbation);
  if (cfg.data.path.empty()) throw InputError("command line", "--data", "", "is required (or data.path in the config)");
  if (perturbation == cfg.data.control)
    throw InputError("command line", "--perturbation", perturbation, "is the control label");
  ev.dcfg = cfg.data;
  ev.dcfg.perturbations = perturbation;  // checked by the dataset: must be a condition with cells
  const data::Dataset dataset(ev.dcfg);
  data::check_same_features(dataset.reader().var(), ev.dcfg.path, pred.var, pred_path);
  if (pred.n_obs() == 0) throw InputError(pred_path, "X", "0 rows", "no predicted cells");
  const ModelKind* kind = find_model_kind(ev.source.model);
  ev.observed_model = kind && kind->floor && perturbation == ev.source.model_perturbation;
  ev.all_cells_predicted = uns_string(pred, "cellot_cells") == "all";
  load_observed(ev, dataset, pred);
  load_predicted(ev, dataset, pred);
  // The scrna preset's truth costs 32 draws of every gene per control cell: only for uvp.
  const auto names = metrics::options_from_config(cfg.metrics, MPI_COMM_NULL, 0).names;
  if (std::find(names.begin(), names.end(), "uvp") != names.end())
    load_truth(ev, dataset);
  else
    ev.truth_note = "not computed (uvp is not in metrics.names)";
  score(ev, dataset, cfg);
  if (rt.world_rank() != 0) return kExitOk;
  if (ev.args.json)
    print_json(ev, cfg);
  else
    print_table(ev);
  return kExitOk;
}

}  // namespace cellot::cli
