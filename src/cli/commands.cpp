#include <chrono>
#include <iostream>
#include <thread>
#include <string>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/version.hpp"

namespace cellot::cli {

const std::vector<CommandEntry>& commands() {
  static const std::vector<CommandEntry> table = {
      {"synth", "synthetic data with known ground-truth responses", cmd_synth},
      {"describe", "shape, X encoding and conditions of an .h5ad file, validated", cmd_describe},
      {"train", "train one model for one perturbation", cmd_train},
      {"predict", "map control cells (or all cells) through a trained model", cmd_predict},
      {"evaluate", "metrics of predictions against observed perturbed cells", cmd_evaluate},
      {"screen", "the batch system: perturbations x folds x seeds x models (under mpiexec/srun)", cmd_screen},
      {"merge", "combine shard stores into one", cmd_merge},
      {"report", "benchmark tables from a store (md, csv, tex)", cmd_report},
      {"inspect", "done, failed and pending tasks of a store, with provenance", cmd_inspect},
  };
  return table;
}

namespace {

void print_usage(std::ostream& os) {
  os << "cellot " << version_string() << " - neural optimal transport for single-cell perturbation screens\n\n"
     << "usage: cellot <command> [options]   (cellot <command> --help for details)\n\ncommands:\n";
  for (const auto& c : commands()) {
    std::string name = c.name;
    name.resize(10, ' ');
    os << "  " << name << c.summary << "\n";
  }
}

// With several ranks, an error caught on one rank may leave the others inside a collective:
// abort the job rather than hang it. A single rank exits normally with the code.
// Input errors are usually seen by every rank alike: rank 0 reports at once and aborts the job,
// which ends the others before their (identical) line. A rank that fails alone still reports,
// after a short grace period, so no error is ever silent.
int fail(const Runtime& rt, int code, const std::string& message) {
  if (rt.world_size() > 1 && rt.world_rank() != 0 && code == kExitInput)
    std::this_thread::sleep_for(std::chrono::seconds(2));
  std::cerr << "cellot: error: " << message << std::endl;
  if (rt.world_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_usage(std::cout);
    return argc < 2 ? kExitInput : kExitOk;
  }
  if (std::string(argv[1]) == "--version") {
    std::cout << "cellot " << version_string() << "\n";
    return kExitOk;
  }
  const std::string name = argv[1];
  const CommandEntry* entry = nullptr;
  for (const auto& c : commands())
    if (name == c.name) entry = &c;
  if (!entry) {
    std::cerr << "cellot: error: command line: command = '" << name << "': unknown command (see cellot --help)\n";
    return kExitInput;
  }
  try {
    Runtime rt(argc, argv);
    try {
      return entry->fn(argc - 1, argv + 1, rt);
    } catch (const InputError& e) {
      return fail(rt, kExitInput, e.what());
    } catch (const NotImplemented& e) {
      return fail(rt, kExitInput, e.what());
    } catch (const InternalError& e) {
      return fail(rt, kExitRuntime, e.what());
    } catch (const std::exception& e) {
      return fail(rt, kExitRuntime, e.what());
    }
  } catch (const std::exception& e) {
    std::cerr << "cellot: error: " << e.what() << std::endl;
    return kExitRuntime;
  }
}

}  // namespace cellot::cli
