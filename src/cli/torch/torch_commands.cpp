// The commands that train or run models (torch): linked only into the cellot-torch executable.
#include "cellot/cli/command_line.hpp"

namespace cellot::cli {

CommandFn torch_command(const std::string& name) {
  if (name == "train") return cmd_train;
  if (name == "predict") return cmd_predict;
  if (name == "screen") return cmd_screen;
  return nullptr;
}

}  // namespace cellot::cli
