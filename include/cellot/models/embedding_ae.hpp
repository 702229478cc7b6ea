#pragma once
// The autoencoder embedding (data.embedding = ae:K), as the CellOT reference handles scRNA-seq:
// an autoencoder fitted on the training split's cells only, per (fold, seed) split; every model
// trains and predicts in its latent space (standardised), and predictions are decoded to genes
// with its decoder. The network is AeNet (models/autoencoder) without condition columns and
// without dropout, fitted by the same loop as scGen/cAE (fit_ae_net) on ONE rank: it depends only
// on the config, the data, the seed and the split (the loop's gradient sums are independent of
// threads), never on the ranks of a screen. Its weights go into a torch-free data::AeCodec.
//
// Fit: the training split's evenly spaced fit sample (data::fit_sample, at most
// kTransformFitCells cells), centred by its gene means and divided by one common scale; every
// 10th cell of it (i % 10 == 9) is held out as validation when there are at least 20 cells.
// data.ae_epochs epochs of Adam (lr data.ae_lr, batch data.ae_batch_size capped by the cells),
// validation loss after every epoch, the best epoch's weights kept, stopped after
// data.ae_patience epochs without a better one. Seed: derive_seed(split_seed, "embedding_ae").
#include <cstdint>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/data/ae_codec.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/transform.hpp"

namespace cellot::models {

struct EmbeddingAeFit {
  data::AeCodec codec;
  std::int64_t epochs = 0;  // epochs trained (fewer than data.ae_epochs when stopped early)
  double best_val_loss = 0;  // per-cell MSE in the scaled genes (NaN without validation cells)
};

// Fits the ae:K autoencoder of `cfg` on the rows of `x` (training cells, the file's features).
EmbeddingAeFit fit_embedding_ae(const DataConfig& cfg, const Matrix& x, std::uint64_t seed);

// The feature transform of a (fold, seed) split for any data.embedding: ae:K fitted here,
// the others by data::fit_on_training_split.
data::FeatureTransform fit_split_transform(const data::Dataset& ds, std::uint64_t split_seed);

}  // namespace cellot::models
