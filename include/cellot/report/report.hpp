#pragma once
// `cellot report`: the paper's Table 1 for any store (per perturbation x model, each metric as
// mean +- sd over seeds and folds, best per column marked), a reproducibility section
// (coefficient of variation across seeds) and, with a second store, the largest differences
// between matching tasks (cluster-to-cluster reproducibility).
#include <cmath>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"

namespace cellot::report {

// Which way a metric improves: most are distances (lower); correlations are higher-is-better;
// kNN mixing is best at 0.5 (predicted and observed cells indistinguishable).
enum class Better { lower, higher, half };
Better better(const std::string& metric);
const char* better_text(Better b);

struct Stat {
  double mean = NAN, sd = NAN;  // sd over seeds and folds: only meaningful for n >= 2
  int n = 0;  // finished tasks that contributed (seeds x folds)
  // n = 1 with metrics.bootstrap > 0: the task's sd over bootstrap resamples of cells (the
  // report shows a normal-approximation 95% interval, mean -+ 1.96 boot_sd); NaN otherwise.
  double boot_sd = NAN;
};

struct Row {
  std::string perturbation, model;
  std::vector<Stat> stats;  // per metric
  std::vector<bool> best;   // per metric: best (or tied best) among the perturbation's models
};

// Models excluded from best marks: the floor (cellot::ModelKind::floor) is a reference, not a
// method. A name the registry does not know (an older store's) is a method.
bool is_reference_model(const std::string& model);

struct Table {
  std::vector<std::string> metrics;
  std::vector<Row> rows;         // per perturbation x model, plan order
  std::vector<Row> model_means;  // per model: mean over perturbations of the per-perturbation means
};

// Only done tasks whose checksum matches are used. A metric this build knows but an older store
// lacks has no values (n = 0, shown as "–").
Table summarize(const io::StoreSummary& s, const std::vector<std::string>& metrics);

// Coefficient of variation sd/|mean| across seeds of each (perturbation, model, fold) with at
// least two finished seeds, averaged per model (n = how many such groups).
struct CvRow {
  std::string model;
  std::vector<double> cv;
  std::vector<int> n;
};
std::vector<CvRow> reproducibility(const io::StoreSummary& s, const std::vector<std::string>& metrics);

// Largest absolute and relative (|a-b| / max(|a|,|b|)) difference per metric over tasks done in
// both stores (matched by key).
struct CompareRow {
  std::string metric;
  int n = 0;
  double max_abs = 0, max_rel = 0;
  std::string worst_abs_key, worst_rel_key;
};
std::vector<CompareRow> compare(const io::StoreSummary& a, const io::StoreSummary& b,
                                const std::vector<std::string>& metrics);

// What compare() could not match: whether the two stores share a plan (hash) and data (the
// fingerprint in their plan texts), and the tasks that are in one store only or done in one only.
struct Coverage {
  std::string hash_a, hash_b, data_a, data_b;  // data: fingerprints ("" for older stores)
  bool same_plan = false, same_data = false;
  // "fnv1a-64 vs xxh3-64" when the fingerprints were made with different hashes (a store written
  // before cellot used XXH3 and one after): they cannot tell whether the data are the same.
  std::string data_hashes;
  std::int64_t compared = 0;                   // tasks done (and trusted) in both
  std::vector<std::string> only_a, only_b;     // keys in one plan only
  std::vector<std::string> done_a, done_b;     // keys in both plans, done in that store only
};
Coverage coverage(const io::StoreSummary& a, const io::StoreSummary& b);

// The tasks of a store that are not done (of those it owns, for a shard), with why: failed and
// diverged (their message), or not finished (pending, running, a corrupt row).
struct Unfinished {
  std::string key, perturbation, model, state, message;
};
std::vector<Unfinished> unfinished(const io::StoreSummary& s);

// Metric selection: empty = every metric of the store; unknown names are InputErrors.
std::vector<std::string> select_metrics(const io::StoreSummary& s, const std::vector<std::string>& wanted);

// The whole report in "md", "csv" or "tex".
std::string render(const std::string& format, const io::StoreSummary& s, const std::vector<std::string>& metrics,
                   const io::StoreSummary* other = nullptr);

}  // namespace cellot::report
