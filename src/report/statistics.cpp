// Paired comparisons against the reference model and the exact sign test.
#include "cellot/core/model_kinds.hpp"
#include "cellot/report/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace cellot::report {

double sign_test(int wins, int losses) {
  const int n = wins + losses;
  if (n == 0) return 1.0;
  const int k = std::min(wins, losses);
  // 2 * P(W <= k), summed in log space (n may be in the hundreds).
  double tail = 0;
  for (int i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  return std::min(1.0, 2.0 * tail);
}

namespace {

double badness(Better b, double v) {
  switch (b) {
    case Better::lower:
      return v;
    case Better::higher:
      return -v;
    case Better::half:
      return std::fabs(v - 0.5);
  }
  return v;
}

}  // namespace

std::vector<PairedRow> paired_comparisons(const Table& table, std::string reference) {
  if (reference.empty()) reference = primary_model_kind().name;
  std::vector<std::string> models;
  for (const auto& r : table.rows)
    if (r.model != reference && !is_reference_model(r.model) &&
        std::find(models.begin(), models.end(), r.model) == models.end())
      models.push_back(r.model);
  std::map<std::string, const Row*> ref_rows;
  for (const auto& r : table.rows)
    if (r.model == reference) ref_rows[r.perturbation] = &r;
  std::vector<PairedRow> out;
  if (ref_rows.empty()) return out;
  for (std::size_t k = 0; k < table.metrics.size(); ++k) {
    const Better b = better(table.metrics[k]);
    for (const auto& m : models) {
      PairedRow pr;
      pr.model = m;
      pr.metric = table.metrics[k];
      for (const auto& r : table.rows) {
        if (r.model != m) continue;
        const auto it = ref_rows.find(r.perturbation);
        if (it == ref_rows.end()) continue;
        const Stat &a = r.stats[k], &c = it->second->stats[k];
        if (a.n == 0 || c.n == 0 || !std::isfinite(a.mean) || !std::isfinite(c.mean)) continue;
        const double x = badness(b, a.mean), y = badness(b, c.mean);
        const double scale = std::max({std::fabs(a.mean), std::fabs(c.mean), 1e-300});
        if (std::fabs(x - y) <= 1e-12 * scale) ++pr.ties;
        else if (x < y) ++pr.wins;
        else ++pr.losses;
      }
      pr.p_value = pr.wins + pr.losses + pr.ties > 0 ? sign_test(pr.wins, pr.losses) : NAN;
      out.push_back(pr);
    }
  }
  return out;
}

}  // namespace cellot::report
