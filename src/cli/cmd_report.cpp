#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_report(int, char**, Runtime&) { throw NotImplemented("cellot report is not built yet"); }

}  // namespace cellot::cli
