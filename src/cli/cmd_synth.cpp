// cellot synth: synthetic perturbation data with known optimal-transport responses.
#include <chrono>
#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::cli {

int cmd_synth(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "synth";
  spec.usage =
      "cellot synth --preset 4i|screen --out F.h5ad [--perturbations N] [--features d] [--seed S] [--cells-scale f]\n"
      "             [--feature-scale c] [--heterogeneity h]\n"
      "cellot synth --preset scrna --out F.h5ad [--perturbations N] [--cells N] [--genes G] [--cell-lines L]\n"
      "             [--latent K] [--control-fraction f] [--library-size m] [--shuffle] [--seed S]";
  spec.description =
      "Writes synthetic single-cell perturbation data with known ground truth. Control cells come from\n"
      "two cell lines (1:1), each a mixture of three Gaussian subpopulations at the scale of preprocessed\n"
      "4i features (use data.preprocess = none). Each perturbation moves a cell by T = grad(phi), phi\n"
      "convex and subpopulation-dependent, so T is the optimal transport map; its parameters are stored\n"
      "under uns/cellot_synth so the true response of any control cell can be computed.\n"
      "  4i:     48 features (22 morphological, 26 intensities), the paper's cell counts: 11,526 control;\n"
      "          2,364 Erlotinib; 2,650 Imatinib; 2,683 Trametinib; 2,417 Trametinib+Erlotinib.\n"
      "  screen: N perturbations drug_000... with 150..1500 cells each, 4,000 control cells.\n"
      "  scrna:  sparse scRNA-seq counts from a low-rank latent model: every cell has a latent state\n"
      "          (obsm/cellot_latent; L cell lines x 3 subpopulations), genes' proportions are\n"
      "          softmax(offset + loadings z), counts negative binomial with log-normal library sizes.\n"
      "          Each perturbation's map T = grad(phi) acts on the latent state. X is CSR\n"
      "          log1p(1e4 counts / total), layers/counts the int32 counts; the truth of a control\n"
      "          cell is log1p(1e4 softmax(offset + loadings T(z))) (uns/cellot_synth/decoder).\n"
      "          Written streaming (memory ~ obs, not cells x genes).\n"
      "The same options give a bit-identical file.";
  spec.uses_config = false;
  data::SynthOptions opt;
  std::string out;
  // clang-format off
  spec.options.add_options()
    ("preset", po::value(&opt.preset)->default_value(opt.preset), "4i | screen")
    ("out,o", po::value(&out), "output .h5ad (written to OUT.tmp, then renamed)")
    ("perturbations", po::value(&opt.perturbations)->default_value(opt.perturbations), "screen: number of perturbations")
    ("features", po::value(&opt.features)->default_value(opt.features), "screen: number of features")
    ("seed", po::value(&opt.seed)->default_value(opt.seed), "seed of every random draw (a non-negative integer)")
    ("cells-scale", po::value(&opt.cells_scale)->default_value(opt.cells_scale), "multiply every cell count by f")
    ("feature-scale", po::value(&opt.feature_scale)->default_value(opt.feature_scale), "multiply every feature by c (the maps follow: x -> c T(x / c))")
    ("heterogeneity", po::value(&opt.heterogeneity)->default_value(opt.heterogeneity), "4i, screen: multiply the maps' non-translational part (subpopulation-specific gate displacements, log-sd of the per-feature scaling) by h; the shifts stay, so mean shift's error grows ~h^2 (1: the preset as is)")
    ("cells", po::value(&opt.cells)->default_value(opt.cells), "scrna: cells in all (control and treated)")
    ("genes", po::value(&opt.genes)->default_value(opt.genes), "scrna: genes")
    ("cell-lines", po::value(&opt.cell_lines)->default_value(opt.cell_lines), "scrna: cell lines")
    ("latent", po::value(&opt.latent)->default_value(opt.latent), "scrna: latent dimensions")
    ("control-fraction", po::value(&opt.control_fraction)->default_value(opt.control_fraction), "scrna: share of control cells (0: max(0.05, 1/(N+1)))")
    ("library-size", po::value(&opt.library_size)->default_value(opt.library_size), "scrna: median counts per cell")
    ("shuffle", po::bool_switch(&opt.shuffle), "scrna: rows in random order (default: grouped by condition)");
  // clang-format on
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "out");
  if (opt.preset == "4i" && cl->has("perturbations"))
    throw InputError("command line", "--perturbations", std::to_string(opt.perturbations),
                     "only for --preset screen (the 4i preset has its four drugs)");
  const bool scrna = opt.preset == "scrna";
  for (const char* key : {"cells", "genes", "cell-lines", "latent", "control-fraction", "library-size", "shuffle"})
    if (!scrna && cl->has(key) && (std::string(key) != "shuffle" || opt.shuffle))
      throw InputError("command line", std::string("--") + key, opt.preset, "only for --preset scrna");
  for (const char* key : {"features", "cells-scale", "feature-scale", "heterogeneity"})
    if (scrna && cl->has(key))
      throw InputError("command line", std::string("--") + key, "scrna",
                       "not for --preset scrna (use --genes, --cells)");
  check_output_file(out, "--out");
  if (rt.world_rank() != 0) return kExitOk;  // one writer; the data do not depend on the rank

  const auto t0 = std::chrono::steady_clock::now();
  if (scrna) {
    const std::int64_t n = data::write_synthetic_scrna(opt, out, !cl->quiet);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log::root_info("synth: wrote " + out + " (" + std::to_string(n) + " cells x " + std::to_string(opt.genes) +
                   " genes, " + std::to_string(opt.perturbations) + " perturbations, " +
                   std::to_string(opt.cell_lines) + " cell lines, preset scrna, seed " + std::to_string(opt.seed) +
                   ") in " + log::format_duration(secs));
    return kExitOk;
  }
  const io::AnnData data = data::make_synthetic(opt);
  io::write_h5ad(out, data);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& perts = data.uns_string_arrays.at(std::string(data::SynthMaps::kUnsRoot) + "/perturbations");
  log::root_info("synth: wrote " + out + " (" + std::to_string(data.n_obs()) + " cells x " +
                 std::to_string(data.n_vars()) + " features, " + std::to_string(perts.size()) +
                 " perturbations, preset " + opt.preset + ", seed " + std::to_string(opt.seed) + ") in " +
                 log::format_duration(secs));
  return kExitOk;
}

}  // namespace cellot::cli
