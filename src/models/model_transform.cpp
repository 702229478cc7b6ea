// Which feature transform a model works through (models/model.hpp).
#include "cellot/core/model_kinds.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

data::FeatureTransform model_transform(const data::FeatureTransform& split, const std::string& model) {
  return model_kind(model).floor ? split.unscaled() : split;
}

}  // namespace cellot::models
