#pragma once
// `cellot merge`: shard stores of one plan into one store.
#include <string>
#include <vector>

namespace cellot::dist {

struct MergeResult {
  std::int64_t tasks = 0, done = 0, failed = 0;  // failed counts failed and diverged rows
  std::vector<std::string> missing;              // keys of tasks with no final row in any input
  std::int64_t duplicates = 0;                   // tasks done in several inputs with identical rows
};

// Checks that every input is a store of the same plan (plan_hash), that no shard is given twice
// and that no task was finished in two inputs with different metrics (InputErrors naming the
// files, the key and the values); then writes `out` with every final row (done preferred over
// failed) and the inputs listed in /provenance merged_from. Serial (one rank).
MergeResult merge_stores(const std::vector<std::string>& inputs, const std::string& out,
                         const std::string& command_line);

}  // namespace cellot::dist
