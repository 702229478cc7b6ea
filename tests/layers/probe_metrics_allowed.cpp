// The control of the layering test: an allowed include (metrics -> core, data) builds in the
// same setting as the violations, so their failure is the layering's, not the probe's.
#include "cellot/core/error.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/metrics/metrics.hpp"

int cellot_layer_probe() { return 0; }
