#pragma once
// Screen-level discrimination (cell-eval's discrimination score): would a model tell the
// perturbations apart? For each model m, fold and seed, and each perturbation k with a finished
// task: the observed effects (mean change from control) of all n perturbations are ranked by
// their Euclidean distance to m's predicted effect for k; the score is the normalised rank of k
// itself, (#closer + #tied / 2) / (n - 1): 0 = the right perturbation is the nearest, 0.5 = chance,
// 1 = the farthest. Needs every perturbation's results, so `report` computes it from the store's
// /effects rows (stores without /effects: not available).
#include <string>
#include <vector>

#include "cellot/io/store.hpp"

namespace cellot::report {

struct DiscriminationScore {
  std::string perturbation, model;
  int fold = 0;
  std::uint64_t seed = 0;
  double score = 0;  // normalised rank in [0, 1]
  int candidates = 0;  // n: perturbations of the (model, fold, seed) with both effects finite
};

struct Discrimination {
  bool available = false;  // the store has /effects
  std::vector<DiscriminationScore> scores;  // plan order of the scored tasks
  // Per model (plan order): mean score and how many scores it averages.
  std::vector<std::string> models;
  std::vector<double> mean;
  std::vector<int> n;
};

// Scores of every usable (done, checksum-verified) task whose (model, fold, seed) has at least
// two perturbations with finite effects. The effects are those of the test split (for a holdout
// screen: the held-out group, out of distribution); `iid` selects a holdout screen's
// in-distribution effects (/effects/iid_*) instead.
Discrimination discrimination(const io::StoreSummary& s, bool iid = false);

// Normalised rank of `truth` among `distances` (entry truth included): (#j != truth with
// d_j < d_truth + #ties / 2) / (n - 1). NaN for n < 2.
double normalised_rank(const std::vector<double>& distances, std::size_t truth);

}  // namespace cellot::report
