#pragma once
// Shared parsing for subcommands: command-specific options, the generic flags (--help,
// --config, --quiet, --verbose) and every `section.key` config option. The command line wins
// over the config file; unknown options and keys are InputErrors (exit 2).
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <set>
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
  // Options given on the command line (names without dashes, e.g. "training.iters"); a command
  // that maps its own option onto a config key (train's --model -> model.name) adds the key.
  std::set<std::string> on_command_line;
  std::vector<std::string> args;  // the command's arguments as given (args[0]: the command)
  // Given on the command line or in the config file (not a default).
  bool has(const std::string& key) const { return vm.count(key) > 0 && !vm[key].defaulted(); }
  bool given_on_command_line(const std::string& key) const { return on_command_line.count(key) > 0; }
  template <class T>
  T get(const std::string& key) const { return vm[key].as<T>(); }
  // The value typed for `option` ("--name" or "-n"; "--name value", "--name=value"), "" if absent.
  std::string token(const std::string& option) const;
  // Where config key `key` got its value: "command line", the config file's path, or "default".
  std::string origin_of(const std::string& key) const;
  // Runs `check` (a validation of the resolved config) and re-raises its InputErrors whose
  // location is generic (`origin` as passed to check, or "config" as models and trainers name
  // it) under the origin of their key, so a bad --section.key value given beside --config is
  // blamed on the command line, not on the file. The key reads "--section.key" for the command
  // line. Other errors pass through unchanged.
  void with_origins(const std::function<void(const std::string& origin)>& check) const;
};

// Returns nullopt when --help was printed (the command then exits 0). Validates `cfg`.
std::optional<CommandLine> parse(CommandSpec& spec, int argc, char** argv, Config& cfg, const Runtime& rt);

// Requires an option; throws InputError("command line", "--name", "", "is required").
void require(const CommandLine& cl, const std::string& option);

// An output file's directory must exist and be writable, and the name must be a file name (not
// a directory): InputError from `where` naming `option` (exit 2) otherwise, checked before any
// work instead of failing in the writer (exit 1).
void check_output_file(const std::string& path, const std::string& option, const std::string& where = "command line");

using CommandFn = int (*)(int argc, char** argv, Runtime& rt);

// What a command needs from the process before it runs.
enum class Needs {
  files,    // files only: MPI only under a launcher, no Kokkos, no torch
  metrics,  // Kokkos (metrics) as well; MPI only under a launcher
  torch,    // torch and MPI: runs in the cellot-torch executable
};

struct CommandEntry {
  const char* name;
  const char* summary;
  Needs needs;
  CommandFn fn;  // nullptr in the front end for Needs::torch (see main below)
};

// The registry of subcommands (src/cli/commands.cpp). The torch commands' functions are looked
// up by torch_command (src/cli/torch/torch_commands.cpp), linked only into cellot-torch.
const std::vector<CommandEntry>& commands();
CommandFn torch_command(const std::string& name);

// Entry point of both executables: dispatches, maps exceptions to exit codes. The front end
// (`cellot`) passes no `torch_lookup` and never loads libtorch: it runs a Needs::torch command
// by replacing itself (execv, same arguments and environment, before MPI starts) with the
// cellot-torch executable next to it. cellot-torch passes torch_command.
int main(int argc, char** argv, CommandFn (*torch_lookup)(const std::string& name));

// Subcommands, one translation unit each (src/cli/cmd_<name>.cpp; train, predict and screen in
// src/cli/torch/).
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
