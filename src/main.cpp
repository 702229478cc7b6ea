// `cellot`: the front end. Commands that train or run models continue in cellot-torch.
#include "cellot/cli/command_line.hpp"

int main(int argc, char** argv) { return cellot::cli::main(argc, argv, nullptr); }
