#include "cellot/screen/merge.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/fault.hpp"
#include "cellot/core/log.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/core/version.hpp"

namespace cellot::screen {

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

// What differs between two rows of one task, over everything a row holds ("" when nothing).
std::string row_difference(const io::TaskRow& a, const io::TaskRow& b) {
  std::vector<std::string> parts;
  if (!same_bits(a.value, b.value) || !same_bits(a.sd, b.sd) || !same_bits(a.iterations, b.iterations))
    parts.push_back("metrics");
  bool curves = a.curve_columns != b.curve_columns || a.curve_rows.size() != b.curve_rows.size();
  for (std::size_t i = 0; !curves && i < a.curve_rows.size(); ++i) curves = !same_bits(a.curve_rows[i], b.curve_rows[i]);
  if (curves) parts.push_back("curves");
  if (a.params_count != b.params_count || a.param_layout != b.param_layout || !same_bits(a.params, b.params))
    parts.push_back("parameters");
  if (!same_bits(a.predictions, b.predictions) || !same_bits(a.prediction_cells, b.prediction_cells))
    parts.push_back("predictions");
  if (!same_bits(a.predicted_effect, b.predicted_effect) || !same_bits(a.observed_effect, b.observed_effect) ||
      !same_bits(a.iid_predicted_effect, b.iid_predicted_effect) || !same_bits(a.iid_observed_effect, b.iid_observed_effect))
    parts.push_back("effects");
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The config section of a plan text (between "[config]" and the fingerprint or features line).
std::vector<std::string> config_lines(const std::string& plan_text) {
  std::vector<std::string> out;
  bool in_config = false;
  for (const auto& line : lines_of(plan_text)) {
    if (line == "[config]") {
      in_config = true;
      continue;
    }
    if (line.rfind("[data] fingerprint", 0) == 0 || line.rfind("[features]", 0) == 0) break;
    if (in_config) out.push_back(line);
  }
  return out;
}

}  // namespace

void check_same_plan(const io::StoreSpec& have, const io::StoreSpec& want, const std::string& path,
                     const std::string& want_name) {
  if (have.plan_hash == want.plan_hash) return;
  const std::string value = have.plan_hash + " (" + path + ") vs " + want.plan_hash + " (" + want_name + ")";
  const std::string fa = plan_text_fingerprint(have.plan_text), fb = plan_text_fingerprint(want.plan_text);
  std::string why;
  if (have.hash != want.hash) {
    why = std::string("the data fingerprints were made with different hashes: ") + hash_scheme_name(have.hash) + " (" +
          path + ") vs " + hash_scheme_name(want.hash) + " (" + want_name +
          "): stores written before and after cellot moved to XXH3 are not parts of one plan";
  } else if (fa != fb && !fa.empty() && !fb.empty() && fa != kNoFingerprint && fb != kNoFingerprint) {
    why = "the data differ: fingerprint " + fa + " (" + path + ") vs " + fb + " (" + want_name +
          "): the data file changed since the store was written, or it is another file";
  } else if (fa.empty() != fb.empty()) {
    why = "one plan has a data fingerprint and the other none (a store written before cellot fingerprinted data)";
  } else {
    const auto ca = config_lines(have.plan_text), cb = config_lines(want.plan_text);
    for (std::size_t i = 0; why.empty() && i < std::max(ca.size(), cb.size()); ++i) {
      const std::string a = i < ca.size() ? ca[i] : "(none)", b = i < cb.size() ? cb[i] : "(none)";
      if (a != b) why = "the config differs: '" + a + "' (" + path + ") vs '" + b + "' (" + want_name + ")";
    }
    if (why.empty()) why = "the task table differs (perturbations, features or cell counts)";
  }
  throw InputError(path, "plan_hash", value, "written for a different plan: " + why);
}

void check_same_layout(const io::StoreSpec& have, const io::StoreSpec& want, const std::string& path) {
  bool same = have.metric_names == want.metric_names && have.params.size() == want.params.size() &&
              have.save_predictions == want.save_predictions;
  for (std::size_t i = 0; same && i < want.params.size(); ++i)
    same = have.params[i].model == want.params[i].model && have.params[i].max_size == want.params[i].max_size;
  if (!same)
    throw InputError(path, "layout", have.plan_hash,
                     "the store's metrics or parameter sizes differ from this build's; use a new store");
  if (have.hash != want.hash)
    throw InputError(path, "checksum", std::string(hash_scheme_name(have.hash)) + " vs " + hash_scheme_name(want.hash),
                     "the stores' row checksums use different hashes");
  const std::string diff = io::layout_difference(have, want);
  if (!diff.empty())
    throw InputError(path, "layout", diff, "the store's datasets differ from this build's; use a new store");
  // The fitted feature transforms (a deterministic function of config and data, so a difference
  // means other data or another build's fit): every prediction of the store depends on them.
  same = have.transforms.size() == want.transforms.size();
  for (std::size_t i = 0; same && i < want.transforms.size(); ++i) {
    const auto& a = have.transforms[i];
    const auto& b = want.transforms[i];
    same = a.first == b.first && a.second.spec == b.second.spec && a.second.arrays.size() == b.second.arrays.size();
    for (std::size_t j = 0; same && j < b.second.arrays.size(); ++j)
      // Bytes, not values: NaN entries (an unused explained variance) are equal here.
      same = a.second.arrays[j].name == b.second.arrays[j].name &&
             a.second.arrays[j].values.size() == b.second.arrays[j].values.size() &&
             std::memcmp(a.second.arrays[j].values.data(), b.second.arrays[j].values.data(),
                         a.second.arrays[j].values.size() * sizeof(double)) == 0;
  }
  if (!same)
    throw InputError(path, "/transform", have.transforms.empty() ? "none" : have.transforms.front().second.spec,
                     "the store's fitted feature transform differs from this one (other data or build); use a new store");
}

namespace {

namespace fs = std::filesystem;

// The readable inputs, checked to be shards of one plan with one layout.
struct Inputs {
  std::vector<io::Store> stores;
  std::vector<std::string> names;  // the inputs opened, as given
};

Inputs open_inputs(const std::vector<std::string>& inputs, const std::string& out, const MergeOptions& options,
                   MergeResult& result) {
  if (inputs.empty()) throw InputError("command line", "inputs", "", "no shard stores given");
  std::error_code ec;
  for (const auto& in : inputs)
    if (fs::exists(out) && fs::equivalent(in, out, ec))
      throw InputError("command line", "--out", out, "is also an input; write the merged store elsewhere");
  Inputs opened;
  std::map<std::string, std::string> shard_seen;  // shard attribute -> file
  std::map<std::string, std::string> file_seen;   // canonical path -> as given
  for (const auto& in : inputs) {
    const std::string canon = fs::weakly_canonical(in, ec).string();
    if (file_seen.count(canon)) throw InputError(in, "inputs", in, "the same store is given twice");
    file_seen[canon] = in;
    try {
      opened.stores.push_back(io::Store::open(in, MPI_COMM_NULL, false));
    } catch (const std::exception& e) {
      if (!options.allow_incomplete) throw;
      log::warn("merge: skipping " + in + ", not a readable store (its tasks count as missing): " + e.what());
      result.skipped.push_back(in);
      continue;
    }
    opened.names.push_back(in);
    const auto& spec = opened.stores.back().spec();
    const auto& first = opened.stores.front().spec();
    check_same_plan(spec, first, in, opened.names.front());
    check_same_layout(spec, first, in);
    if (!spec.shard.empty()) {
      if (shard_seen.count(spec.shard))
        throw InputError(in, "shard", spec.shard, "shard given twice (also " + shard_seen[spec.shard] + ")");
      shard_seen[spec.shard] = in;
    }
  }
  if (opened.stores.empty()) throw InputError("command line", "inputs", inputs.front(), "no input is a readable store");
  return opened;
}

// Which input's row each task takes (-1: none): a trusted final row; a done row wins over a
// failed one (a retried task); two done rows must be identical (and are accepted only with
// --allow-duplicates). Counts go to result.
std::vector<int> choose_rows(Inputs& in, const MergeOptions& options, MergeResult& result) {
  std::vector<std::vector<io::TaskState>> states;
  std::vector<std::vector<bool>> trusted;
  for (const auto& s : in.stores) {
    states.push_back(s.read_states());
    trusted.push_back(s.trusted_done());
  }
  const io::StoreSpec& spec = in.stores.front().spec();
  std::vector<int> source(spec.tasks.size(), -1);
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    const auto task = static_cast<std::int64_t>(t);
    const std::string& key = spec.tasks[t].key;
    int chosen = -1;
    bool corrupt = false;
    for (std::size_t k = 0; k < in.stores.size(); ++k) {
      if (is_final(states[k][t]) && !trusted[k][t]) corrupt = true;
      if (!trusted[k][t] || !is_final(states[k][t])) continue;
      if (chosen < 0) {
        chosen = static_cast<int>(k);
        continue;
      }
      const auto c = static_cast<std::size_t>(chosen);
      const bool done = states[k][t] == io::TaskState::done, chosen_done = states[c][t] == io::TaskState::done;
      if (done && chosen_done) {
        const std::string diff = row_difference(in.stores[c].read_row(task), in.stores[k].read_row(task));
        if (!diff.empty())
          throw InputError(in.names[k], "task", key,
                           "done in both " + in.names[c] + " and " + in.names[k] + " with different " + diff +
                               " (conflict)");
        if (!options.allow_duplicates)
          throw InputError(in.names[k], "task", key,
                           "done in both " + in.names[c] + " and " + in.names[k] +
                               " (identical rows): the inputs overlap, e.g. shards of two different shard counts; "
                               "pass --allow-duplicates to accept identical rows");
        ++result.duplicates;
      } else if (done != chosen_done) {
        result.done_over_failed.push_back(key);
        if (done) chosen = static_cast<int>(k);
      } else {
        result.failed_twice.push_back(key);
      }
    }
    if (chosen < 0) {
      result.missing.push_back(key);
      if (corrupt) result.corrupt.push_back(key);
      continue;
    }
    source[t] = chosen;
    if (states[static_cast<std::size_t>(chosen)][t] == io::TaskState::done)
      ++result.done;
    else
      ++result.failed;
  }
  return source;
}

// The inputs' provenance, kept: their history lines (prefixed with the file and shard), hosts,
// the builds that wrote them (into result.git_hashes) and one line per input.
struct InputProvenance {
  std::vector<std::string> sources, hosts, history;
};

InputProvenance input_provenance(const Inputs& in, MergeResult& result) {
  InputProvenance p;
  for (std::size_t k = 0; k < in.stores.size(); ++k) {
    const auto summary = in.stores[k].summary();
    const std::string shard = in.stores[k].spec().shard.empty() ? "-" : in.stores[k].spec().shard;
    p.sources.push_back(in.names[k] + " (shard " + shard + ", plan " + in.stores[k].spec().plan_hash + ")");
    for (const auto& h : summary.hostnames)
      if (std::find(p.hosts.begin(), p.hosts.end(), h) == p.hosts.end()) p.hosts.push_back(h);
    for (const auto& line : summary.history) p.history.push_back("[" + in.names[k] + ", shard " + shard + "] " + line);
    for (const auto& g : summary.git_hashes)
      if (std::find(result.git_hashes.begin(), result.git_hashes.end(), g) == result.git_hashes.end())
        result.git_hashes.push_back(g);
  }
  return p;
}

}  // namespace

