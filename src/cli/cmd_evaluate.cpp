// cellot evaluate: distributional metrics between predictions and observed perturbed cells.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/dist/plan.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/metrics/metrics.hpp"

namespace cellot::cli {

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string fixed(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

struct Cells {
  Matrix predicted, observed, control, truth;
  std::string control_note;  // how the control cells were identified
};

}  // namespace

int cmd_evaluate(int argc, char** argv, Runtime& rt) {
  Config cfg;
  CommandSpec spec;
  spec.name = "evaluate";
  spec.usage =
      "cellot evaluate --data F.h5ad --predictions PRED.h5ad --perturbation P [--split all|test] [--json] "
      "[--config C.ini]";
  spec.description =
      "Computes the metrics of [metrics] names (default all: mmd, w2_eps, sinkhorn_div@eps, l2_ds, r_means,\n"
      "l2_means, r_stds, l2_stds, energy, knn_mix@k, spearman_pair, uvp) between the predicted cells of\n"
      "PRED.h5ad and the observed cells of perturbation P in F (data.* keys: condition key, control label,\n"
      "preprocessing, split rule).\n"
      "  --split test (default): observed = the test split of P under the split rule and seed of\n"
      "    cellot train (training.seed, data.fold); predictions of control cells outside the control\n"
      "    test split are ignored, so predict --all-cells output can be evaluated honestly.\n"
      "  --split all: every predicted control cell against every cell of P.\n"
      "The control cell behind each prediction is found by its obs name (cellot predict keeps them); it is\n"
      "needed for spearman_pair (and l2_ds uses it). When the names are not cells of F, every prediction\n"
      "is used and the paired metrics are n/a. uvp needs synthetic ground truth in F (cellot synth) and\n"
      "data.preprocess = none. metrics.max_cells / metrics.bootstrap resample as the reference CellOT\n"
      "evaluation (mean and sd over resamples, deterministic in training.seed). Runs on every rank of\n"
      "the job, which share the pair work; rank 0 prints.";
  std::string data_path, pred_path, perturbation, split = "test";
  // clang-format off
  spec.options.add_options()
    ("data", po::value(&data_path), "observed data .h5ad (or data.path)")
    ("predictions", po::value(&pred_path), "predictions .h5ad (cellot predict --out)")
    ("perturbation,p", po::value(&perturbation), "perturbation (default: recorded in the predictions)")
    ("split", po::value(&split)->default_value("test"), "test | all")
    ("json", "print one JSON object instead of a table");
  // clang-format on
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "predictions");
  if (!data_path.empty()) cfg.data.path = data_path;
  if (cfg.data.path.empty()) throw InputError("command line", "--data", "", "is required (or data.path in the config)");
  if (split != "test" && split != "all")
    throw InputError("command line", "--split", split, "must be 'test' or 'all'");
  const bool json = cl->has("json");

  const io::AnnData pred = io::read_h5ad(pred_path);
  if (perturbation.empty()) {
    const auto it = pred.uns_strings.find("cellot_perturbation");
    if (it == pred.uns_strings.end())
      throw InputError("command line", "--perturbation", "",
                       "is required (" + pred_path + " records no uns/cellot_perturbation)");
    perturbation = it->second;
  }
  if (perturbation == cfg.data.control)
    throw InputError("command line", "--perturbation", perturbation, "is the control label");
  DataConfig dcfg = cfg.data;
  dcfg.perturbations = perturbation;  // checked by the dataset: must be a condition with cells
  const data::Dataset dataset(dcfg);
  data::check_same_features(dataset.reader().var(), dcfg.path, pred.var, pred_path);
  if (pred.n_obs() == 0) throw InputError(pred_path, "X", "0 rows", "no predicted cells");

  // The split rule and seed of cellot train / screen for this configuration.
  const std::uint64_t split_seed = dist::split_seed(cfg, cfg.data.fold, cfg.training.seed);
  Cells cells;
  const auto treated_rows = dataset.rows_of(perturbation);
  if (split == "all") {
    cells.observed = dataset.load_rows(treated_rows);
  } else {
    const data::Split s = dataset.split_of(perturbation, split_seed);
    std::vector<std::int64_t> rows;
    for (const auto i : s.test) rows.push_back(treated_rows[static_cast<std::size_t>(i)]);
    cells.observed = dataset.load_rows(rows);
  }

