#pragma once
// The data file opened once per fold value (kfold folds are different test folds of one
// shuffle; the Dataset keeps the fold in its config).
#include <map>
#include <memory>

#include "cellot/core/config.hpp"
#include "cellot/data/dataset.hpp"

namespace cellot::screen::detail {

class DataCache {
 public:
  explicit DataCache(const Config& cfg) : cfg_(cfg) {}
  const data::Dataset& get(int fold) {
    const int key = cfg_.data.split == "kfold" ? fold : 0;
    auto it = by_fold_.find(key);
    if (it == by_fold_.end()) {
      DataConfig d = cfg_.data;
      if (cfg_.data.split == "kfold") d.fold = fold;
      it = by_fold_.emplace(key, std::make_unique<data::Dataset>(d)).first;
    }
    return *it->second;
  }

 private:
  const Config& cfg_;
  std::map<int, std::unique_ptr<data::Dataset>> by_fold_;
};

}  // namespace cellot::screen::detail
