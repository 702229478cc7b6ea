#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/dist/merge.hpp"

namespace cellot::cli {

int cmd_merge(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "merge";
  spec.usage = "cellot merge --out results.h5 shard-*.h5 [--allow-incomplete]";
  spec.description =
      "Combines the shard stores of one plan (cellot screen --shard i/n) into one store. Refuses stores of\n"
      "different plans, the same shard twice and a task done in two shards with different metrics; lists\n"
      "tasks no shard finished and exits 1 when the result is incomplete (unless --allow-incomplete).";
  spec.uses_config = false;
  spec.options.add_options()("out,o", po::value<std::string>(), "merged store to write")(
      "inputs", po::value<std::vector<std::string>>()->multitoken(), "shard stores")(
      "allow-incomplete", "exit 0 even when tasks are missing");
  spec.positional.add("inputs", -1);
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "out");
  require(*cl, "inputs");
  // Merging is serial I/O of small rows: rank 0 does it, other ranks (if any) only wait.
  int code = kExitOk;
  if (rt.world_rank() == 0) {
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "cellot ") + std::string(argv[i]);
    const auto inputs = cl->get<std::vector<std::string>>("inputs");
    const auto out = cl->get<std::string>("out");
    const auto r = dist::merge_stores(inputs, out, command);
    log::info("merged " + std::to_string(inputs.size()) + " stores into " + out + ": " + std::to_string(r.done) +
              " done, " + std::to_string(r.failed) + " failed/diverged, " + std::to_string(r.missing.size()) +
              " missing of " + std::to_string(r.tasks) + " tasks" +
              (r.duplicates ? " (" + std::to_string(r.duplicates) + " tasks done in several shards, identical)" : ""));
    if (!r.missing.empty()) {
      std::cerr << "missing tasks (" << r.missing.size() << "):\n";
      for (const auto& k : r.missing) std::cerr << "  " << k << "\n";
      if (!cl->has("allow-incomplete")) {
        std::cerr << "cellot: error: " << out << ": " << r.missing.size()
                  << " tasks are not finished in any shard (run the missing shards with --resume, or pass "
                     "--allow-incomplete)\n";
        code = kExitRuntime;
      }
    }
  }
  if (rt.world_size() > 1) MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return code;
}

}  // namespace cellot::cli
