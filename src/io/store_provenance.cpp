// A store's provenance: run records for the runs of a published store, attributes for what a
// merge writes before publishing and for stores of earlier versions (detail/provenance.hpp).
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>

#include "cellot/io/h5.hpp"
#include "detail/provenance.hpp"
#include "detail/store_schema.hpp"

namespace cellot::io {

namespace {

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// "3 hosts: a,b,c" (at most 8 named; `total` counts hosts a record had to leave out).
std::string hosts_text(const std::vector<std::string>& hosts, std::size_t total) {
  constexpr std::size_t kShown = 8;  // the full list of the latest run is in `hostnames`
  total = std::max(total, hosts.size());
  std::string out = std::to_string(total) + (total == 1 ? " host: " : " hosts: ");
  for (std::size_t i = 0; i < std::min(hosts.size(), kShown); ++i) out += (i ? "," : "") + hosts[i];
  if (total > kShown) out += ",... (+" + std::to_string(total - std::min(hosts.size(), kShown)) + ")";
  return out;
}

const char* const kScalarKeys[] = {"version", "git_hash", "library_versions", "command_line", "start_time",
                                   "launcher", "slurm"};
const char* const kCountKeys[] = {"world_size", "ranks_per_task", "groups"};

// The provenance of stores written before run records, and a merge's inherited parts.
void read_attributes(hid_t file, const std::string& c, StoreSummary& s) {
  auto guarded = [&](const std::string& what, auto&& read) {
    try {
      read();
    } catch (const std::exception& e) {
      s.history.push_back("unreadable provenance attribute " + what + " (skipped): " + e.what());
    }
  };
  h5::Handle prov;
  guarded("group", [&] { prov = h5::open_group(file, "/provenance", c); });
  if (!prov.valid()) return;
  for (const char* key : kScalarKeys)
    guarded(key, [&] {
      if (h5::has_attr(prov, key)) s.provenance[key] = h5::read_attr_string(prov, key, c);
    });
  guarded("end_time", [&] {
    if (h5::has_attr(prov, "end_time")) s.provenance["end_time"] = h5::read_attr_string(prov, "end_time", c);
  });
  for (const char* key : kCountKeys)
    guarded(key, [&] {
      if (h5::has_attr(prov, key)) s.provenance[key] = std::to_string(h5::read_attr_int(prov, key, c));
    });
  guarded("history", [&] { s.history = detail::read_lines(prov, "history", c); });
  guarded("hostnames", [&] { s.hostnames = detail::read_lines(prov, "hostnames", c); });
  guarded("merged_from", [&] { s.merged_from = detail::read_lines(prov, "merged_from", c); });
  guarded("git_hashes", [&] {
    if (h5::has_attr(prov, "git_hashes"))
      s.git_hashes = h5::read_attr_strings(prov, "git_hashes", c);
    else if (s.provenance.count("git_hash"))
      s.git_hashes = {s.provenance["git_hash"]};  // stores written before git_hashes existed
  });
}

// One history line per run: "<start> .. <end> | <outcome> | world ... | <command line>".
std::string history_line(const detail::RunRecord& start, const detail::RunRecord* end) {
  const auto hosts = start.all("host");
  std::size_t total = 0;
  try {
    total = start.get("hosts_total").empty() ? 0 : std::stoull(start.get("hosts_total"));
  } catch (const std::exception&) {
    total = 0;
  }
  const std::string slurm = start.get("slurm");
  std::string line = start.get("start_time") + " .. ";
  line += end ? end->get("end_time") + " | " + end->get("outcome")
              : std::string("? | no end recorded (running, or the job was killed)");
  line += " | world " + start.get("world_size") + " ranks_per_task " + start.get("ranks_per_task") + " groups " +
          start.get("groups") + " | version " + start.get("version") + " git " + start.get("git_hash") +
          " | launcher " + start.get("launcher") + " | " + (slurm.empty() ? std::string("no Slurm") : "slurm " + slurm) +
          " | " + hosts_text(hosts, total) + " | " + start.get("command_line");
  return line;
}

void read_records(hid_t file, const std::string& c, StoreSummary& s) {
  detail::RunRecords recs;
  try {
    h5::Handle dset = h5::open_dataset(file, detail::kRunsDataset, c);
    recs = detail::read_run_records(dset, c);
  } catch (const std::exception& e) {
    s.history.push_back(std::string("unreadable run records (skipped): ") + e.what());
    return;
  }
  for (const auto& p : recs.problems) s.history.push_back("run record " + p);
  std::map<std::string, const detail::RunRecord*> end_of;  // start slot -> its end record
  for (const auto& r : recs.records)
    if (r.get("kind") == "end") end_of[r.get("run")] = &r;
  const detail::RunRecord* latest = nullptr;
  for (const auto& r : recs.records) {
    if (r.get("kind") != "start") continue;
    auto it = end_of.find(std::to_string(r.slot));
    s.history.push_back(history_line(r, it == end_of.end() ? nullptr : it->second));
    add_unique(s.git_hashes, r.get("git_hash"));
    latest = &r;
  }
  if (!latest) return;
  for (const char* key : kScalarKeys) s.provenance[key] = latest->get(key);
  for (const char* key : kCountKeys) s.provenance[key] = latest->get(key);
  auto it = end_of.find(std::to_string(latest->slot));
  s.provenance["end_time"] = it == end_of.end() ? "" : it->second->get("end_time");
  s.hostnames = latest->all("host");
}

}  // namespace

namespace detail {

void write_lines(hid_t obj, const std::string& name, const std::vector<std::string>& lines, const std::string& ctx) {
  // One text attribute: a list attribute keeps one heap reference per entry in the object
  // header, whose messages are limited to 64 KB (about 4,000 entries).
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    std::replace(line.begin(), line.end(), '\n', ' ');
    text += (i ? "\n" : "") + line;
  }
  h5::write_attr_string(obj, name, text, ctx);
}

std::vector<std::string> read_lines(hid_t obj, const std::string& name, const std::string& ctx) {
  if (!h5::has_attr(obj, name)) return {};
  auto v = h5::read_attr_strings(obj, name, ctx);
  if (v.size() != 1) return v;  // a list (older stores), or empty
  return split(v[0], '\n');
}

RunFields start_fields(const Provenance& p, const std::string& launcher, const std::string& slurm) {
  RunFields f = {{"kind", "start"},
                 {"start_time", p.start_time},
                 {"version", p.version},
                 {"git_hash", p.git_hash},
                 {"library_versions", p.library_versions},
                 {"world_size", std::to_string(p.world_size)},
                 {"ranks_per_task", std::to_string(p.ranks_per_task)},
                 {"groups", std::to_string(p.groups)},
                 {"launcher", launcher},
                 {"slurm", slurm},
                 {"command_line", p.command_line}};
  for (const auto& h : p.hostnames) f.emplace_back("host", h);
  return f;
}

RunFields end_fields(std::int64_t run, const std::string& end_time, const std::string& outcome) {
  return {{"kind", "end"}, {"run", std::to_string(run)}, {"end_time", end_time}, {"outcome", outcome}};
}

std::vector<char> fit_record(RunFields fields, std::size_t max_bytes) {
  auto bytes = encode_run_record(fields);
  if (bytes.size() <= max_bytes) return bytes;
  std::size_t hosts = 0;
  for (const auto& kv : fields) hosts += kv.first == "host";
  auto with_hosts = [&](std::size_t keep) {
    RunFields f;
    std::size_t seen = 0;
    for (const auto& kv : fields)
      if (kv.first != "host" || seen++ < keep) f.push_back(kv);
    if (hosts > 0) f.emplace_back("hosts_total", std::to_string(hosts));
    return f;
  };
  // The most hosts (from the start of the list) that fit, by bisection.
  std::size_t lo = 0, hi = hosts;  // with_hosts(hi) does not fit
  if (encode_run_record(with_hosts(0)).size() <= max_bytes) {
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      (encode_run_record(with_hosts(mid)).size() <= max_bytes ? lo : hi) = mid;
    }
    return encode_run_record(with_hosts(lo));
  }
  RunFields f = with_hosts(0);
  for (auto& kv : f)
    if (kv.first == "command_line" && kv.second.size() > 256) kv.second = kv.second.substr(0, 256) + " ... (shortened)";
  bytes = encode_run_record(f);
  return bytes.size() <= max_bytes ? bytes : std::vector<char>{};
}

