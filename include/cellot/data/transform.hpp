#pragma once
// The feature transform between a file's features and the space the models work in
// (DESIGN.md 'Data'): an optional embedding (PCA of the preprocessed X, or an obsm key) followed
// by standardisation, both fitted on training-split cells only. Models train and predict in the
// standardised embedding; predictions are unstandardised (embedding space: where the screen's
// metrics are computed) and decoded back to the file's features (where they are written).
//
//   embed            X rows (genes) -> embedding: pca (x - mean) C^T; ae the autoencoder's
//                    encoder (data/ae_codec.hpp); none: x. obsm embeddings are read from the
//                    file (Dataset), not computed from X.
//   standardize      embedding -> model space: (e - center) / scale.
//   unstandardize    its inverse.
//   decode_embedding embedding -> X space: pca e C + mean; obsm: the least-squares linear map
//                    from the obsm coordinates to X fitted on the training sample; ae: the
//                    autoencoder's decoder (not affine); none: e.
// data.standardize: true = per-feature centre and unit sd, except for pca:K where one common
// scale is used (the components are a rotation of one space: scaling each to unit sd would weight
// a noise component as much as the first); global = per-feature centre and one common scale
// (the RMS of the features' sds) everywhere, which keeps optimal-transport maps exactly
// (T'(z) = (T(s z + c) - c) / s); false = identity. ae:K uses the per-feature rule (its latent
// coordinates are not a rotation of one space). The autoencoder itself is fitted in the models
// layer (models/embedding_ae.hpp: it needs torch) and handed to fit_transform_ae.
//
// Serialised as an io::ArrayGroup (spec text + float64 arrays) into a results store
// (/transform/<split>) and a model directory (model.h5:/transform), so a prediction is remade
// from the stored transform, never refitted.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/data/ae_codec.hpp"
#include "cellot/io/named_array.hpp"

namespace cellot::data {

struct Pca;

class FeatureTransform {
 public:
  enum class Scaling { none, per_feature, global };

  // The identity on d features (no embedding, no standardisation).
  static FeatureTransform identity(std::int64_t d);

  const std::string& embedding() const { return embedding_; }  // none | pca:K | obsm:KEY | ae:K
  bool from_obsm() const { return embedding_.rfind("obsm:", 0) == 0; }
  std::string obsm_key() const { return from_obsm() ? embedding_.substr(5) : std::string(); }
  bool from_ae() const { return embedding_.rfind("ae:", 0) == 0; }
  const AeCodec& autoencoder() const { return ae_; }
  bool embeds() const { return embedding_ != "none"; }
  Scaling scaling() const { return scaling_; }
  std::int64_t input_dim() const { return input_dim_; }  // features of the file
  std::int64_t dim() const { return dim_; }              // features the models see
  // Names of the model's features: the file's own (none), PC1..PCK, AE1..AEK or KEY_1..KEY_K.
  std::vector<std::string> names(const std::vector<std::string>& input_features) const;
  // Fraction of the training sample's variance the embedding keeps (pca: the components'
  // variance; ae: 1 - reconstruction SSE / total SS of the fit sample; NaN otherwise).
  double explained_variance() const { return explained_; }

  // The same embedding without standardisation.
  FeatureTransform unscaled() const;

  Matrix embed(const Matrix& x) const;
  Matrix standardize(const Matrix& e) const;
  Matrix unstandardize(const Matrix& z) const;
  Matrix decode_embedding(const Matrix& e) const;

  io::ArrayGroup to_group() const;
  // InputError naming `origin` when the group is not a transform of this format.
  static FeatureTransform from_group(const io::ArrayGroup& group, const std::string& origin);
  std::string describe() const;  // one line for logs
  bool operator==(const FeatureTransform& o) const;

 private:
  friend FeatureTransform fit_transform(const DataConfig& cfg, const Matrix& x, const Matrix* obsm);
  friend FeatureTransform fit_transform_ae(const DataConfig& cfg, const Matrix& x, AeCodec ae);
  friend FeatureTransform pca_transform(const DataConfig& cfg, Pca p);
  // Standardisation of the embedded fit sample `e` (data.standardize).
  void fit_scaling(const std::string& standardize, const Matrix& e);
  // The same from the embedded sample's per-feature means and variances (ddof 1).
  void set_scaling(const std::string& standardize, std::vector<double> center, const std::vector<double>& var);
  std::string embedding_ = "none";
  std::string standardize_ = "false";  // the config value it was fitted with
  Scaling scaling_ = Scaling::none;
  std::int64_t input_dim_ = 0, dim_ = 0;
  std::vector<double> pca_mean_;  // pca: d
  Matrix components_;             // pca: K x d
  Matrix decoder_;                // obsm: (K + 1) x d, last row the intercept
  AeCodec ae_;                    // ae: the autoencoder
  std::vector<double> center_, scale_;  // dim_ each (scale 1 and center 0 when not standardised)
  double explained_ = std::numeric_limits<double>::quiet_NaN();
};

// The transform of a pca:K embedding fitted on training cells (data/pca.hpp): its standardisation
// from the components' variances (the embedded sample is centred: its mean is the PCA mean).
FeatureTransform pca_transform(const DataConfig& cfg, Pca p);

// Fits the transform of cfg (data.embedding, data.standardize) on training cells: `x` their
// preprocessed X rows, `obsm` their rows of obsm[KEY] for an obsm embedding (else nullptr).
FeatureTransform fit_transform(const DataConfig& cfg, const Matrix& x, const Matrix* obsm);

// The transform of an ae:K embedding whose autoencoder `ae` was fitted on the training cells `x`
// (models/embedding_ae.hpp): standardisation fitted on their codes, explained variance from their
// reconstruction.
FeatureTransform fit_transform_ae(const DataConfig& cfg, const Matrix& x, AeCodec ae);

// At most this many training cells enter a fit (an evenly spaced subsample of the training rows
// in file order beyond it): the fit then costs the same for 10^4 and 10^6 cells.
inline constexpr std::int64_t kTransformFitCells = 20000;

// Evenly spaced subsample of sorted rows (all of them when there are at most `cap`).
std::vector<std::int64_t> fit_sample(const std::vector<std::int64_t>& rows, std::int64_t cap = kTransformFitCells);

}  // namespace cellot::data
