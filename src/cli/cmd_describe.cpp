// cellot describe: what a .h5ad holds (shape, X encoding, conditions with their cell counts)
// and whether the dataset layer accepts it (condition key, control, perturbations, finite X).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"

namespace cellot::cli {

namespace {

const char* kind_name(io::Column::Kind k) {
  switch (k) {
    case io::Column::Kind::categorical: return "categorical";
    case io::Column::Kind::string: return "string";
    case io::Column::Kind::float64: return "float";
    case io::Column::Kind::int64: return "int";
    case io::Column::Kind::boolean: return "bool";
  }
  return "?";
}

std::string feature_summary(const std::vector<std::string>& f) {
  std::string s = std::to_string(f.size());
  if (f.empty()) return s;
  s += " (" + f.front();
  if (f.size() > 1) s += f.size() > 2 ? ", " + f[1] : "";
  if (f.size() > 3) s += ", ...";
  if (f.size() > 2) s += ", " + f.back();
  return s + ")";
}

// Reads `rows` in chunks (the reader rejects non-finite values) and applies the preprocessing.
std::int64_t scan(const data::Dataset& ds, const std::vector<std::int64_t>& rows) {
  // At most 2^21 values (16 MiB of dense rows) per chunk: memory stays small and is reused.
  const std::size_t kChunk =
      std::max<std::size_t>(1, (std::size_t{1} << 21) / static_cast<std::size_t>(std::max<std::int64_t>(1, ds.n_vars())));
  for (std::size_t i = 0; i < rows.size(); i += kChunk) {
    const std::vector<std::int64_t> part(rows.begin() + static_cast<std::ptrdiff_t>(i),
                                         rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + kChunk)));
    (void)ds.load_rows(part);
  }
  return static_cast<std::int64_t>(rows.size());
}

// The file's structure: shape, matrices, obs columns, obsm, ground truth.
void describe_structure(std::ostream& os, const data::Dataset& ds, const Config& cfg) {
  const io::H5adReader& r = ds.reader();
  os << "file          " << ds.path() << "\n"
     << "cells         " << r.n_obs() << "\n"
     << "features      " << feature_summary(ds.features()) << "\n"
     << "layer         " << cfg.data.layer << " (" << r.layer_element() << ", "
     << (r.x_encoding() == "array" ? "dense" : r.x_encoding()) << " " << r.x_dtype() << ")\n";
  os << "matrices      ";
  const auto layers = r.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) os << (i ? ", " : "") << layers[i];
  os << "\n";
  os << "obs columns   ";
  for (std::size_t i = 0; i < r.obs().columns.size(); ++i) {
    const auto& c = r.obs().columns[i];
    os << (i ? ", " : "") << c.name << " (" << kind_name(c.kind);
    if (c.kind == io::Column::Kind::categorical) os << ", " << c.categories.size();
    if (c.nullable) os << ", nullable";
    os << ")";
  }
  os << (r.obs().columns.empty() ? "none\n" : "\n");
  for (const auto& [name, why] : r.obs().unread) os << "obs not read  " << name << ": " << why << "\n";
  const auto obsm = r.obsm_keys();
  os << "obsm          ";
  for (std::size_t i = 0; i < obsm.size(); ++i) os << (i ? ", " : "") << obsm[i] << " (" << r.obsm_cols(obsm[i]) << ")";
  os << (obsm.empty() ? "none\n" : "\n");
  io::AnnData uns;
  r.read_uns(uns);
  if (data::SynthMaps::present(uns)) {
    const data::SynthMaps maps(uns, ds.path());
    os << "ground truth  synthetic (preset " << maps.preset() << ", " << maps.family() << ", "
       << maps.perturbations().size() << " maps"
       << (maps.latent() ? " in " + std::to_string(maps.decoder().loadings.cols) + " latent dimensions, decoded to X"
                         : std::string())
       << ")\n";
  }
  os << "preprocess    " << cfg.data.preprocess << "\n\n";

}