void read_provenance(hid_t file, const std::string& ctx, StoreSummary& s) {
  read_attributes(file, ctx, s);
  if (h5::exists(file, kRunsDataset)) read_records(file, ctx, s);
  if (!s.git_hashes.empty()) s.provenance["git_hashes"] = join(s.git_hashes, ',');
  if (s.git_hashes.size() > 1)
    s.provenance["mixed_git_hashes"] =
        "yes: " + std::to_string(s.git_hashes.size()) + " builds wrote this store (or its merged inputs)";
}

}  // namespace detail

std::string detect_launcher() {
  if (!env_or("OMPI_MCA_orte_hnp_uri").empty() || !env_or("OMPI_MCA_orte_launch").empty())
    return "mpirun (Open MPI)";
  if (!env_or("SLURM_STEP_ID").empty() && (!env_or("PMIX_RANK").empty() || !env_or("PMI_RANK").empty() ||
                                           !env_or("SLURM_MPI_TYPE").empty()))
    return "srun --mpi=" + env_or("SLURM_MPI_TYPE", "?");
  if (!env_or("PMI_RANK").empty()) return "mpiexec (PMI)";
  if (!env_or("PMIX_RANK").empty()) return "a PMIx launcher";
  return "none (singleton)";
}

std::string slurm_job_text() {
  std::string out;
  auto part = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) out += (out.empty() ? "" : " ") + label + " " + value;
  };
  part("job", env_or("SLURM_JOB_ID"));
  const std::string array = env_or("SLURM_ARRAY_JOB_ID");
  if (!array.empty()) part("array", array + "_" + env_or("SLURM_ARRAY_TASK_ID", "?"));
  if (!out.empty()) part("restart", env_or("SLURM_RESTART_COUNT", "0"));
  return out;
}

}  // namespace cellot::io
