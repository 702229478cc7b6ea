#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_train(int, char**, Runtime&) { throw NotImplemented("cellot train is not built yet"); }

}  // namespace cellot::cli
