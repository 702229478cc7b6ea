#pragma once
// Paired comparisons of each model against a reference model (CellOT) across perturbations, and
// the exact two-sided sign test behind them.
#include <string>
#include <vector>

#include "cellot/report/report.hpp"

namespace cellot::report {

struct PairedRow {
  std::string model, metric;
  int wins = 0, ties = 0, losses = 0;  // of `model` against the reference, by the metric's direction
  double p_value = NAN;                // two-sided exact sign test over wins + losses (ties dropped)
};

// For every metric and every model other than `reference` and the floor: the
// perturbations where both have a mean (Table rows), compared by the metric's direction
// (knn_mix: closeness to 0.5). Values equal to within 1e-12 relative are ties.
// `reference`: the registry's primary model when empty.
std::vector<PairedRow> paired_comparisons(const Table& table, std::string reference = "");

// P(|W - n/2| >= |wins - n/2|) for W ~ Binomial(n = wins + losses, 1/2); 1 when n = 0.
double sign_test(int wins, int losses);

}  // namespace cellot::report
