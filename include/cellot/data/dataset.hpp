#pragma once
// The dataset layer: one h5ad file, a condition key, a control label; per-perturbation loading
// of control and perturbed cells (row-selective, one perturbation at a time), optional 4i
// preprocessing, deterministic splits.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::data {

// Indices into one condition's cells (0..n-1 in file order of that condition).
struct Split {
  std::vector<std::int64_t> train, val, test;
  // holdout only: cells of the groups the model trains on that it never sees (in-distribution
  // test cells, beside `test`, the held-out group); empty for the other rules.
  std::vector<std::int64_t> iid;
};

// Split rule of DataConfig for one condition with n cells. Deterministic in (seed, key) and the
// rule's parameters only (a portable generator: the same on every machine and world size).
// Index lists are sorted.
//  train_val_test: round(test_fraction * n) test and round(val_fraction * n) validation cells
//    (at least one each when n >= 3 and the fraction > 0; at least one train cell), drawn from
//    a shuffle; the rest train. With `strata` (one label per cell, e.g. the cell line) the test
//    and validation counts are apportioned over the strata (largest remainder), so every
//    stratum keeps its share in each part.
//  kfold: cells (shuffled within each stratum, strata concatenated) are dealt round-robin into
//    cfg.folds folds, so fold sizes differ by at most one and strata spread evenly; fold
//    cfg.fold is test, fold (fold + 1) % k validation, the rest train. With k = 2 there is no
//    third fold: validation is round(val_fraction * n) cells of the non-test fold. The shuffle
//    does not depend on cfg.fold, so the test folds of 0..k-1 partition the cells.
//  holdout: cells with holdout_mask[i] != 0 are test (out of distribution); of the others,
//    round(test_fraction * m) are `iid` (in-distribution test cells) and round(val_fraction * m)
//    validation (stratified as above; at least one train cell), the rest train.
Split make_split(std::int64_t n, const DataConfig& cfg, std::uint64_t seed, const std::string& key,
                 const std::vector<std::string>* strata = nullptr, const std::vector<char>* holdout_mask = nullptr);

// Cells of one (control, perturbation) pair with their splits.
struct PairData {
  std::string perturbation;
  std::vector<std::string> features;     // var_names (embedding names when loaded through a transform)
  // All cells of the two conditions (preprocessed; in the transform's embedding space, not yet
  // standardised, when loaded through one).
  Matrix control, treated;
  std::vector<std::int64_t> control_rows, treated_rows;  // rows in the file
  Split control_split, treated_split;
  io::DataFrame control_obs, treated_obs;  // obs rows of those cells
};

// data.holdout_value = each: a screen runs one fold per value of data.holdout_key (fold f holds
// out the f-th value in file order); a single Dataset must be given one value.
inline constexpr const char* kHoldoutEach = "each";

struct ConditionCount {
  std::string name;
  std::int64_t cells = 0;
};

class Dataset {
 public:
  // Opens the file (with the MPI-IO driver when `comm` is given: collective over comm) and
  // checks the condition key, the control label, the perturbations named in cfg, and the
  // stratify / holdout keys (InputError naming file, key and value otherwise). With
  // preprocess = 4i, reads all control cells once for the per-feature scales.
  explicit Dataset(const DataConfig& cfg, MPI_Comm comm = MPI_COMM_NULL);

  const DataConfig& config() const { return cfg_; }
  const std::string& path() const { return cfg_.path; }
  // Selected by cfg.perturbations: "all" = every non-control condition with cells, in file
  // order of first appearance; else the comma list as given (each checked to have cells).
  std::vector<std::string> perturbations() const;
  std::vector<std::string> features() const;
  std::int64_t count(const std::string& condition) const;  // 0 for an unknown condition
  std::int64_t n_obs() const;
  std::int64_t n_vars() const;
  // Every condition with its cell count: those with cells in file order of first appearance,
  // then categories of a categorical condition column that have no cells.
  std::vector<ConditionCount> conditions() const;
  const io::H5adReader& reader() const { return *reader_; }
  // Per-feature control 75th percentiles (empty unless preprocess = 4i).
  const std::vector<double>& control_scale() const { return control_scale_; }

  // Loads control and perturbed cells of `perturbation` and splits both with `seed` (the key
  // of each split is "<condition>" so control splits agree across perturbations). Reads only
  // the rows of the two conditions. InputError for an unknown perturbation, one without
  // cells, or the control label. With `transform` the cells are embedded by it (it must outlive
  // the Dataset's use: the control cells are cached per transform). `control_cells`, when
  // given, are the control cells already loaded through `transform` (the rows of
  // rows_of(control), in that order; e.g. embedded once for a whole screen by embed_together,
  // data/embedding.hpp): they are not read again.
  PairData load_pair(const std::string& perturbation, std::uint64_t seed, const FeatureTransform* transform = nullptr,
                     const Matrix* control_cells = nullptr) const;

  // Rows of a condition in the file (InputError when it has no cells).
  std::vector<std::int64_t> rows_of(const std::string& condition) const;
  // Rows of X with the configured preprocessing applied.
  Matrix load_rows(const std::vector<std::int64_t>& rows) const;
  // How many rows of X load_rows has read so far, and how many of them were control cells.
  std::int64_t rows_read() const { return rows_read_; }
  std::int64_t control_rows_read() const { return control_rows_read_; }
  // Distinct values of data.holdout_key in file order of first appearance (every cell).
  std::vector<std::string> holdout_values() const;
  // The split of one condition's cells (as load_pair makes it).
  Split split_of(const std::string& condition, std::uint64_t seed) const;

 private:
  void check_condition(const std::string& condition, const std::string& key) const;

  DataConfig cfg_;
  std::shared_ptr<io::H5adReader> reader_;
  std::vector<std::string> conditions_;  // per cell ("" = missing)
  std::vector<ConditionCount> counts_;   // as conditions()
  std::vector<double> control_scale_;    // 4i: per-feature control 75th percentile
  // The control cells (rows, preprocessed matrix, obs) of the last load_pair: every task of a
  // screen pairs the same controls with its perturbation, so a rank reads them once.
  struct ControlCells {
    const FeatureTransform* transform = nullptr;
    std::vector<std::int64_t> rows;
    Matrix x;
    io::DataFrame obs;
  };
  mutable std::shared_ptr<const ControlCells> control_cache_;
  mutable std::int64_t rows_read_ = 0, control_rows_read_ = 0;
};

// 4i preprocessing (CellOT's 4i setting): divide each feature by `scale` (its 75th percentile
// over ALL control cells, numpy's default linear interpolation), then log1p. Features whose
// scale is not positive are divided by 1. A value below -scale has no log1p: InputError naming
// `origin` (the file) and the feature.
void preprocess_4i(Matrix& cells, const std::vector<double>& scale, const std::string& origin = "data",
                   const std::vector<std::string>& features = {});
// Per-column 75th percentile with numpy's default ('linear') interpolation.
std::vector<double> percentile75(const Matrix& cells);
double percentile(std::vector<double> values, double q);  // q in [0, 1], numpy 'linear'

// Feature names of two files must agree (same names, same order): InputError naming path_b, the
// key var_names and the first differing name otherwise. Used by evaluate (data vs predictions).
void check_same_features(const io::DataFrame& var_a, const std::string& path_a, const io::DataFrame& var_b,
                         const std::string& path_b);

}  // namespace cellot::data
