#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_synth(int, char**, Runtime&) { throw NotImplemented("cellot synth is not built yet"); }

}  // namespace cellot::cli
