// The metric name table and the expansion of metrics.names.
#include "cellot/metrics/names.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cellot/core/config.hpp"
#include "cellot/core/error.hpp"

namespace cellot::metrics {

namespace {

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double parse_param(const std::string& name, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v) && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw InputError("config", "metrics.names", name, "the value after '@' must be a positive number");
}

int parse_count(const std::string& name, const std::string& text) {
  const double k = parse_param(name, text);
  if (k != std::floor(k) || k > 1e9) throw InputError("config", "metrics.names", name, "k must be an integer");
  return static_cast<int>(k);
}

using D = Direction;
using P = Param;
const std::vector<MetricInfo> kTable{
    {"mmd", P::none, true, D::lower, false, false, "RBF MMD, mean over metrics.mmd_gammas (biased)"},
    {"w2_eps", P::none, true, D::lower, false, true, "entropic OT cost <P*, C> at metrics.epsilon"},
    {"sinkhorn_div", P::epsilon, false, D::lower, false, true, "debiased Sinkhorn divergence at eps"},
    {"l2_ds", P::none, true, D::lower, false, false, "l2 of the drug signature difference"},
    {"r_means", P::none, true, D::higher, false, false, "Pearson r of feature means"},
    {"l2_means", P::none, true, D::lower, false, false, "l2 between feature means"},
    {"r_stds", P::none, true, D::higher, false, false, "Pearson r of feature sds"},
    {"l2_stds", P::none, true, D::lower, false, false, "l2 between feature sds"},
    {"energy", P::none, true, D::lower, false, false, "energy distance (Euclidean, V-statistic)"},
    {"e_distance", P::none, true, D::lower, false, false,
     "scPerturb E-distance (squared Euclidean, within-set means without the diagonal)"},
    {"knn_mix", P::knn_k, false, D::half, false, false, "fraction of predicted cells among predicted kNN"},
    {"spearman_pair", P::none, true, D::higher, true, false, "per-cell Spearman r of control vs prediction"},
    {"uvp", P::none, true, D::lower, true, false, "unexplained variance (%) against the known map"},
    {"pearson_delta", P::top_k, true, D::higher, false, false,
     "Pearson r of predicted vs observed mean change from control (all features; @k: top-k markers)"},
    {"r2_means", P::none, true, D::higher, false, false, "R^2 of observed vs predicted feature means"},
    {"direction_acc", P::top_k, false, D::higher, false, false,
     "fraction of top-k markers whose predicted change has the observed sign"},
};
const MetricInfo kDiscriminationInfo{kDiscrimination, P::none, true, D::lower, false, false,
                                     "normalised rank of the true perturbation by distance of effects (screen)"};

}  // namespace

const std::vector<MetricInfo>& metric_table() { return kTable; }

std::pair<std::string, std::string> split_name(const std::string& name) {
  const auto at = name.find('@');
  if (at == std::string::npos) return {name, ""};
  return {name.substr(0, at), name.substr(at + 1)};
}

std::string strip_prefixes(const std::string& name) {
  std::string n = name;
  for (const char* prefix : {kIidPrefix, kGenesPrefix}) {
    const std::string p = prefix;
    if (n.rfind(p, 0) == 0) n = n.substr(p.size());
  }
  return n;
}

const MetricInfo* find_metric(const std::string& name) {
  const auto base = split_name(strip_prefixes(name)).first;
  if (base == kDiscrimination) return &kDiscriminationInfo;
  for (const auto& m : kTable)
    if (base == m.base) return &m;
  return nullptr;
}

Direction direction(const std::string& name) {
  const MetricInfo* m = find_metric(name);
  return m ? m->direction : Direction::lower;
}

const char* direction_text(Direction d) {
  switch (d) {
    case Direction::lower:
      return "lower is better";
    case Direction::higher:
      return "higher is better";
    case Direction::half:
      return "best at 0.5";
  }
  return "";
}

std::vector<std::string> expand_names(const std::string& names, const std::vector<double>& sinkhorn_epsilons,
                                      const std::vector<int>& knn_k, const std::vector<int>& top_k) {
  std::vector<std::string> out;
  auto add = [&](const std::string& n) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  // A parameterised metric with its configured parameters (and the bare name first where it is
  // a metric too).
  auto add_all = [&](const MetricInfo& m) {
    const std::string base = m.base;
    if (m.bare_too) add(base);
    switch (m.param) {
      case Param::none:
        break;
      case Param::epsilon:
        for (const double e : sinkhorn_epsilons) add(base + "@" + format_number(e));
        break;
      case Param::knn_k:
        for (const int k : knn_k) add(base + "@" + std::to_string(k));
        break;
      case Param::top_k:
        for (const int k : top_k) add(base + "@" + std::to_string(k));
        break;
    }
  };
  const auto items = split_list(names);
  if (items.empty()) throw InputError("config", "metrics.names", names, "names no metric");
  for (const auto& item : items) {
    if (item == "all") {
      for (const auto& m : kTable) add_all(m);
      continue;
    }
    const auto [base, param] = split_name(item);
    const MetricInfo* m = nullptr;
    for (const auto& e : kTable)
      if (base == e.base) m = &e;
    if (m == nullptr || (m->param == Param::none && !param.empty())) {
      std::string known = "all";
      for (const auto& e : kTable)
        known += std::string(", ") + e.base + (e.param == Param::none ? "" : e.param == Param::epsilon ? "[@eps]" : "[@k]");
      throw InputError("config", "metrics.names", item, "unknown metric (known: " + known + ")");
    }
    if (param.empty()) {
      // pearson_delta alone is the all-feature value; knn_mix / sinkhorn_div / direction_acc
      // alone mean every configured parameter.
      if (m->bare_too) add(base);
      else add_all(*m);
    } else if (m->param == Param::epsilon) {
      add(base + "@" + format_number(parse_param(item, param)));
    } else {
      add(base + "@" + std::to_string(parse_count(item, param)));
    }
  }
  return out;
}

const std::vector<std::string>& marker_metric_bases() {
  static const std::vector<std::string> bases{"pearson_delta", "direction_acc", "r2_means", "e_distance", "energy"};
  return bases;
}

std::vector<std::string> marker_metric_names(const std::vector<std::string>& names, const std::vector<int>& top_k) {
  std::vector<std::string> out;
  for (const auto& base : marker_metric_bases()) {
    bool named = false;
    std::vector<std::string> ks;  // the k of base@k names, in their order
    for (const auto& n : names) {
      const auto [b, param] = split_name(n);
      if (b != base) continue;
      named = true;
      if (!param.empty() && std::find(ks.begin(), ks.end(), param) == ks.end()) ks.push_back(param);
    }
    if (!named) continue;
    if (ks.empty())
      for (const int k : top_k) ks.push_back(std::to_string(k));
    for (const auto& k : ks) out.push_back(std::string(kGenesPrefix) + base + "@" + k);
  }
  return out;
}

bool is_marker_metric(const std::string& name) {
  const std::string iid = kIidPrefix;
  const std::string n = name.rfind(iid, 0) == 0 ? name.substr(iid.size()) : name;
  return n.rfind(kGenesPrefix, 0) == 0;
}

bool is_sinkhorn_metric(const std::string& name) {
  const MetricInfo* m = find_metric(name);
  return m != nullptr && m->sinkhorn;
}

bool is_paired_metric(const std::string& name) {
  const MetricInfo* m = find_metric(name);
  return m != nullptr && m->paired;
}

}  // namespace cellot::metrics
