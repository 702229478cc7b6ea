// Helper for the autoencoder cross-check (ae_reference.py): trains scGen or cAE exactly as
// `cellot train` builds its input (Dataset::load_pair, the split's transform, TrainInput of the
// training and validation cells) and writes what an independent implementation needs to replay
// the fit and what it compares, as .npy files in OUT:
//   rows_{control,treated}_{train,val,test}.npy  int64  file rows of the split's cells (the
//        training rows of the fit are control train then treated train, labels 0 then 1)
//   step_rows.npy int64 (sum of batch sizes), step_n.npy int64 (steps): each step's batch, as
//        indices into those training rows; step_masks.npy float32: each step's dropout masks
//        (hidden layers x batch x width, 0 or 1/(1-p); absent without dropout);
//        step_loss.npy float64: each step's batch loss
//   traj__<name>.npy float32 (steps + 1, shape...): the parameter <name> (torch state_dict names)
//        before the first step (row 0) and after every step
//   final__<name>.npy float32: the fitted model's parameters (selected iterate, scGen's latent
//        means, selection)
//   curves.npy float64 (rows x columns of the model's curves: step, epoch, train_loss, val_loss)
//   pred.npy float64: predict() of the test control cells
//   meta.json: model, hyperparameters, batch size, eval_every, patience, min_iters, steps
// Usage: ae_tool CONFIG.ini OUT   (data.path, data.perturbations = one perturbation, model.name =
// scgen | cae; data.standardize = false: the reference reads the file's values).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/models/kinds.hpp"
#include "cellot/models/model.hpp"
#include "cellot/nn/threads.hpp"

namespace {

template <class T>
const char* npy_descr();
template <>
const char* npy_descr<float>() { return "<f4"; }
template <>
const char* npy_descr<double>() { return "<f8"; }
template <>
const char* npy_descr<std::int64_t>() { return "<i8"; }

template <class T>
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape, const T* data) {
  std::string dims;
  std::int64_t n = 1;
  for (const auto s : shape) {
    dims += std::to_string(s) + ",";
    n *= s;
  }
  if (shape.size() > 1) dims.pop_back();
  std::string header = "{'descr': '" + std::string(npy_descr<T>()) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * static_cast<std::int64_t>(sizeof(T))));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

template <class T>
void write_vec(const std::filesystem::path& path, const std::vector<T>& v) {
  write_npy(path, {static_cast<std::int64_t>(v.size())}, v.data());
}

std::vector<std::int64_t> file_rows(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& idx) {
  std::vector<std::int64_t> out;
  for (const auto i : idx) out.push_back(rows[static_cast<std::size_t>(i)]);
  return out;
}

// Every step of the fit, as the observer reports it.
struct Trace {
  std::vector<std::int64_t> rows, n;
  std::vector<float> masks;
  std::vector<double> loss;
  std::vector<std::vector<float>> params;  // step 0 = initial
};

