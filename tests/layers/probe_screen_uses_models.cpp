// Deliberate violation (tests/layers/layers.cmake): the screen layer's torch-free part (the library
// cellot_screen, CMakeLists.txt) may not use models, so this include must not resolve in its build
// (the screen run, cellot_screen_run, may).
#include "cellot/models/model.hpp"
