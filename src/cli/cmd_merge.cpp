#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_merge(int, char**, Runtime&) { throw NotImplemented("cellot merge is not built yet"); }

}  // namespace cellot::cli
