#pragma once
// Synthetic perturbation data with known ground truth (DESIGN.md 'Data').
//
// Control cells: two cell lines (1:1), each a mixture of three subpopulations, every
// subpopulation a Gaussian (diagonal plus rank-2 covariance) in d dimensions at O(1) scale, as
// preprocessed 4i features are (use data.preprocess = none on these files).
// Perturbation k: T_k = ∇φ_k with the convex potential
//   φ_k(x) = ½ xᵀ diag(s_k) x + b_kᵀ x + Σ_m a_km softplus(u_kmᵀ x − t_km),   s_k > 0, a_km > 0,
//   T_k(x) = s_k ⊙ x + b_k + Σ_m a_km σ(u_kmᵀ x − t_km) u_km,
// so T_k is the Brenier (optimal transport) map from the control distribution to T_k#control.
// Most gates m point at one subpopulation (u along its mean's offset from the mixture mean,
// slightly rotated per perturbation, threshold between that subpopulation and the others), so
// the response differs between subpopulations (a shift there, none elsewhere); a few gates are
// graded responses over all cells; s_k changes spreads. Perturbed cells are T_k applied to fresh
// control-distribution samples (unpaired with the stored control cells).
//
// Stored under uns/cellot_synth: family (string), preset (string), seed (string),
// perturbations (string array, in file order), feature_scale and heterogeneity (numbers, when not 1) and maps/<perturbation>/{scale (d), shift (d),
// u (gates x d), a (gates), t (gates)}. obs: condition, cell_line, subpopulation (categorical).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/data/pca.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::data {

struct SynthOptions {
  std::string preset = "4i";  // 4i | screen | scrna
  int perturbations = 200;    // screen and scrna
  int features = 48;          // screen only (the 4i preset always has its 48 named features)
  // scrna only (see synth_scrna.hpp).
  std::int64_t cells = 100000;     // all cells, control and treated
  int genes = 2000;
  int cell_lines = 3;
  int latent = 10;
  double control_fraction = 0;     // share of control cells; 0 = max(0.05, 1 / (perturbations + 1))
  double library_size = 1500;      // median counts per cell
  bool shuffle = false;            // rows in random order instead of grouped by condition
  std::uint64_t seed = 0;
  double cells_scale = 1.0;  // multiplies every condition's cell count (at least one cell each)
  // Multiplies every feature (X -> c X; the maps become x -> c T(x / c), still the gradient of a
  // convex potential): data at the scale of unstandardised imaging or PCA features.
  double feature_scale = 1.0;
  // 4i and screen: multiplies the non-translational part of every map (the subpopulation gates'
  // and graded gates' displacements, the log-sd of the per-feature scaling, clamped to [0.6, 1.6]);
  // the shifts stay. 1 = the presets as they are; 3 makes mean shift clearly wrong.
  double heterogeneity = 1.0;
};

// The 4i preset's 48 feature names: 22 morphological (Cell_* and Nuclei_* shape measures) and
// 26 intensities (13 protein markers x {Nuclei, Cell}, e.g. Intensity_Nuclei_Sox9).
std::vector<std::string> feature_names_4i();

// Cell counts of the 4i preset (the paper's): control first, then the four drugs.
std::vector<std::pair<std::string, std::int64_t>> counts_4i();

// The whole synthetic dataset (X float32 on write; obs; var; uns ground truth). Deterministic
// in the options: the same options give bit-identical files. InputError for bad options.
io::AnnData make_synthetic(const SynthOptions& options);

struct SynthMap {
  std::vector<double> scale, shift;  // s_k, b_k (d)
  Matrix u;                          // gates x d
  std::vector<double> a, t;          // gates
  double feature_scale = 1.0;        // c: the map applied is x -> c T(x / c)
  std::int64_t dim() const { return static_cast<std::int64_t>(scale.size()); }
  Matrix apply(const Matrix& x) const;      // T_k(x), row by row
  double potential(const double* x) const;  // φ_k(x)
};

// The scrna preset's decoder from latent states to expression: proportions
// p(z) = softmax(offset + loadings z) over the genes; a cell's counts are negative binomial
// (shape nb_shape per gene) with mean library * p(z), its library log-normal around
// library_size * exp(line_depth[cell line]) with log-sd library_sd; X = log1p(target_sum *
// counts / total counts).
struct SynthDecoder {
  // Monte Carlo draws per cell of expected_log_normalised: its estimate's variance is the
  // count noise's / kTruthDraws (about 3% of the noise a single cell's X carries).
  static constexpr int kTruthDraws = 32;

