#pragma once
// Early stopping on the validation metric (training.patience, training.min_iters).
//
// The trainers evaluate a validation value every eval_every steps and keep the iterate with the
// lowest one. Early stopping ends training after `patience` evaluations in a row that did not
// set a new best (strictly lower), once at least min_iters steps are done. The result is still
// the best evaluated iterate, so stopping only skips steps after which, for `patience`
// evaluations, nothing better was found. The decision reads nothing but the validation values,
// which the trainers compute identically on every rank of a group from (config, data, seed):
// the step at which a task stops is as deterministic as its numbers.
//
// Evaluations without a finite value (no validation split) neither count nor stop training.
// A resumed trainer replays its curve rows through record() to restore the count.
#include <cstdint>

namespace cellot::nn {

class EarlyStop {
 public:
  EarlyStop() = default;
  EarlyStop(std::int64_t patience, std::int64_t min_iters) : patience_(patience), min_iters_(min_iters) {}

  bool enabled() const { return patience_ > 0; }
  std::int64_t patience() const { return patience_; }
  std::int64_t min_iters() const { return min_iters_; }
  // Evaluations with a finite value since the last new best.
  std::int64_t since_best() const { return since_best_; }

  // Records the evaluation after `step` steps; `finite` when it produced a value, `improved`
  // when that value is the new best. True when training should stop now.
  bool record(std::int64_t step, bool finite, bool improved) {
    if (!finite) return false;
    since_best_ = improved ? 0 : since_best_ + 1;
    return patience_ > 0 && step >= min_iters_ && since_best_ >= patience_;
  }

 private:
  std::int64_t patience_ = 0, min_iters_ = 0;
  std::int64_t since_best_ = 0;
};

}  // namespace cellot::nn
