#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_evaluate(int, char**, Runtime&) { throw NotImplemented("cellot evaluate is not built yet"); }

}  // namespace cellot::cli
