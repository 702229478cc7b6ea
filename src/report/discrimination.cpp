// Screen-level discrimination from the stored mean-change vectors (see discrimination.hpp).
#include "cellot/report/discrimination.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace cellot::report {

double normalised_rank(const std::vector<double>& distances, std::size_t truth) {
  const std::size_t n = distances.size();
  if (n < 2 || truth >= n) return std::numeric_limits<double>::quiet_NaN();
  double closer = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (j == truth) continue;
    if (distances[j] < distances[truth]) closer += 1;
    else if (distances[j] == distances[truth]) closer += 0.5;
  }
  return closer / static_cast<double>(n - 1);
}

namespace {

bool finite(const std::vector<double>& v) {
  if (v.empty()) return false;
  for (const double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

}  // namespace

Discrimination discrimination(const io::StoreSummary& s, bool iid) {
  Discrimination out;
  const auto& pred = iid ? s.iid_predicted_effect : s.predicted_effect;
  const auto& obs = iid ? s.iid_observed_effect : s.observed_effect;
  out.available = !pred.empty() && pred.size() == s.spec.tasks.size();
  for (const auto& t : s.spec.tasks)
    if (std::find(out.models.begin(), out.models.end(), t.model) == out.models.end()) out.models.push_back(t.model);
  out.mean.assign(out.models.size(), std::numeric_limits<double>::quiet_NaN());
  out.n.assign(out.models.size(), 0);
  if (!out.available) return out;
  // (model, fold, seed) -> tasks with finite effects, in plan order.
  std::map<std::tuple<std::string, int, std::uint64_t>, std::vector<std::size_t>> groups;
  for (std::size_t t = 0; t < s.spec.tasks.size(); ++t) {
    if (s.state[t] != io::TaskState::done || !s.trusted[t]) continue;
    if (!finite(pred[t]) || !finite(obs[t])) continue;
    const auto& task = s.spec.tasks[t];
    groups[{task.model, task.fold, task.seed}].push_back(t);
  }
  std::vector<double> sum(out.models.size(), 0.0);
  for (std::size_t t = 0; t < s.spec.tasks.size(); ++t) {
    const auto& task = s.spec.tasks[t];
    const auto it = groups.find({task.model, task.fold, task.seed});
    if (it == groups.end() || it->second.size() < 2) continue;
    const auto& members = it->second;
    const auto self = std::find(members.begin(), members.end(), t);
    if (self == members.end()) continue;
    std::vector<double> d;
    for (const std::size_t j : members) d.push_back(distance(pred[t], obs[j]));
    DiscriminationScore sc;
    sc.perturbation = task.perturbation;
    sc.model = task.model;
    sc.fold = task.fold;
    sc.seed = task.seed;
    sc.candidates = static_cast<int>(members.size());
    sc.score = normalised_rank(d, static_cast<std::size_t>(self - members.begin()));
    const auto m = static_cast<std::size_t>(std::find(out.models.begin(), out.models.end(), task.model) -
                                            out.models.begin());
    sum[m] += sc.score;
    ++out.n[m];
    out.scores.push_back(sc);
  }
  for (std::size_t m = 0; m < out.models.size(); ++m)
    if (out.n[m] > 0) out.mean[m] = sum[m] / out.n[m];
  return out;
}

}  // namespace cellot::report
