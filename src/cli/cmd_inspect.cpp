#include <cstdio>
#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/io/store.hpp"

namespace cellot::cli {

namespace {

// The provenance attributes, host names, history lines and merge sources.
void print_provenance(std::ostream& os, const io::StoreSummary& s) {
  os << "provenance:\n";
  for (const auto& [k, v] : s.provenance) {
    if (k == "library_versions") {
      os << "  library_versions:\n";
      std::string line;
      for (char c : v) {
        if (c == '\n') {
          os << "    " << line << "\n";
          line.clear();
        } else {
          line += c;
        }
      }
      if (!line.empty()) os << "    " << line << "\n";
    } else {
      os << "  " << k << ": " << v << "\n";
    }
  }
  if (!s.hostnames.empty()) {
    os << "  hostnames:";
    for (const auto& h : s.hostnames) os << " " << h;
    os << "\n";
  }
  for (const auto& h : s.history) os << "  run: " << h << "\n";
  for (const auto& m : s.merged_from) os << "  merged from: " << m << "\n";
}

}  // namespace

int cmd_inspect(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "inspect";
  spec.usage = "cellot inspect --store results.h5 [--state done|failed|pending|all]";
  spec.description =
      "What a store holds: the plan, counts per state, failed and diverged tasks with their messages,\n"
      "pending tasks, done tasks (wall time, host, finish time) and the provenance of every run.\n"
      "A done flag whose row checksum does not match is listed as 'done (corrupt row)' and counts as pending.";
  spec.uses_config = false;
  spec.options.add_options()("store,s", po::value<std::string>(), "results store")(
      "state", po::value<std::string>()->default_value("all"), "list only tasks in this state");
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  require(*cl, "store");
  if (rt.world_rank() != 0) return kExitOk;
  const auto which = cl->get<std::string>("state");
  if (which != "all" && which != "done" && which != "failed" && which != "pending")
    throw InputError("command line", "--state", which, "must be one of done|failed|pending|all");
  io::Store store = io::Store::open(cl->get<std::string>("store"), MPI_COMM_NULL, false);
  const io::StoreSummary s = store.summary();
  const auto& spec_ = s.spec;
  std::ostream& os = std::cout;

  std::int64_t done = 0, failed = 0, diverged = 0, running = 0, pending = 0, corrupt = 0, owned = 0;
  std::vector<std::size_t> l_done, l_failed, l_pending;
  for (std::size_t t = 0; t < s.state.size(); ++t) {
    const bool mine = spec_.owned.empty() || spec_.owned[t];
    if (mine) ++owned;
    const auto st = s.state[t];
    const bool final = st == io::TaskState::done || st == io::TaskState::failed || st == io::TaskState::diverged;
    if (final && !s.trusted[t]) {
      ++corrupt;
      if (mine) l_pending.push_back(t);
      continue;
    }
    switch (st) {
      case io::TaskState::done:
        ++done;
        l_done.push_back(t);
        break;
      case io::TaskState::failed:
        ++failed;
        l_failed.push_back(t);
        break;
      case io::TaskState::diverged:
        ++diverged;
        l_failed.push_back(t);
        break;
      case io::TaskState::running:
        ++running;
        if (mine) l_pending.push_back(t);
        break;
      case io::TaskState::pending:
        ++pending;
        if (mine) l_pending.push_back(t);
        break;
    }
  }
  os << "store: " << s.path << "\n";
  os << "plan: " << spec_.plan_hash << ", " << spec_.size() << " tasks = " << spec_.perturbations.size()
     << " perturbations x " << spec_.models.size() << " models (";
  for (std::size_t i = 0; i < spec_.models.size(); ++i) os << (i ? ", " : "") << spec_.models[i];
  os << ") x " << spec_.folds.size() << " folds x " << spec_.seeds.size() << " seeds; " << spec_.metric_names.size()
     << " metrics\n";
  os << "split: " << spec_.split_rule << "\n";
  os << "checksum: " << hash_scheme_name(spec_.hash)
     << (spec_.hash == HashScheme::legacy
             ? " (a store written before XXH3: FNV-1a-64 row checksums and the earlier data fingerprint, kept)\n"
             : " (row checksums and data fingerprint)\n");
  if (!spec_.shard.empty()) os << "shard: " << spec_.shard << " (owns " << owned << " tasks)\n";
  os << "state: done " << done << ", failed " << failed << ", diverged " << diverged << ", running " << running
     << " (stale unless a job is writing the store), pending " << pending;
  if (corrupt) os << ", done flag with a corrupt row " << corrupt << " (rerun by --resume)";
  os << "\n";
  print_provenance(os, s);

  char buf[64];
  if (which == "all" || which == "failed") {
    os << "failed (" << l_failed.size() << "):\n";
    for (auto t : l_failed)
      os << "  " << spec_.tasks[t].key << " [" << io::state_name(s.state[t]) << ", group " << s.group[t] << ", "
         << s.host[t] << ", " << s.finished_at[t] << "] " << s.message[t] << "\n";
  }
  if (which == "all" || which == "pending") {
    os << "pending (" << l_pending.size() << "):\n";
    for (auto t : l_pending)
      os << "  " << spec_.tasks[t].key << (s.state[t] == io::TaskState::running ? " [running]" : "")
         << (s.state[t] == io::TaskState::done && !s.trusted[t] ? " [done (corrupt row)]" : "") << "\n";
  }
  if (which == "all" || which == "done") {
    os << "done (" << l_done.size() << "):\n";
    for (auto t : l_done) {
      std::snprintf(buf, sizeof buf, "%.3fs", s.wall_time[t]);
      os << "  " << spec_.tasks[t].key << " [" << buf << ", group " << s.group[t] << ", " << s.host[t] << ", "
         << s.finished_at[t] << "]" << (s.message[t].empty() ? "" : " " + s.message[t]) << "\n";
    }
  }
  os << std::flush;
  return kExitOk;
}

}  // namespace cellot::cli
