// `cellot-torch`: every command, with the torch ones (train, predict, screen). The front end
// `cellot` hands those over to this executable; it can also be run directly.
#include "cellot/cli/command_line.hpp"

int main(int argc, char** argv) { return cellot::cli::main(argc, argv, cellot::cli::torch_command); }
