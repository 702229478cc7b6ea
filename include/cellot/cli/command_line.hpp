#pragma once
// Shared parsing for subcommands: command-specific options, the generic flags (--help,
// --config, --quiet, --verbose) and every `section.key` config option. The command line wins
// over the config file; unknown options and keys are InputErrors (exit 2).
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/runtime.hpp"

namespace cellot::cli {

namespace po = boost::program_options;

struct CommandSpec {
  std::string name;         // "train"
  std::string usage;        // one line: "cellot train --data F.h5ad --perturbation P --out DIR"
  std::string description;  // a few lines for --help
  po::options_description options{"Options"};
  po::positional_options_description positional;
  bool uses_config = true;  // add the [section] options and --config
};

struct CommandLine {
  po::variables_map vm;
  std::string config_path;  // empty when no --config
  bool quiet = false;
  bool has(const std::string& key) const { return vm.count(key) > 0 && !vm[key].defaulted(); }
  template <class T>
  T get(const std::string& key) const { return vm[key].as<T>(); }
};

// Returns nullopt when --help was printed (the command then exits 0). Validates `cfg`.
std::optional<CommandLine> parse(CommandSpec& spec, int argc, char** argv, Config& cfg, const Runtime& rt);

// Requires an option; throws InputError("command line", "--name", "", "is required").
void require(const CommandLine& cl, const std::string& option);

using CommandFn = int (*)(int argc, char** argv, Runtime& rt);

struct CommandEntry {
  const char* name;
  const char* summary;
  CommandFn fn;
};

// The registry of subcommands (src/cli/commands.cpp).
const std::vector<CommandEntry>& commands();

// Entry point used by main(): dispatches, maps exceptions to exit codes.
int main(int argc, char** argv);

// Subcommands, one translation unit each (src/cli/cmd_<name>.cpp).
int cmd_synth(int argc, char** argv, Runtime& rt);
int cmd_describe(int argc, char** argv, Runtime& rt);
int cmd_train(int argc, char** argv, Runtime& rt);
int cmd_predict(int argc, char** argv, Runtime& rt);
int cmd_evaluate(int argc, char** argv, Runtime& rt);
int cmd_screen(int argc, char** argv, Runtime& rt);
int cmd_merge(int argc, char** argv, Runtime& rt);
int cmd_report(int argc, char** argv, Runtime& rt);
int cmd_inspect(int argc, char** argv, Runtime& rt);

}  // namespace cellot::cli
