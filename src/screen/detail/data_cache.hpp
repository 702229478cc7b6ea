#pragma once
// The data file opened once per fold value (kfold folds are different test folds of one
// shuffle; the Dataset keeps the fold in its config; with data.holdout_value = each, fold f holds
// out the f-th value of data.holdout_key in file order).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/config.hpp"
#include "cellot/data/dataset.hpp"

namespace cellot::screen::detail {

class DataCache {
 public:
  explicit DataCache(const Config& cfg) : cfg_(cfg) {}
  const data::Dataset& get(int fold) {
    const bool each = cfg_.data.split == "holdout" && cfg_.data.holdout_value == data::kHoldoutEach;
    const int key = (cfg_.data.split == "kfold" || each) ? fold : 0;
    auto it = by_fold_.find(key);
    if (it == by_fold_.end()) {
      DataConfig d = cfg_.data;
      if (cfg_.data.split == "kfold") d.fold = fold;
      if (each) {
        const auto& values = holdout_values();
        if (fold < 0 || static_cast<std::size_t>(fold) >= values.size())
          throw InputError("config", "screen.folds", std::to_string(fold),
                           "fold beyond the " + std::to_string(values.size()) + " values of data.holdout_key");
        d.holdout_value = values[static_cast<std::size_t>(fold)];
      }
      it = by_fold_.emplace(key, std::make_unique<data::Dataset>(d)).first;
    }
    return *it->second;
  }
  // Rows of the data file read so far by the opened folds' datasets: {all, control cells}.
  std::pair<std::int64_t, std::int64_t> rows_read() const {
    std::pair<std::int64_t, std::int64_t> n{0, 0};
    for (const auto& [fold, ds] : by_fold_) {
      n.first += ds->rows_read();
      n.second += ds->control_rows_read();
    }
    return n;
  }
  // Values of data.holdout_key in file order (read once, from the file with value "each").
  const std::vector<std::string>& holdout_values() {
    if (!values_read_) {
      values_ = data::Dataset(cfg_.data).holdout_values();
      values_read_ = true;
    }
    return values_;
  }

 private:
  const Config& cfg_;
  std::map<int, std::unique_ptr<data::Dataset>> by_fold_;
  std::vector<std::string> values_;
  bool values_read_ = false;
};

}  // namespace cellot::screen::detail