// The conditions with their cell counts and roles.
void describe_conditions(std::ostream& os, const data::Dataset& ds, const Config& cfg) {
  const auto selected = ds.perturbations();
  std::size_t width = cfg.data.condition_key.size();
  for (const auto& c : ds.conditions()) width = std::max(width, c.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %10s  %s\n", static_cast<int>(width), cfg.data.condition_key.c_str(), "cells",
                "role");
  os << line;
  std::int64_t n_perturbations = 0;
  for (const auto& c : ds.conditions()) {
    const bool is_control = c.name == cfg.data.control;
    const bool chosen = std::find(selected.begin(), selected.end(), c.name) != selected.end();
    n_perturbations += !is_control && c.cells > 0;
    const char* role = is_control
                           ? "control"
                           : (c.cells == 0 ? "(no cells)" : (chosen ? "perturbation" : "perturbation (not selected)"));
    std::snprintf(line, sizeof line, "%-*s %10lld  %s\n", static_cast<int>(width), c.name.c_str(),
                  static_cast<long long>(c.cells), role);
    os << line;
  }
  os << "\n"
     << n_perturbations << " perturbations, " << selected.size()
     << " selected (data.perturbations = " << cfg.data.perturbations << ")\n";
}

}  // namespace

int cmd_describe(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "describe";
  spec.usage =
      "cellot describe --data F.h5ad [--data.layer L] [--data.condition_key K] [--data.control C] [--perturbation P]\n"
      "                [--obsm KEY] [--no-scan]";
  spec.description =
      "Prints the shape, the X encoding and the conditions of an AnnData file with their cell counts\n"
      "(the control marked), then validates it as the other commands will read it: the condition key,\n"
      "the control label and the selected perturbations exist and have cells, and every value of X in\n"
      "the control and selected perturbations is finite. With --perturbation P, loads that pair and\n"
      "prints its train/validation/test split sizes. --data.layer picks the matrix (X, raw or layers/<name>;\n"
      "the file's matrices are listed); --obsm KEY validates obsm/KEY the same way (shape, finite values).\n"
      "Every anndata layout is read (0.6 compound obs/var, 0.7 __categories, 0.8+). Exit 2 with a one-line\n"
      "message on bad input.";
  std::string data_path, perturbation, obsm_key;
  bool no_scan = false;
  // clang-format off
  spec.options.add_options()
    ("data", po::value(&data_path), "input .h5ad (or data.path)")
    ("perturbation", po::value(&perturbation), "validate one perturbation and show its splits")
    ("obsm", po::value(&obsm_key), "validate obsm/KEY too (one row per cell, finite values)")
    ("no-scan", po::bool_switch(&no_scan), "do not read X (structure and conditions only)");
  // clang-format on
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  if (!data_path.empty()) cfg.data.path = data_path;
  if (cfg.data.path.empty()) throw InputError("command line", "--data", "", "is required");

  const data::Dataset ds(cfg.data);
  const io::H5adReader& r = ds.reader();
  std::ostringstream os;
  describe_structure(os, ds, cfg);
  describe_conditions(os, ds, cfg);
  const auto selected = ds.perturbations();
  if (!perturbation.empty()) {
    const data::PairData pair = ds.load_pair(perturbation, cfg.training.seed);
    auto sizes = [](const data::Split& s) {
      return std::to_string(s.train.size()) + " / " + std::to_string(s.val.size()) + " / " +
             std::to_string(s.test.size());
    };
    os << "pair " << perturbation << " (split " << cfg.data.split << ", seed " << cfg.training.seed
       << "): train / val / test  control " << sizes(pair.control_split) << ", treated " << sizes(pair.treated_split)
       << "\n";
  }
  if (!no_scan) {
    std::vector<std::int64_t> rows = ds.rows_of(cfg.data.control);
    for (const auto& p : perturbation.empty() ? selected : std::vector<std::string>{perturbation}) {
      const auto pr = ds.rows_of(p);
      rows.insert(rows.end(), pr.begin(), pr.end());
    }
    std::sort(rows.begin(), rows.end());
    const std::int64_t n = scan(ds, rows);
    os << "valid: " << n << " cells read (control and "
       << (perturbation.empty() ? "selected perturbations" : perturbation) << "), all values finite\n";
    if (!obsm_key.empty()) {
      (void)r.read_obsm_rows(obsm_key, rows);
      os << "valid: obsm/" << obsm_key << " (" << r.obsm_cols(obsm_key) << " columns), " << n
         << " cells read, all values finite\n";
    }
  } else {
    if (!obsm_key.empty()) (void)r.obsm_cols(obsm_key);  // exists
    os << "valid: structure and conditions (X not read)\n";
  }
  if (rt.world_rank() == 0) std::cout << os.str() << std::flush;
  return kExitOk;
}

}  // namespace cellot::cli
