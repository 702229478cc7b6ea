#pragma once
// Internals of the synthetic generators shared by the presets (not installed).
#include <cstdint>
#include <string>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/synth.hpp"

namespace cellot::data::synth_detail {

constexpr int kSubpopsPerLine = 3;
constexpr double kSubpopWeights[kSubpopsPerLine] = {0.5, 0.3, 0.2};
constexpr int kLowRank = 2;

double dot(const double* a, const double* b, std::int64_t d);

// One Gaussian subpopulation: mean + sd ⊙ z + load · w, z ~ N(0, I_d), w ~ N(0, I_2).
struct Component {
  std::string line, name;
  std::vector<double> mean, sd;
  Matrix load;    // d x kLowRank
  double weight;  // within its cell line

  // sqrt(dirᵀ Σ dir), Σ = diag(sd²) + load loadᵀ.
  double sd_along(const std::vector<double>& dir) const {
    double v = 0;
    for (std::size_t j = 0; j < dir.size(); ++j) v += dir[j] * dir[j] * sd[j] * sd[j];
    for (std::int64_t r = 0; r < kLowRank; ++r) {
      double p = 0;
      for (std::size_t j = 0; j < dir.size(); ++j) p += dir[j] * load(static_cast<std::int64_t>(j), r);
      v += p * p;
    }
    return std::sqrt(v);
  }
};

struct Mixture {
  int d = 0;
  std::vector<std::string> lines;
  std::vector<Component> comps;  // kSubpopsPerLine per line, line-major

  std::vector<double> mean() const {  // lines 1:1
    std::vector<double> m(static_cast<std::size_t>(d), 0.0);
    const double n_lines = static_cast<double>(lines.size());
    for (const auto& c : comps)
      for (int j = 0; j < d; ++j)
        m[static_cast<std::size_t>(j)] += c.mean[static_cast<std::size_t>(j)] * c.weight / n_lines;
    return m;
  }

  // Draws one cell of cell line `line` into x; returns its component.
  std::size_t sample(Rng& rng, int line, double* x) const {
    const double u = rng.uniform();
    double acc = 0;
    int k = kSubpopsPerLine - 1;
    for (int i = 0; i < kSubpopsPerLine; ++i) {
      acc += kSubpopWeights[i];
      if (u < acc) {
        k = i;
        break;
      }
    }
    const auto ci = static_cast<std::size_t>(line * kSubpopsPerLine + k);
    const Component& c = comps[ci];
    double w[kLowRank];
    for (double& v : w) v = rng.normal();
    for (int j = 0; j < d; ++j) {
      const auto js = static_cast<std::size_t>(j);
      double v = c.mean[js] + c.sd[js] * rng.normal();
      for (int r = 0; r < kLowRank; ++r) v += c.load(j, r) * w[r];
      x[j] = v;
    }
    return ci;
  }
};

// Cell lines CL1..CLn, each a mixture of kSubpopsPerLine Gaussian subpopulations in d dimensions.
Mixture make_mixture(int d, std::uint64_t seed, int n_lines);

// The map of one perturbation (T = grad of a convex potential); `strength` scales every effect,
// `heterogeneity` only its non-translational part (gate displacements, log-sd of the scaling).
SynthMap make_map(const Mixture& mix, const std::string& name, double strength, std::uint64_t seed,
                  double heterogeneity = 1.0);

// The scrna preset's count noise (synth_scrna.cpp), shared with the ground truth (synth.cpp):
// Gamma(shape, 1) and Poisson(lambda) draws, and the log-normal sd of a cell's library size
// around its line's median.
constexpr double kLibrarySd = 0.35;
double gamma_draw(Rng& rng, double shape);
std::int64_t poisson_draw(Rng& rng, double lambda);

}  // namespace cellot::data::synth_detail
