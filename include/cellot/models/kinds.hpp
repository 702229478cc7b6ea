#pragma once
// The model registry's traits (torch-free: the front end registers them too). Adding a model:
// its files under models/, one entry here (src/models/kinds.cpp) and its factory in
// src/models/model_registry.cpp. No other layer names it.
#include <vector>

#include "cellot/core/model_kinds.hpp"

namespace cellot::models {

std::vector<ModelKind> kinds();

}  // namespace cellot::models
