#pragma once
// `cellot merge`: shard stores of one plan into one store, and the compatibility checks that
// merge and --resume share.
#include <cstdint>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"

namespace cellot::screen {

struct MergeOptions {
  // A task with a done row in two inputs is refused (the shards of one plan own disjoint tasks,
  // so it means two runs of the same work, e.g. shards of two different shard counts). With
  // this, it is accepted when both rows are bit-identical (metrics, curves, parameters,
  // predictions); rows that differ are refused in any case.
  bool allow_duplicates = false;
  // Inputs that cannot be opened as stores (an element killed while creating its shard) are
  // skipped with a warning and their tasks reported missing, instead of refused. Plan and
  // layout mismatches are refused in any case.
  bool allow_incomplete = false;
};

struct MergeResult {
  std::int64_t tasks = 0, done = 0, failed = 0;  // failed counts failed and diverged rows
  std::vector<std::string> missing;              // keys of tasks with no final row in any input
  std::int64_t duplicates = 0;                   // tasks done in several inputs with identical rows
  // Keys of tasks done in one input and failed or diverged in another (the done row is kept:
  // typically a retried task), and of failed rows met twice (the first is kept).
  std::vector<std::string> done_over_failed, failed_twice;
  std::vector<std::string> corrupt;  // done flags whose row checksum does not match (left out)
  std::vector<std::string> skipped;  // inputs that are not readable stores (allow_incomplete)
  std::vector<std::string> git_hashes;  // builds that wrote the inputs (more than one: mixed)
};

// Checks that every input is a store of the same plan (plan_hash, check_same_plan) and layout
// (check_same_layout), that no shard is given twice and that no task was finished in two inputs
// (see MergeOptions; InputErrors naming the file, the key and the values); then writes `out`
// with every final row (done preferred over failed), the inputs listed in /provenance
// merged_from, and their history lines and git hashes kept. Serial (one rank).
MergeResult merge_stores(const std::vector<std::string>& inputs, const std::string& out,
                         const std::string& command_line, const MergeOptions& options = {});

// InputError(path, "plan_hash", "<have> (<path>) vs <want> (<want_name>)", ...) unless both
// specs have the same plan hash. The message says what differs: the data (the fingerprints in
// the plan texts), the config (its first differing line) or the task table.
void check_same_plan(const io::StoreSpec& have, const io::StoreSpec& want, const std::string& path,
                     const std::string& want_name);

// InputError(path, "layout", have.plan_hash, ...) unless the stores have the same metric names,
// parameter layouts (model and reserved size) and predictions flag: rows of one cannot be
// written into the other. What --resume checks before writing into an existing store.
void check_same_layout(const io::StoreSpec& have, const io::StoreSpec& want, const std::string& path);

}  // namespace cellot::screen