void write_trace(const std::filesystem::path& out, const Trace& t, std::int64_t d, int n_conditions,
                 const cellot::models::AeHyper& h) {
  write_vec(out / "step_rows.npy", t.rows);
  write_vec(out / "step_n.npy", t.n);
  write_vec(out / "step_loss.npy", t.loss);
  if (!t.masks.empty()) write_vec(out / "step_masks.npy", t.masks);
  // Each step's flat parameters as named tensors (AeNet's own export), stacked per name.
  std::map<std::string, std::vector<float>> stacked;
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::vector<std::string> order;
  for (const auto& flat : t.params) {
    cellot::models::AeNet net(d, n_conditions, h);
    net.params() = flat;
    std::vector<cellot::models::NamedTensor> named;
    net.export_to(named);
    for (const auto& nt : named) {
      if (!shapes.count(nt.name)) order.push_back(nt.name);
      shapes[nt.name] = nt.shape;
      auto& s = stacked[nt.name];
      s.insert(s.end(), nt.values.begin(), nt.values.end());
    }
  }
  for (const auto& name : order) {
    std::vector<std::int64_t> shape{static_cast<std::int64_t>(t.params.size())};
    shape.insert(shape.end(), shapes[name].begin(), shapes[name].end());
    write_npy(out / ("traj__" + name + ".npy"), shape, stacked[name].data());
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run(const std::string& config_path, const std::filesystem::path& out, cellot::Runtime& rt) {
  namespace cm = cellot::models;
  cellot::Config cfg = cellot::parse_ini_text(read_text(config_path), config_path);
  cellot::validate(cfg, config_path);
  cellot::nn::set_threads(rt, cfg.training.threads);
  const std::string pert = cfg.data.perturbations;
  const std::uint64_t seed = cfg.training.seed;
  const cellot::data::Dataset ds(cfg.data);
  const auto tf = cm::model_transform(cellot::data::fit_on_training_split(ds, seed), cfg.model.name);
  if (tf.embeds() || tf.scaling() != cellot::data::FeatureTransform::Scaling::none)
    throw std::runtime_error("the cross-check reads the file's values: set data.standardize = false");
  const auto pair = ds.load_pair(pert, seed, &tf);
  cm::TrainInput in;
  in.perturbation = pert;
  in.source_train = pair.control.select_rows(pair.control_split.train);
  in.target_train = pair.treated.select_rows(pair.treated_split.train);
  in.source_val = pair.control.select_rows(pair.control_split.val);
  in.target_val = pair.treated.select_rows(pair.treated_split.val);
  const cellot::Matrix test_control = pair.control.select_rows(pair.control_split.test);

  const std::int64_t d = tf.dim();
  auto model = cm::make_model(cfg, d);
  auto* ae = dynamic_cast<cm::AutoencoderModel*>(model.get());
  if (!ae) throw std::runtime_error("model.name must be scgen or cae");
  Trace trace;
  ae->observe_steps([&](const cm::AeStepTrace& s) {
    if (s.step > 0) {
      trace.rows.insert(trace.rows.end(), s.rows, s.rows + s.n_rows);
      trace.n.push_back(s.n_rows);
      trace.loss.push_back(s.loss);
      if (s.masks) trace.masks.insert(trace.masks.end(), s.masks, s.masks + ae->net().hidden_layers() * s.n_rows * ae->net().hyper().width);
    }
    trace.params.emplace_back(s.params, s.params + s.n_params);
  });
  cm::TrainContext ctx;
  ctx.config = &cfg;
  ctx.comm = MPI_COMM_WORLD;
  ctx.seed = seed;
  model->train(in, ctx);
  if (rt.world_rank() != 0) return 0;

  std::filesystem::create_directories(out);
  write_vec(out / "rows_control_train.npy", file_rows(pair.control_rows, pair.control_split.train));
  write_vec(out / "rows_treated_train.npy", file_rows(pair.treated_rows, pair.treated_split.train));
  write_vec(out / "rows_control_val.npy", file_rows(pair.control_rows, pair.control_split.val));
  write_vec(out / "rows_treated_val.npy", file_rows(pair.treated_rows, pair.treated_split.val));
  write_vec(out / "rows_control_test.npy", file_rows(pair.control_rows, pair.control_split.test));
  const cm::AeHyper& h = ae->net().hyper();
  write_trace(out, trace, d, ae->net().n_conditions(), h);
  for (const auto& p : model->parameters()) write_npy(out / ("final__" + p.name + ".npy"), p.shape, p.values.data());
  const auto& curves = model->curves();
  std::vector<double> flat;
  for (const auto& r : curves.rows) flat.insert(flat.end(), r.begin(), r.end());
  write_npy(out / "curves.npy", {static_cast<std::int64_t>(curves.rows.size()), static_cast<std::int64_t>(curves.columns.size())},
            flat.data());
  const cellot::Matrix pred = model->predict(test_control);
  write_npy(out / "pred.npy", {pred.rows, pred.cols}, pred.data.data());
  std::ofstream meta(out / "meta.json");
  meta.precision(17);
  meta << "{\"model\": \"" << cfg.model.name << "\", \"data\": \"" << cfg.data.path << "\", \"n_features\": " << d
       << ", \"n_conditions\": " << ae->net().n_conditions() << ", \"width\": " << h.width << ", \"depth\": " << h.depth
       << ", \"latent\": " << h.latent << ", \"dropout\": " << h.dropout << ", \"lr\": " << h.lr
       << ", \"batch_size\": " << cfg.batch_size() << ", \"eval_every\": " << cfg.training.eval_every
       << ", \"patience\": " << cfg.patience() << ", \"min_iters\": " << cfg.min_iters()
       << ", \"epochs\": " << cfg.training.epochs << ", \"iters\": " << cfg.training.iters
       << ", \"steps\": " << trace.n.size() << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  cellot::Runtime rt(argc, argv);
  if (argc != 3) {
    std::cerr << "usage: ae_tool CONFIG.ini OUT\n";
    return 2;
  }
  try {
    return run(argv[1], argv[2], rt);
  } catch (const std::exception& e) {
    std::cerr << "ae_tool: " << e.what() << "\n";
    return 1;
  }
}
