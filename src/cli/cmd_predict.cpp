// cellot predict: map control cells (the test split by default, or every cell) through a trained
// model directory; the output h5ad keeps the mapped cells' obs names and obs columns.
#include <filesystem>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/models/model_dir.hpp"

namespace cellot::cli {

int cmd_predict(int argc, char** argv, Runtime& rt) {
  Config unused;
  CommandSpec spec;
  spec.name = "predict";
  spec.usage = "cellot predict --model DIR --data F.h5ad --out PRED.h5ad [--all-cells] [--t 0.5] [--perturbation P]";
  spec.description =
      "Maps the control cells of the test split of F (the split rule and seed stored in DIR, so the cells\n"
      "are those the model never saw) or, with --all-cells, every cell of F through the model in DIR.\n"
      "Writes PRED.h5ad: X = predicted perturbed states, obs = the mapped cells' obs names and columns\n"
      "(rows pair with the input), var = features, uns = model directory, model, perturbation, t, cells.\n"
      "--t interpolates the dose: (1 - t) x + t T(x).";
  spec.uses_config = false;  // the configuration is the model's (DIR/config.ini)
  std::string model_dir, data, out, perturbation;
  double t = 1.0;
  int threads = 0;
  spec.options.add_options()
    ("model,m", po::value(&model_dir), "trained model directory (cellot train --out)")
    ("data", po::value(&data), "input .h5ad (default: the training data recorded in DIR)")
    ("out,o", po::value(&out), "output .h5ad")
    ("all-cells", "map every cell of the file, not only the test-split controls")
    ("t", po::value(&t)->default_value(1.0), "dose in [0, 1]: (1 - t) x + t T(x)")
    ("perturbation,p", po::value(&perturbation), "recorded in uns (default: the model's perturbation)")
    ("threads", po::value(&threads)->default_value(0), "torch threads (0: SLURM_CPUS_PER_TASK or cores / ranks)");
  auto cl = parse(spec, argc, argv, unused, rt);
  if (!cl) return kExitOk;
  rt.set_threads(threads);  // before any torch work (loading a model builds its networks)

  if (model_dir.empty()) throw InputError("command line", "--model", "", "is required");
  if (out.empty()) throw InputError("command line", "--out", "", "is required");
  if (!(t >= 0.0 && t <= 1.0)) throw InputError("command line", "--t", std::to_string(t), "must be in [0, 1]");
  // One rank does the work; mapping is cheap next to training.
  if (rt.world_rank() != 0) return kExitOk;

  models::LoadedModel loaded = models::load_model_dir(model_dir);
  const Config& cfg = loaded.config;
  if (perturbation.empty()) perturbation = loaded.info.perturbation;
  DataConfig dcfg = cfg.data;
  dcfg.path = data.empty() ? loaded.info.data_path : data;
  // Only the control label, the split and the preprocessing matter here; the file may hold
  // other perturbations than the training file did.
  dcfg.perturbations = "all";
  data::Dataset dataset(dcfg);
  data::check_same_features(io::DataFrame{loaded.info.features, {}}, model_dir + "/model.h5", dataset.reader().var(),
                            dcfg.path);

  std::vector<std::int64_t> rows;
  std::string cells;
  if (cl->has("all-cells")) {
    rows.resize(static_cast<std::size_t>(dataset.n_obs()));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
    cells = "all";
  } else {
    const auto control_rows = dataset.rows_of(dcfg.control);
    const data::Split split = dataset.split_of(dcfg.control, loaded.info.split_seed);
    for (std::int64_t i : split.test) rows.push_back(control_rows[static_cast<std::size_t>(i)]);
    cells = "test-split " + dcfg.control;
  }
  const Matrix x = dataset.load_rows(rows);
  io::AnnData ad;
  ad.X = loaded.model->predict(x, t);
  ad.obs = dataset.reader().obs().select_rows(rows);
  ad.var = dataset.reader().var();
  ad.uns_strings["cellot_model_dir"] = std::filesystem::absolute(model_dir).string();
  ad.uns_strings["cellot_model"] = loaded.info.model;
  ad.uns_strings["cellot_perturbation"] = perturbation;
  ad.uns_strings["cellot_cells"] = cells;
  ad.uns_strings["cellot_data"] = dcfg.path;
  ad.uns_numbers["cellot_t"] = t;
  io::write_h5ad(out, ad);
  log::root_info("predict: mapped " + std::to_string(rows.size()) + " cells (" + cells + ") of " + dcfg.path +
                 " through " + loaded.info.model + " (" + loaded.info.perturbation + "), t = " + std::to_string(t) +
                 " -> " + out);
  return kExitOk;
}

}  // namespace cellot::cli
