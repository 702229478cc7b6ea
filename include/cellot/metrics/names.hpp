#pragma once
// The metric names in one place (DESIGN.md 'Metrics'): which names exist, which take a parameter
// after '@', which way each improves, and how "all" expands. Torch-free and Kokkos-free: the
// report and the CLI use it without the kernels.
#include <string>
#include <vector>

namespace cellot::metrics {

// Which way a metric improves: most are distances (lower); correlations, R^2 and accuracies are
// higher-is-better; kNN mixing is best at 0.5 (predicted and observed cells indistinguishable).
enum class Direction { lower, higher, half };

// What follows '@' in a name: nothing, a Sinkhorn epsilon, a kNN k or a marker count k.
enum class Param { none, epsilon, knn_k, top_k };

struct MetricInfo {
  const char* base;       // name before '@'
  Param param;            // metrics without a parameter never take one
  bool bare_too;          // the base name alone is a metric as well (pearson_delta: all features)
  Direction direction;
  bool paired;            // needs predictions paired row by row with their control cells
  bool sinkhorn;          // iterations / converged / marginal_error are meaningful
  const char* summary;    // one line for --help and the docs
};

// Every metric, in the order "all" lists them.
const std::vector<MetricInfo>& metric_table();

// The entry of a name ("sinkhorn_div@0.5" -> sinkhorn_div; "iid:" and "genes:" prefixes are
// stripped: "genes:r2_means@20" -> r2_means), nullptr when unknown. Also knows the
// screen-level "discrimination" (computed by `report`, not per task).
const MetricInfo* find_metric(const std::string& name);
Direction direction(const std::string& name);
const char* direction_text(Direction d);

// "all" -> mmd, w2_eps, sinkhorn_div@eps..., l2_ds, r_means, l2_means, r_stds, l2_stds, energy,
// e_distance, knn_mix@k..., spearman_pair, uvp, pearson_delta, pearson_delta@k..., r2_means,
// direction_acc@k... (k of top_k). A bare parameterised name expands to its configured values
// (knn_mix -> knn_mix@50, knn_mix@100; direction_acc -> direction_acc@20, ...; pearson_delta
// stays the all-feature value). Unknown names are InputErrors naming metrics.names.
std::vector<std::string> expand_names(const std::string& names, const std::vector<double>& sinkhorn_epsilons,
                                      const std::vector<int>& knn_k, const std::vector<int>& top_k = {20, 50, 100});

// Whether `name` is a Sinkhorn metric (w2_eps, sinkhorn_div@eps): iterations, converged and
// marginal_error are meaningful for it.
bool is_sinkhorn_metric(const std::string& name);
// Whether `name` needs predictions paired with their control cells (spearman_pair, uvp).
bool is_paired_metric(const std::string& name);
// "sinkhorn_div@0.5" -> ("sinkhorn_div", "0.5"); "mmd" -> ("mmd", "").
std::pair<std::string, std::string> split_name(const std::string& name);

// Column prefixes of the store (DESIGN.md 'Metrics'): "iid:" = a holdout screen's in-distribution
// test cells; "genes:" = with data.embedding, a metric of the predictions decoded to the file's
// features (genes) on the top-k marker genes of the perturbation ("genes:pearson_delta@20").
// A holdout screen with an embedding has both ("iid:genes:r2_means@50").
inline constexpr const char* kIidPrefix = "iid:";
inline constexpr const char* kGenesPrefix = "genes:";
// "iid:genes:r2_means@50" -> "r2_means@50".
std::string strip_prefixes(const std::string& name);
// The metrics that are also computed on the decoded top-k marker genes when an embedding is used.
const std::vector<std::string>& marker_metric_bases();
// Their "genes:" names for expanded metrics.names: for each of marker_metric_bases() that
// metrics.names names (in any form), "genes:<base>@k" for the k of its base@k names, or for every
// k of top_k when it is named without one (r2_means, e_distance, energy, bare pearson_delta).
// "all" with top_k 20,50,100 gives genes:pearson_delta@20 ... genes:energy@100 (15 names).
std::vector<std::string> marker_metric_names(const std::vector<std::string>& names, const std::vector<int>& top_k);
// Whether a name is a "genes:" column (also under "iid:").
bool is_marker_metric(const std::string& name);

// The screen-level metric `report` computes from the stored mean-change vectors.
inline constexpr const char* kDiscrimination = "discrimination";

}  // namespace cellot::metrics
