#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_screen(int, char**, Runtime&) { throw NotImplemented("cellot screen is not built yet"); }

}  // namespace cellot::cli
