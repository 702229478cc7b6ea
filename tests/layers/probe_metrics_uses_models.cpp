// Deliberate layering violation (tests/layers/layers.cmake): metrics may not use models, so this
// include must not resolve in the metrics layer's build.
#include "cellot/models/model.hpp"
