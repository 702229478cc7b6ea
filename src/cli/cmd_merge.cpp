#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/screen/merge.hpp"

namespace cellot::cli {

int cmd_merge(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "merge";
  spec.usage = "cellot merge --out results.h5 shard-*.h5 [--allow-incomplete] [--allow-duplicates]";
  spec.description =
      "Combines the shard stores of one plan (cellot screen --shard i/n) into one store. Refuses stores of\n"
      "different plans or layouts, the same shard twice, and a task done in two inputs (with\n"
      "--allow-duplicates: unless the two rows are bit-identical in metrics, curves, parameters and\n"
      "predictions). A task done in one input and failed in another keeps the done row (listed). Lists\n"
      "the tasks no input finished and exits 1 when the result is incomplete; --allow-incomplete writes\n"
      "the store, exits 0 and also skips inputs that are not readable stores (listed). The inputs' run\n"
      "history and git hashes are kept in the merged store's provenance (cellot inspect).";
  spec.uses_config = false;
  spec.options.add_options()("out,o", po::value<std::string>(), "merged store to write")(
      "inputs", po::value<std::vector<std::string>>()->multitoken(), "shard stores")(
      "allow-incomplete", "exit 0 even when tasks are missing; skip inputs that are not readable stores")(
      "allow-duplicates", "accept a task done in two inputs when both rows are bit-identical");
  spec.positional.add("inputs", -1);
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "out");
  require(*cl, "inputs");
  // Before any input is read: the merged store is written beside --out and renamed onto it.
  check_output_file(cl->get<std::string>("out"), "--out");
  // Merging is serial I/O of small rows: rank 0 does it, other ranks (if any) only wait.
  int code = kExitOk;
  if (rt.world_rank() == 0) {
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "cellot ") + std::string(argv[i]);
    const auto inputs = cl->get<std::vector<std::string>>("inputs");
    const auto out = cl->get<std::string>("out");
    screen::MergeOptions options;
    options.allow_incomplete = cl->has("allow-incomplete");
    options.allow_duplicates = cl->has("allow-duplicates");
    const auto r = screen::merge_stores(inputs, out, command, options);
    log::info("merged " + std::to_string(inputs.size() - r.skipped.size()) + " stores into " + out + ": " +
              std::to_string(r.done) + " done, " + std::to_string(r.failed) + " failed/diverged, " +
              std::to_string(r.missing.size()) + " missing of " + std::to_string(r.tasks) + " tasks" +
              (r.duplicates ? " (" + std::to_string(r.duplicates) + " tasks done in several inputs, identical)" : ""));
    auto list = [](const std::string& title, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      std::cerr << title << " (" << keys.size() << "):\n";
      for (const auto& k : keys) std::cerr << "  " << k << "\n";
    };
    list("skipped inputs, not readable stores", r.skipped);
    list("done in one input and failed in another (the done row is kept)", r.done_over_failed);
    list("failed in several inputs (the first row is kept)", r.failed_twice);
    list("done flags with a corrupt row (left out, counted missing)", r.corrupt);
    if (r.git_hashes.size() > 1) {
      std::string hashes;
      for (const auto& g : r.git_hashes) hashes += (hashes.empty() ? "" : ", ") + g;
      log::warn("merge: the inputs were written by " + std::to_string(r.git_hashes.size()) +
                " different builds (git " + hashes + "); recorded as mixed_git_hashes in " + out);
    }
    if (!r.missing.empty()) {
      std::cerr << "missing tasks (" << r.missing.size() << "):\n";
      for (const auto& k : r.missing) std::cerr << "  " << k << "\n";
      if (!cl->has("allow-incomplete")) {
        std::cerr << "cellot: error: " << out << ": " << r.missing.size()
                  << " tasks are not finished in any shard (run the missing shards with --resume, or pass "
                     "--allow-incomplete)\n";
        code = kExitRuntime;
      } else {
        log::warn("merge: " + out + " is incomplete: " + std::to_string(r.missing.size()) + " of " +
                  std::to_string(r.tasks) + " tasks missing (--allow-incomplete); cellot report lists them");
      }
    }
  }
  // Bound: rank 0 merges (finite file work) and then broadcasts the exit code; an exception on rank 0 aborts
  // the job (cli/commands.cpp fail()).
  if (rt.has_mpi() && rt.world_size() > 1) MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return code;
}

}  // namespace cellot::cli
