#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"

namespace cellot::cli {

int cmd_predict(int, char**, Runtime&) { throw NotImplemented("cellot predict is not built yet"); }

}  // namespace cellot::cli