  // Pair predictions with their control cells by obs name.
  const auto& obs_names = dataset.reader().obs().index;
  std::unordered_map<std::string, std::int64_t> row_of;
  row_of.reserve(obs_names.size());
  for (std::size_t i = 0; i < obs_names.size(); ++i) row_of.emplace(obs_names[i], static_cast<std::int64_t>(i));
  std::int64_t found = 0;
  for (const auto& name : pred.obs.index) found += row_of.count(name) ? 1 : 0;
  std::vector<std::int64_t> keep, control_file_rows;
  if (found == pred.n_obs()) {
    const auto control_rows = dataset.rows_of(dcfg.control);
    std::unordered_map<std::int64_t, std::int64_t> control_pos;  // file row -> index among controls
    for (std::size_t k = 0; k < control_rows.size(); ++k) control_pos.emplace(control_rows[k], static_cast<std::int64_t>(k));
    std::vector<char> in_test;
    if (split == "test") {
      in_test.assign(control_rows.size(), 0);
      for (const auto i : dataset.split_of(dcfg.control, split_seed).test) in_test[static_cast<std::size_t>(i)] = 1;
    }
    for (std::int64_t r = 0; r < pred.n_obs(); ++r) {
      const std::int64_t file_row = row_of.at(pred.obs.index[static_cast<std::size_t>(r)]);
      const auto it = control_pos.find(file_row);
      if (it == control_pos.end()) continue;  // not a control cell (predict --all-cells)
      if (split == "test" && !in_test[static_cast<std::size_t>(it->second)]) continue;
      keep.push_back(r);
      control_file_rows.push_back(file_row);
    }
    if (keep.empty())
      throw InputError(pred_path, "obs_names", std::to_string(pred.n_obs()) + " cells",
                       split == "test" ? "no prediction is of a control cell in the test split of " + dcfg.path +
                                             " (training.seed / data.fold / data.split as in training?); "
                                             "--split all uses every control"
                                       : "no prediction is of a control cell of " + dcfg.path);
    cells.predicted = pred.X.select_rows(keep);
    cells.control = dataset.load_rows(control_file_rows);
    cells.control_note = std::to_string(keep.size()) + " of " + std::to_string(pred.n_obs()) +
                         " predictions paired with " + (split == "test" ? "test-split " : "") + dcfg.control +
                         " cells by obs name";
  } else {
    if (found > 0)
      log::warn("evaluate: only " + std::to_string(found) + " of " + std::to_string(pred.n_obs()) + " obs names of " +
                pred_path + " are cells of " + dcfg.path + "; evaluating every prediction without pairing");
    cells.predicted = pred.X;
    cells.control_note = "predictions not paired with cells of the data (obs names unknown): paired metrics n/a";
  }

  // Ground truth for uvp: synthetic maps act on the file's (unpreprocessed) features.
  io::AnnData uns;
  dataset.reader().read_uns(uns);
  std::string truth_note = "no ground truth in the data";
  if (data::SynthMaps::present(uns)) {
    const data::SynthMaps maps(uns, dcfg.path);
    if (dcfg.preprocess != "none") {
      truth_note = "ground truth is in raw features but data.preprocess = " + dcfg.preprocess;
    } else if (!maps.has(perturbation)) {
      truth_note = "no ground-truth map for " + perturbation;
    } else if (cells.control.rows == 0) {
      truth_note = "predictions not paired with control cells";
    } else {
      cells.truth = maps.apply(perturbation, cells.control);
      truth_note = "synthetic ground truth T*(control)";
    }
  }

  metrics::Options opts =
      metrics::options_from_config(cfg.metrics, MPI_COMM_WORLD, derive_seed(cfg.training.seed, "evaluate|" + perturbation));
  metrics::Input in;
  in.predicted = &cells.predicted;
  in.observed = &cells.observed;
  in.control = cells.control.rows > 0 ? &cells.control : nullptr;
  in.truth = cells.truth.rows > 0 ? &cells.truth : nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  const auto values = metrics::compute(in, opts);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (rt.world_rank() != 0) return kExitOk;

  const bool resampled = opts.bootstrap > 0;
  if (json) {
    std::ostringstream o;
    o << "{\"data\": \"" << json_escape(dcfg.path) << "\", \"predictions\": \"" << json_escape(pred_path)
      << "\", \"perturbation\": \"" << json_escape(perturbation) << "\", \"split\": \"" << split
      << "\", \"cells\": {\"predicted\": " << cells.predicted.rows << ", \"observed\": " << cells.observed.rows
      << ", \"control\": " << cells.control.rows << "}, \"bootstrap\": " << opts.bootstrap
      << ", \"max_cells\": " << opts.max_cells << ", \"uvp_truth\": \"" << json_escape(truth_note)
      << "\", \"seconds\": " << json_number(secs) << ", \"metrics\": {";
    for (std::size_t k = 0; k < values.size(); ++k) {
      const auto& v = values[k];
      o << (k ? ", " : "") << "\"" << v.name << "\": ";
      if (!v.available) {
        o << "null";
        continue;
      }
      o << "{\"value\": " << json_number(v.value) << ", \"sd\": " << json_number(v.sd);
      if (v.iterations > 0) o << ", \"iterations\": " << v.iterations;
      o << "}";
    }
    o << "}}";
    std::cout << o.str() << std::endl;
    return kExitOk;
  }
  std::ostringstream o;
  o << "perturbation " << perturbation << " (" << (split == "test" ? "test split" : "all cells") << " of "
    << dcfg.path << ")\n"
    << "  predicted " << cells.predicted.rows << " cells (" << pred_path << "), observed " << cells.observed.rows
    << " cells\n"
    << "  " << cells.control_note << "\n"
    << "  uvp: " << truth_note << "\n";
  if (resampled || opts.max_cells > 0)
    o << "  resampling: " << std::max(1, opts.bootstrap) << " x "
      << (opts.max_cells > 0 ? std::to_string(opts.max_cells) : std::string("min(|P|, |O|)")) << " cells per set\n";
  o << "\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %-18s %14s%s\n", "metric", "value", resampled ? "             sd" : "");
  o << line;
  for (const auto& v : values) {
    std::string val = v.available ? fixed(v.value) : "n/a";
    std::string extra;
    if (resampled) {
      char sd[32];
      std::snprintf(sd, sizeof sd, "%15s", v.available ? fixed(v.sd).c_str() : "");
      extra = sd;
    }
    if (v.iterations > 0) extra += "   (" + std::to_string(v.iterations) + " Sinkhorn iterations)";
    std::snprintf(line, sizeof line, "  %-18s %14s%s\n", v.name.c_str(), val.c_str(), extra.c_str());
    o << line;
  }
  o << "\n  " << values.size() << " metrics in " << log::format_duration(secs) << "\n";
  std::cout << o.str() << std::flush;
  return kExitOk;
}

}  // namespace cellot::cli
