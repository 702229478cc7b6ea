#pragma once
// The dataset layer: one h5ad file, a condition key, a control label; per-perturbation loading
// of control and perturbed cells (row-selective, one perturbation at a time), optional 4i
// preprocessing, deterministic splits.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::data {

// Indices into one condition's cells (0..n-1 in file order of that condition).
struct Split {
  std::vector<std::int64_t> train, val, test;
};

// Split rule of DataConfig for one condition with n cells. Deterministic in (seed, key):
//  train_val_test: shuffled, test_fraction / val_fraction of the cells (rounded, at least one
//    cell each when n >= 3), the rest train; `strata` (optional, one label per cell) splits
//    each stratum separately so cell lines keep their ratio.
//  kfold: k folds of a shuffle; fold `fold` is test, the fold after it validation, the rest train.
//  holdout: cells whose holdout_key equals holdout_value are test (passed as `holdout_mask`),
//    the remaining ones split train/val by val_fraction.
Split make_split(std::int64_t n, const DataConfig& cfg, std::uint64_t seed, const std::string& key,
                 const std::vector<std::string>* strata = nullptr, const std::vector<char>* holdout_mask = nullptr);

// Cells of one (control, perturbation) pair with their splits.
struct PairData {
  std::string perturbation;
  std::vector<std::string> features;     // var_names
  Matrix control, treated;               // all cells of the two conditions (preprocessed)
  std::vector<std::int64_t> control_rows, treated_rows;  // rows in the file
  Split control_split, treated_split;
  io::DataFrame control_obs, treated_obs;  // obs rows of those cells
};

class Dataset {
 public:
  // Opens the file and checks the condition key, the control label and the perturbations named
  // in cfg (InputError naming file, key and value otherwise).
  Dataset(const DataConfig& cfg);

  const DataConfig& config() const { return cfg_; }
  const std::string& path() const { return cfg_.path; }
  std::vector<std::string> perturbations() const;  // selected by cfg.perturbations, file order
  std::vector<std::string> features() const;
  std::int64_t count(const std::string& condition) const;
  std::int64_t n_vars() const;
  const io::H5adReader& reader() const { return *reader_; }

  // Loads control and perturbed cells of `perturbation` and splits both with `seed` (the key
  // of each split is "<condition>" so control splits agree across perturbations).
  PairData load_pair(const std::string& perturbation, std::uint64_t seed) const;

  // Rows of a condition in the file.
  std::vector<std::int64_t> rows_of(const std::string& condition) const;

 private:
  DataConfig cfg_;
  std::shared_ptr<io::H5adReader> reader_;
  std::vector<std::string> conditions_;  // per cell
  std::vector<double> control_scale_;    // 4i: per-feature control 75th percentile
};

// 4i preprocessing of the paper: divide each feature by `scale` (its control 75th percentile),
// then log1p. Features whose scale is not positive are left divided by 1.
void preprocess_4i(Matrix& cells, const std::vector<double>& scale);
std::vector<double> percentile75(const Matrix& cells);

}  // namespace cellot::data
