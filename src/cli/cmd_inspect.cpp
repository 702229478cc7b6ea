#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_inspect(int, char**, Runtime&) { throw NotImplemented("cellot inspect is not built yet"); }

}  // namespace cellot::cli
