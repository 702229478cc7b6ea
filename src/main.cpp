#include "cellot/cli/command_line.hpp"

int main(int argc, char** argv) { return cellot::cli::main(argc, argv); }
