#pragma once
// The encoder and decoder of an embedding autoencoder (data.embedding = ae:K), torch-free, in
// float64: what the data, metrics and screen layers use to embed cells and decode predictions.
// The network is fitted in the models layer (models/embedding_ae.hpp, float32 through torch); its
// float32 weights are held here exactly (as float64), so encode/decode equal the torch forward
// pass up to float32 rounding of the intermediate activations.
//
// Architecture (the eval-mode AeNet of models/autoencoder, no condition columns):
//   encode  x -> u = (x - in_center) / in_scale -> [Linear, ReLU] x depth -> Linear -> K
//   decode  z -> [Linear, ReLU] x depth -> Linear -> u -> x = u * in_scale + in_center
// in_center: the training cells' gene means; in_scale: one common scale (the RMS of the genes'
// sds), so the reconstruction loss weighs every gene's log-expression alike, as the PCA does.
//
// Serialised as float64 arrays next to the rest of the feature transform (data/transform.hpp):
// "ae_center" [d], "ae_scale" [1], "ae_enc_<l>_weight" [out, in], "ae_enc_<l>_bias" [out],
// "ae_dec_<l>_*" likewise (l = 0..depth).
#include <cstdint>
#include <string>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/io/named_array.hpp"

namespace cellot::data {

struct AeLayer {
  std::int64_t in = 0, out = 0;
  std::vector<double> weight;  // out x in, row-major (torch's nn.Linear layout)
  std::vector<double> bias;    // out
};

struct AeCodec {
  std::vector<double> in_center;  // d
  double in_scale = 1.0;
  std::vector<AeLayer> encoder, decoder;  // ReLU after every layer but the last of each

  std::int64_t input_dim() const { return static_cast<std::int64_t>(in_center.size()); }
  std::int64_t latent_dim() const { return encoder.empty() ? 0 : encoder.back().out; }
  bool empty() const { return encoder.empty(); }

  Matrix encode(const Matrix& x) const;  // n x d -> n x K
  Matrix decode(const Matrix& z) const;  // n x K -> n x d

  void append_to(std::vector<io::NamedArray>& out) const;
  // InputError naming `origin` on a missing array or a shape that does not chain.
  static AeCodec from_arrays(const io::ArrayGroup& group, std::int64_t input_dim, std::int64_t latent,
                             const std::string& origin);
  bool operator==(const AeCodec& o) const;
};

}  // namespace cellot::data