MergeResult merge_stores(const std::vector<std::string>& inputs, const std::string& out,
                         const std::string& command_line, const MergeOptions& options) {
  MergeResult result;
  Inputs in = open_inputs(inputs, out, options, result);
  io::StoreSpec spec = in.stores.front().spec();
  spec.shard.clear();
  spec.owned.assign(spec.tasks.size(), 1);
  result.tasks = spec.size();
  // Rows are copied one at a time at the end, never all held in memory.
  const std::vector<int> source = choose_rows(in, options, result);
  const InputProvenance prov = input_provenance(in, result);

  // Written under a temporary name and renamed when complete: a merge killed midway leaves no
  // store at `out` that looks finished (and a previous `out` stays as it was until the rename).
  const std::string tmp = out + ".merging";
  std::error_code rm_ec;
  fs::remove(tmp, rm_ec);
  io::Store merged = io::Store::create(tmp, spec, MPI_COMM_NULL);
  merged.append_provenance(prov.history, result.git_hashes);
  io::Provenance p;
  p.version = version_string();
  p.git_hash = git_hash();
  p.library_versions = library_versions();
  p.command_line = command_line;
  p.start_time = log::timestamp_utc();
  p.world_size = 1;
  p.hostnames = prov.hosts;
  merged.write_provenance_start(p);
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    if (source[t] < 0) continue;
    const auto task = static_cast<std::int64_t>(t);
    merged.write_row(task, in.stores[static_cast<std::size_t>(source[t])].read_row(task));
    fault::kill_point("merge");
  }
  for (auto& s : in.stores) s.close();
  merged.write_merged_from(prov.sources);
  std::string outcome = result.missing.empty()
                            ? "merged, complete"
                            : "merged, " + std::to_string(result.missing.size()) + " tasks missing";
  if (!result.skipped.empty()) outcome += ", " + std::to_string(result.skipped.size()) + " unreadable inputs skipped";
  merged.write_provenance_end(log::timestamp_utc(), outcome);
  merged.close();
  fs::rename(tmp, out);
  return result;
}

}  // namespace cellot::screen
