#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/version.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/models/kinds.hpp"

namespace cellot::cli {

const std::vector<CommandEntry>& commands() {
  static const std::vector<CommandEntry> table = {
      {"synth", "synthetic data with known ground-truth responses", Needs::files, cmd_synth},
      {"describe", "shape, X encoding and conditions of an .h5ad file, validated", Needs::files, cmd_describe},
      {"train", "train one model for one perturbation", Needs::torch, nullptr},
      {"predict", "map control cells (or all cells) through a trained model", Needs::torch, nullptr},
      {"evaluate", "metrics of predictions against observed perturbed cells", Needs::metrics, cmd_evaluate},
      {"screen", "the batch system: perturbations x folds x seeds x models (under mpiexec/srun)", Needs::torch,
       nullptr},
      {"merge", "combine shard stores into one", Needs::files, cmd_merge},
      {"report", "benchmark tables from a store (md, csv, tex)", Needs::files, cmd_report},
      {"inspect", "done, failed and pending tasks of a store, with provenance", Needs::files, cmd_inspect},
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
// A file HDF5 could not close (its metadata could not be written: a full disk, a lost file
// system) would be closed again by the library's clean-up inside MPI_Finalize, which crashes or
// loops: the process then ends without that clean-up. On disk the file is as after a kill, which
// the store survives (its rows and done flags were flushed; --resume continues).
// The line goes out in one write: with several ranks on one stderr (mpirun), two ranks that fail
// together (a lost lease) printed "cellot: error: cellot: error: ..." when each piece of the line
// was its own write.
void print_error_line(const std::string& message) {
  const std::string line = "cellot: error: " + message + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

int fail(const Runtime& rt, int code, const std::string& message) {
  if (rt.world_size() > 1 && rt.world_rank() != 0 && code == kExitInput)
    std::this_thread::sleep_for(std::chrono::seconds(2));
  print_error_line(message);
  if (rt.world_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  if (io::h5::files_left_open()) {
    std::cout.flush();
    std::_Exit(code);
  }
  return code;
}

bool asks_for_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") return true;
  return false;
}

// The front end's hand-over: cellot-torch next to this executable (/proc/self/exe), with the
// same arguments. Returns only on failure.
int exec_torch(char** argv) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "cellot: error: /proc/self/exe: cannot locate this executable: " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  std::string path(self, static_cast<std::size_t>(n));
  path = path.substr(0, path.find_last_of('/') + 1) + "cellot-torch";
  argv[0] = path.data();
  ::execv(path.c_str(), argv);
  std::cerr << "cellot: error: " << path << ": cannot run the executable of the training commands: "
            << std::strerror(errno) << " (it is built and installed next to cellot)\n";
  return kExitRuntime;
}

}  // namespace

int main(int argc, char** argv, CommandFn (*torch_lookup)(const std::string& name)) {
  register_model_kinds(models::kinds());
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
  CommandFn fn = entry->fn;
  if (entry->needs == Needs::torch) {
    if (!torch_lookup) return exec_torch(argv);
    fn = torch_lookup(name);
  }
  if (!fn) {
    std::cerr << "cellot: error: command line: command = '" << name << "': not available in this executable\n";
    return kExitRuntime;
  }
  try {
    // MPI when a launcher started us or the command trains (help never needs it); Kokkos for
    // the commands that compute metrics (training selects its iterate by one).
    const bool mpi = entry->needs == Needs::torch && !asks_for_help(argc, argv);
    Runtime rt(argc, argv, mpi ? Mpi::required : Mpi::if_launched);
    io::h5::silence_library_errors();  // errors are reported as one line each, reason included
    std::optional<metrics::KokkosScope> kokkos;
    if (entry->needs != Needs::files) kokkos.emplace();
    try {
      return fn(argc - 1, argv + 1, rt);
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
    print_error_line(e.what());
    return kExitRuntime;
  }
}

}  // namespace cellot::cli