  Matrix loadings;             // genes x latent
  std::vector<double> offset;  // genes
  std::vector<double> nb_shape;    // genes
  std::vector<double> line_depth;  // cell lines (codes of obs cell_line)
  double library_size = 1500, library_sd = 0.35;
  double target_sum = 1e4;
  std::uint64_t seed = 0;      // the file's synth seed (names the truth's random streams)
  std::string latent_key;      // obsm key of every cell's latent state
  Matrix proportions(const Matrix& z) const;  // cells x genes
  // log1p(target_sum * p(z)): the log of the expected normalised counts. Not the expectation
  // of X (the log is concave and most genes have few counts).
  Matrix log_normalised(const Matrix& z) const;
  // E[X | z, cell line], the expected log-normalised expression of cells in latent states z
  // (rows) of cell lines `line`: the mean over kTruthDraws draws of the preset's library size
  // and counts, the draws of row i from the random stream `stream` + "/" + rows[i] (so the
  // result depends on the file row only, not on which other cells are asked for, nor on the
  // threads `parallel` runs the cells on).
  Matrix expected_log_normalised(const Matrix& z, const std::vector<std::int32_t>& line,
                                 const std::vector<std::int64_t>& rows, const std::string& stream,
                                 const ParallelFor& parallel = {}) const;
};

class SynthMaps {
 public:
  static constexpr const char* kFamily = "quadratic_softplus_gates";
  // scrna: the same maps act on latent states; the file's features are genes (SynthDecoder).
  static constexpr const char* kLatentFamily = "latent_nb_counts";
  static constexpr const char* kUnsRoot = "cellot_synth";

  // From uns contents (io::AnnData filled by read_h5ad or H5adReader::read_uns). InputError
  // naming `origin` when the ground truth is missing or malformed.
  SynthMaps(const io::AnnData& uns, const std::string& origin);
  static SynthMaps from_file(const std::string& path);
  static bool present(const io::AnnData& uns);

  bool has(const std::string& perturbation) const { return maps_.count(perturbation) > 0; }
  const std::vector<std::string>& perturbations() const { return order_; }
  const SynthMap& map(const std::string& perturbation) const;  // InputError when unknown
  Matrix apply(const std::string& perturbation, const Matrix& x) const { return map(perturbation).apply(x); }
  const std::string& preset() const { return preset_; }
  const std::string& family() const { return family_; }
  // Maps act on latent states (kLatentFamily), not on the file's features.
  bool latent() const { return decoder_ != nullptr; }
  const SynthDecoder& decoder() const;  // latent() only
  // The true response of cells in the file's features (of layer X): the map applied to the
  // cells' features (`features`), or, for latent maps, to their latent states (obsm rows
  // `rows` read through `reader`), decoded to the expected log-normalised expression E[X | T(z)]
  // of the cell's line (SynthDecoder::expected_log_normalised; the treated cell's library and
  // counts are fresh draws, as the preset's treated cells).
  Matrix truth(const std::string& perturbation, const Matrix& features, const std::vector<std::int64_t>& rows,
               const io::H5adReader& reader, const ParallelFor& parallel = {}) const;

 private:
  std::string origin_, preset_, family_;
  std::shared_ptr<const SynthDecoder> decoder_;
  std::map<std::string, SynthMap> maps_;
  std::vector<std::string> order_;
};

// Writes the scrna preset (SynthOptions::preset == "scrna") to `path`, streaming: memory ~ one
// block of cells plus obs, never cells x genes. Logs progress (rate, ETA) when `progress`.
// Returns the number of cells written.
std::int64_t write_synthetic_scrna(const SynthOptions& options, const std::string& path, bool progress);

// The true response T*(x) of perturbation `perturbation` for cells x (rows), from a file's uns.
Matrix true_map(const io::AnnData& uns, const std::string& perturbation, const Matrix& x);

// Writes the map parameters into `into`'s uns (used by make_synthetic; exposed for tests).
void store_map(io::AnnData& into, const std::string& perturbation, const SynthMap& map);

}  // namespace cellot::data
