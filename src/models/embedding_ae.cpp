// The ae:K embedding's autoencoder (models/embedding_ae.hpp).
#include "cellot/models/embedding_ae.hpp"

#include <mpi.h>

#include <cmath>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/nn/threads.hpp"

namespace cellot::models {

namespace {

// Gene means and one common scale (the RMS of the genes' sds; 1 for constant data).
void input_scaling(const Matrix& x, std::vector<double>& center, double& scale) {
  center.assign(static_cast<std::size_t>(x.cols), 0.0);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) center[static_cast<std::size_t>(j)] += x(i, j);
  for (auto& c : center) c /= static_cast<double>(x.rows);
  double ss = 0;
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) {
      const double c = x(i, j) - center[static_cast<std::size_t>(j)];
      ss += c * c;
    }
  const double var = ss / static_cast<double>(std::max<std::int64_t>(1, x.rows - 1)) / static_cast<double>(x.cols);
  scale = var > 0 ? std::sqrt(var) : 1.0;
}

std::vector<data::AeLayer> layers_of(const std::vector<NamedTensor>& tensors, const std::string& prefix) {
  std::vector<data::AeLayer> out;
  for (std::size_t l = 0;; ++l) {
    const std::string w = prefix + "." + std::to_string(l) + ".weight", b = prefix + "." + std::to_string(l) + ".bias";
    const NamedTensor *tw = nullptr, *tb = nullptr;
    for (const auto& t : tensors) {
      if (t.name == w) tw = &t;
      if (t.name == b) tb = &t;
    }
    if (!tw || !tb) break;
    data::AeLayer L;
    L.out = tw->shape[0];
    L.in = tw->shape[1];
    L.weight.assign(tw->values.begin(), tw->values.end());
    L.bias.assign(tb->values.begin(), tb->values.end());
    out.push_back(std::move(L));
  }
  return out;
}

}  // namespace

EmbeddingAeFit fit_embedding_ae(const DataConfig& cfg, const Matrix& x, std::uint64_t seed) {
  const int k = std::stoi(cfg.embedding.substr(3));
  if (x.rows < 2) throw InputError(cfg.path, "data.embedding", cfg.embedding, "fewer than 2 training cells to fit the autoencoder on");
  EmbeddingAeFit fit;
  input_scaling(x, fit.codec.in_center, fit.codec.in_scale);

  AeData data;
  data.n_features = x.cols;
  const bool hold_out = x.rows >= 20;
  for (std::int64_t i = 0; i < x.rows; ++i) {
    const bool val = hold_out && i % 10 == 9;
    auto& rows = val ? data.val_x : data.train_x;
    for (std::int64_t j = 0; j < x.cols; ++j)
      rows.push_back(static_cast<float>((x(i, j) - fit.codec.in_center[static_cast<std::size_t>(j)]) / fit.codec.in_scale));
    (val ? data.val_labels : data.train_labels).push_back(0);
  }

  AeHyper hyper{cfg.ae_width, cfg.ae_depth, k, 0.0, cfg.ae_lr};
  AeNet net(x.cols, 0, hyper);
  AeFitSettings s;
  s.batch_size = std::min<std::int64_t>(cfg.ae_batch_size, data.n_train());
  const std::int64_t steps_per_epoch = (data.n_train() + s.batch_size - 1) / s.batch_size;
  s.epochs = cfg.ae_epochs;
  s.eval_every = steps_per_epoch;
  s.micro_batches = 4;
  s.early = nn::EarlyStop(cfg.ae_patience, 0);
  TrainContext ctx;
  ctx.comm = MPI_COMM_SELF;
  ctx.seed = seed;
  const AeFitResult r = fit_ae_net(net, s, data, ctx, "embedding " + cfg.embedding);
  fit.epochs = r.steps / steps_per_epoch;
  fit.best_val_loss = r.best_val_loss;

  std::vector<NamedTensor> tensors;
  net.export_to(tensors);
  fit.codec.encoder = layers_of(tensors, "encoder");
  fit.codec.decoder = layers_of(tensors, "decoder");
  return fit;
}

data::FeatureTransform fit_split_transform(const data::Dataset& ds, std::uint64_t split_seed) {
  const DataConfig& cfg = ds.config();
  if (cfg.embedding.rfind("ae:", 0) != 0) return data::fit_on_training_split(ds, split_seed, MPI_COMM_NULL, nn::parallel_for);
  const auto rows = data::fit_sample(data::training_rows(ds, split_seed));
  const Matrix x = ds.load_rows(rows);
  EmbeddingAeFit fit = fit_embedding_ae(cfg, x, derive_seed(split_seed, "embedding_ae"));
  log::debug("embedding " + cfg.embedding + ": " + std::to_string(fit.epochs) + " epochs on " + std::to_string(x.rows) +
             " training cells, validation loss " + std::to_string(fit.best_val_loss));
  return data::fit_transform_ae(cfg, x, std::move(fit.codec));
}

}  // namespace cellot::models
