#pragma once
// The observed baseline: real perturbed cells of the TEST split stand in for predictions, so
// its metric values are the floor that sampling noise allows (two finite samples of the same
// distribution are never at distance 0). To be honest that floor must compare two DISJOINT
// sets of cells, hence the halves:
//
//   ObservedHalves h = observed_halves(treated_test, seed);
//   h.prediction  -> what the model "predicts" (Model::predict draws from it)
//   h.reference   -> what the evaluation compares against, INSTEAD of all treated test cells
//
// The split is a permutation of the treated test rows drawn from Rng(seed, "observed:halves"):
// prediction = the first floor(n/2) permuted rows, reference = the remaining ceil(n/2) rows
// (each half in permutation order; the row indices are returned too). The seed is the task's
// TrainContext::seed, so the model (which calls this in train()) and the evaluation (which
// calls it again for the reference half) agree without passing anything else around.
//
// How the batch system uses it: fill TrainInput::target_test with the perturbed test cells,
// train the "observed" model like any other, predict the test controls as usual, and for this
// model compute the metrics against observed_halves(target_test, ctx.seed).reference. Paired
// metrics (spearman_pair, uvp) have no meaning for it: predicted rows are not maps of the
// control rows they sit next to.
//
// Model::predict(source, t): row i of the result is prediction-half row (i mod P), P = number
// of prediction rows: the first `source.rows` rows of the (already randomly ordered) half when
// source.rows <= P — a uniform subsample without replacement —, the half repeated in the same
// order (then truncated) when more rows are asked for. Deterministic; `t` is ignored (there is
// no map to interpolate). Parameters: "pool" [P, n_features] = the prediction half (float32),
// so a reloaded model predicts identically.
#include <cstdint>
#include <vector>

#include "cellot/models/model.hpp"

namespace cellot::models {

struct ObservedHalves {
  Matrix prediction, reference;
  std::vector<std::int64_t> prediction_rows, reference_rows;  // rows of treated_test
};

// Disjoint halves of `treated_test` (see above). InputError when it has fewer than 2 rows.
ObservedHalves observed_halves(const Matrix& treated_test, std::uint64_t seed);

class ObservedModel final : public Model {
 public:
  explicit ObservedModel(std::int64_t n_features);
  std::string name() const override { return "observed"; }
  // Keeps observed_halves(input.target_test, ctx.seed).prediction (float32) as the pool.
  void train(const TrainInput& input, const TrainContext& ctx) override;
  Matrix predict(const Matrix& source, double t = 1.0) const override;
  std::vector<NamedTensor> parameters() const override;
  void set_parameters(const std::vector<NamedTensor>& params) override;
  std::int64_t pool_rows() const { return pool_rows_; }

 private:
  std::int64_t n_features_;
  std::int64_t pool_rows_ = 0;
  std::vector<float> pool_;
};

std::unique_ptr<Model> make_observed(const Config& cfg, std::int64_t n_features);

}  // namespace cellot::models
