// Deliberate layering violation (tests/layers/layers.cmake): report reads stores; it may not
// use the training building blocks (nn, torch).
#include "cellot/nn/threads.hpp"
