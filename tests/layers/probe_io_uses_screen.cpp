// Deliberate layering violation (tests/layers/layers.cmake): io knows no scheduler.
#include "cellot/screen/plan.hpp"
