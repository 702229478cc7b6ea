#include "cellot/dist/merge.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/io/store.hpp"
#include "cellot/version.hpp"

namespace cellot::dist {

namespace {

// Bitwise equality (NaN == NaN when the bits agree): a deterministic task re-run gives the same
// bits, anything else is a conflict.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool is_final(io::TaskState s) {
  return s == io::TaskState::done || s == io::TaskState::failed || s == io::TaskState::diverged;
}

}  // namespace

MergeResult merge_stores(const std::vector<std::string>& inputs, const std::string& out,
                         const std::string& command_line) {
  if (inputs.empty()) throw InputError("command line", "inputs", "", "no shard stores given");
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& in : inputs)
    if (fs::exists(out) && fs::equivalent(in, out, ec))
      throw InputError("command line", "--out", out, "is also an input; write the merged store elsewhere");

  std::vector<io::Store> stores;
  std::map<std::string, std::string> shard_seen;  // shard attribute -> file
  std::map<std::string, std::string> file_seen;   // canonical path -> as given
  for (const auto& in : inputs) {
    const std::string canon = fs::weakly_canonical(in, ec).string();
    if (file_seen.count(canon)) throw InputError(in, "inputs", in, "the same store is given twice");
    file_seen[canon] = in;
    stores.push_back(io::Store::open(in, MPI_COMM_NULL, false));
    const auto& spec = stores.back().spec();
    const auto& first = stores.front().spec();
    if (spec.plan_hash != first.plan_hash)
      throw InputError(
          in, "plan_hash", spec.plan_hash,
          "differs from " + inputs.front() + " (" + first.plan_hash + "): the stores come from different plans");
    if (!spec.shard.empty()) {
      if (shard_seen.count(spec.shard))
        throw InputError(in, "shard", spec.shard, "shard given twice (also " + shard_seen[spec.shard] + ")");
      shard_seen[spec.shard] = in;
    }
  }

  const io::StoreSpec& base = stores.front().spec();
  std::vector<std::vector<io::TaskState>> states;
  std::vector<std::vector<bool>> trusted;
  for (const auto& s : stores) {
    states.push_back(s.read_states());
    trusted.push_back(s.trusted_done());
  }

  io::StoreSpec spec = base;
  spec.shard.clear();
  spec.owned.assign(spec.tasks.size(), 1);
  MergeResult result;
  result.tasks = spec.size();
  std::vector<io::TaskRow> rows(spec.tasks.size());
  std::vector<bool> have(spec.tasks.size(), false);
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    int chosen = -1;
    for (std::size_t k = 0; k < stores.size(); ++k) {
      if (!trusted[k][t] || !is_final(states[k][t])) continue;
      const bool done = states[k][t] == io::TaskState::done;
      if (chosen < 0) {
        chosen = static_cast<int>(k);
        continue;
      }
      const bool chosen_done = states[static_cast<std::size_t>(chosen)][t] == io::TaskState::done;
      if (done && chosen_done) {
        const auto a = stores[static_cast<std::size_t>(chosen)].read_row(static_cast<std::int64_t>(t));
        const auto b = stores[k].read_row(static_cast<std::int64_t>(t));
        if (!same_bits(a.value, b.value) || !same_bits(a.sd, b.sd) || !same_bits(a.iterations, b.iterations))
          throw InputError(inputs[k], "task", spec.tasks[t].key,
                           "done in both " + inputs[static_cast<std::size_t>(chosen)] + " and " + inputs[k] +
                               " with different metrics (conflict)");
        ++result.duplicates;
      } else if (done && !chosen_done) {
        chosen = static_cast<int>(k);  // a done row wins over a failed one (e.g. a retried task)
      }
    }
    if (chosen < 0) {
      result.missing.push_back(spec.tasks[t].key);
      continue;
    }
    rows[t] = stores[static_cast<std::size_t>(chosen)].read_row(static_cast<std::int64_t>(t));
    have[t] = true;
    if (rows[t].state == io::TaskState::done)
      ++result.done;
    else
      ++result.failed;
  }

  std::vector<std::string> sources;
  std::vector<std::string> hosts;
  for (std::size_t k = 0; k < stores.size(); ++k) {
    const auto summary = stores[k].summary();
    sources.push_back(inputs[k] + " (shard " + (stores[k].spec().shard.empty() ? "-" : stores[k].spec().shard) +
                      ", plan " + stores[k].spec().plan_hash + ")");
    for (const auto& h : summary.hostnames)
      if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  for (auto& s : stores) s.close();

  io::Store merged = io::Store::create(out, spec, MPI_COMM_NULL);
  io::Provenance p;
  p.version = version_string();
  p.git_hash = git_hash();
  p.library_versions = library_versions();
  p.command_line = command_line;
  p.start_time = log::timestamp_utc();
  p.world_size = 1;
  p.hostnames = hosts;
  merged.write_provenance_start(p);
  for (std::size_t t = 0; t < spec.tasks.size(); ++t)
    if (have[t]) merged.write_row(static_cast<std::int64_t>(t), rows[t]);
  merged.write_merged_from(sources);
  merged.write_provenance_end(log::timestamp_utc(),
                              result.missing.empty()
                                  ? "merged, complete"
                                  : "merged, " + std::to_string(result.missing.size()) + " tasks missing");
  merged.close();
  return result;
}

}  // namespace cellot::dist
