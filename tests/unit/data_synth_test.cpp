// Synthetic data: the presets' counts and names, determinism, and that each response is the
// gradient of a convex potential (so the stored map is the true OT map) and differs by
// subpopulation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"

using namespace cellot;

namespace {

std::map<std::string, std::int64_t> counts(const io::AnnData& a, const std::string& col) {
  std::map<std::string, std::int64_t> out;
  const auto* c = a.obs.find(col);
  for (std::int64_t i = 0; i < c->size(); ++i) ++out[c->value(i)];
  return out;
}

Matrix rows_of(const io::AnnData& a, const std::string& condition) {
  std::vector<std::int64_t> rows;
  const auto* c = a.obs.find("condition");
  for (std::int64_t i = 0; i < c->size(); ++i)
    if (c->value(i) == condition) rows.push_back(i);
  return a.X.select_rows(rows);
}

}  // namespace

TEST(Synth, FourIPresetHasThePapersCountsAndNames) {
  data::SynthOptions o;
  const auto a = data::make_synthetic(o);
  EXPECT_EQ(a.n_obs(), 11526 + 2364 + 2650 + 2683 + 2417);
  EXPECT_EQ(a.n_vars(), 48);
  const auto c = counts(a, "condition");
  EXPECT_EQ(c.at("control"), 11526);
  EXPECT_EQ(c.at("Erlotinib"), 2364);
  EXPECT_EQ(c.at("Imatinib"), 2650);
  EXPECT_EQ(c.at("Trametinib"), 2683);
  EXPECT_EQ(c.at("Trametinib+Erlotinib"), 2417);
  const auto lines = counts(a, "cell_line");
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_LE(std::abs(lines.at("CL1") - lines.at("CL2")), 4);  // 1:1 within every condition
  EXPECT_EQ(counts(a, "subpopulation").size(), 6u);
  const auto names = data::feature_names_4i();
  EXPECT_EQ(a.var.index, names);
  int morph = 0, intensity = 0;
  for (const auto& n : names) (n.rfind("Intensity_", 0) == 0 ? intensity : morph)++;
  EXPECT_EQ(morph, 22);
  EXPECT_EQ(intensity, 26);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 48u);
  EXPECT_EQ(std::set<std::string>(a.obs.index.begin(), a.obs.index.end()).size(), static_cast<std::size_t>(a.n_obs()));
  EXPECT_EQ(a.obs.index.front(), "cell_000001");
  // O(1) scale, as preprocessed features.
  double sum_sq = 0;
  for (double v : a.X.data) sum_sq += v * v;
  const double rms = std::sqrt(sum_sq / static_cast<double>(a.X.data.size()));
  EXPECT_GT(rms, 0.3);
  EXPECT_LT(rms, 5.0);
}

TEST(Synth, ScreenPresetCountsAndScale) {
  data::SynthOptions o;
  o.preset = "screen";
  o.perturbations = 30;
  o.features = 10;
  o.cells_scale = 0.5;
  const auto a = data::make_synthetic(o);
  EXPECT_EQ(a.n_vars(), 10);
  EXPECT_EQ(a.var.index[3], "feature_003");
  const auto c = counts(a, "condition");
  EXPECT_EQ(c.size(), 31u);
  EXPECT_EQ(c.at("control"), 2000);
  std::set<std::int64_t> distinct;
  for (int k = 0; k < 30; ++k) {
    char name[24];  // room for any int (GCC -O1 -Wformat-truncation)
    std::snprintf(name, sizeof name, "drug_%03d", k);
    const auto n = c.at(name);
    EXPECT_GE(n, 75);
    EXPECT_LE(n, 750);
    distinct.insert(n);
  }
  EXPECT_GT(distinct.size(), 20u);  // varying counts
  EXPECT_EQ(data::SynthMaps(a, "mem").perturbations().size(), 30u);
}

TEST(Synth, DeterministicInSeed) {
  data::SynthOptions o;
  o.preset = "screen";
  o.perturbations = 5;
  o.cells_scale = 0.1;
  const auto a = data::make_synthetic(o), b = data::make_synthetic(o);
  EXPECT_EQ(a.X.data, b.X.data);
  EXPECT_EQ(a.uns_arrays.size(), b.uns_arrays.size());
  o.seed = 1;
  EXPECT_NE(a.X.data, data::make_synthetic(o).X.data);
}

TEST(Synth, MapIsTheGradientOfAConvexPotential) {
  data::SynthOptions o;
  o.cells_scale = 0.05;
  const auto a = data::make_synthetic(o);
  const data::SynthMaps maps(a, "mem");
  ASSERT_EQ(maps.perturbations().size(), 4u);
  const Matrix x = rows_of(a, "control");
  Rng rng(1);
  for (const auto& p : maps.perturbations()) {
    const auto& m = maps.map(p);
    const Matrix y = m.apply(x);
    // Finite-difference gradient of φ equals T at a few cells.
    for (std::int64_t i = 0; i < 5; ++i) {
      std::vector<double> xi(x.row(i), x.row(i) + x.cols);
      for (std::int64_t j = 0; j < x.cols; j += 7) {
        const double h = 1e-5;
        auto plus = xi, minus = xi;
        plus[static_cast<std::size_t>(j)] += h;
        minus[static_cast<std::size_t>(j)] -= h;
        const double g = (m.potential(plus.data()) - m.potential(minus.data())) / (2 * h);
        EXPECT_NEAR(g, y(i, j), 1e-5 * (1 + std::abs(g))) << p;
      }
    }
    // Monotone (cyclically monotone for a gradient of a convex function): <T(x)-T(x'), x-x'> > 0.
    for (int k = 0; k < 200; ++k) {
      const auto i = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(x.rows)));
      const auto l = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(x.rows)));
      if (i == l) continue;
      double inner = 0;
      for (std::int64_t j = 0; j < x.cols; ++j) inner += (y(i, j) - y(l, j)) * (x(i, j) - x(l, j));
      EXPECT_GT(inner, 0.0) << p;
    }
  }
}

TEST(Synth, ResponseDiffersBetweenSubpopulations) {
  data::SynthOptions o;
  o.cells_scale = 0.2;
  const auto a = data::make_synthetic(o);
  const data::SynthMaps maps(a, "mem");
  std::vector<std::int64_t> rows;
  const auto* cond = a.obs.find("condition");
  for (std::int64_t i = 0; i < a.n_obs(); ++i)
    if (cond->value(i) == "control") rows.push_back(i);
  const Matrix x = a.X.select_rows(rows);
  const io::DataFrame obs = a.obs.select_rows(rows);
  const io::Column* sub = obs.find("subpopulation");
  for (const auto& p : maps.perturbations()) {
    const Matrix y = maps.apply(p, x);
    // Mean displacement per subpopulation; the largest pairwise difference between them must
    // be a sizeable fraction of the mean displacement (not a global mean shift).
    std::map<std::string, std::vector<double>> mean;
    std::map<std::string, double> n;
    for (std::int64_t i = 0; i < x.rows; ++i) {
      auto& m = mean[sub->value(i)];
      m.resize(static_cast<std::size_t>(x.cols), 0.0);
      for (std::int64_t j = 0; j < x.cols; ++j) m[static_cast<std::size_t>(j)] += y(i, j) - x(i, j);
      n[sub->value(i)] += 1;
    }
    double max_diff = 0;
    for (const auto& [s1, m1] : mean)
      for (const auto& [s2, m2] : mean) {
        double d2 = 0;
        for (std::size_t j = 0; j < m1.size(); ++j) {
          const double dd = m1[j] / n[s1] - m2[j] / n[s2];
          d2 += dd * dd;
        }
        max_diff = std::max(max_diff, std::sqrt(d2));
      }
    EXPECT_GT(max_diff, 0.5) << p;
  }
}

// --heterogeneity h multiplies the gates' displacements (a), leaves the shifts, keeps T the
// gradient of a convex potential (a > 0, scale > 0), and makes mean shift's residual grow.
TEST(Synth, HeterogeneityScalesTheNonTranslationalPart) {
  data::SynthOptions o;
  o.cells_scale = 0.05;
  const auto base = data::make_synthetic(o);
  o.heterogeneity = 1.0;
  EXPECT_EQ(base.X.data, data::make_synthetic(o).X.data);  // 1 is the preset as it was
  EXPECT_EQ(base.uns_numbers.count("cellot_synth/heterogeneity"), 0u);
  o.heterogeneity = 3.0;
  const auto het = data::make_synthetic(o);
  EXPECT_EQ(het.uns_numbers.at("cellot_synth/heterogeneity"), 3.0);
  const data::SynthMaps m1(base, "mem"), m3(het, "mem");
  const Matrix x = rows_of(base, "control");
  for (const auto& p : m1.perturbations()) {
    const auto &a1 = m1.map(p), &a3 = m3.map(p);
    EXPECT_EQ(a1.shift, a3.shift) << p;
    EXPECT_EQ(a1.u.data, a3.u.data) << p;
    ASSERT_EQ(a1.a.size(), a3.a.size()) << p;
    for (std::size_t g = 0; g < a1.a.size(); ++g) EXPECT_NEAR(a3.a[g], 3.0 * a1.a[g], 1e-12 * a3.a[g]) << p;
    for (double s : a3.scale) EXPECT_TRUE(s >= 0.6 && s <= 1.6) << p;
    // Residual of the best translation (the mean displacement) against the truth, per cell.
    auto residual = [&](const data::SynthMap& m) {
      const Matrix y = m.apply(x);
      std::vector<double> mean(static_cast<std::size_t>(x.cols), 0.0);
      for (std::int64_t i = 0; i < x.rows; ++i)
        for (std::int64_t j = 0; j < x.cols; ++j) mean[static_cast<std::size_t>(j)] += (y(i, j) - x(i, j)) / x.rows;
      double r = 0;
      for (std::int64_t i = 0; i < x.rows; ++i)
        for (std::int64_t j = 0; j < x.cols; ++j) {
          const double e = y(i, j) - x(i, j) - mean[static_cast<std::size_t>(j)];
          r += e * e;
        }
      return r;
    };
    EXPECT_GT(residual(a3), 4.0 * residual(a1)) << p;
  }
  o.heterogeneity = 0;
  EXPECT_THROW(data::make_synthetic(o), InputError);
}

TEST(Synth, MapsRoundTripThroughAFile) {
  data::SynthOptions o;
  o.preset = "screen";
  o.perturbations = 3;
  o.cells_scale = 0.05;
  const auto a = data::make_synthetic(o);
  const auto dir = std::filesystem::temp_directory_path() / ("cellot_synth_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "s.h5ad").string();
  io::write_h5ad(path, a);
  const auto from_file = data::SynthMaps::from_file(path);
  const auto direct = data::SynthMaps(a, "mem");
  EXPECT_EQ(from_file.preset(), "screen");
  EXPECT_EQ(from_file.perturbations(), direct.perturbations());
  const Matrix x = rows_of(a, "control");
  EXPECT_EQ(from_file.apply("drug_001", x).data, direct.apply("drug_001", x).data);
  EXPECT_EQ(data::true_map(a, "drug_002", x).data, direct.apply("drug_002", x).data);
  EXPECT_THROW(from_file.map("drug_999"), InputError);
  // A file without ground truth.
  io::AnnData plain = a;
  plain.uns_strings.clear();
  plain.uns_arrays.clear();
  plain.uns_string_arrays.clear();
  io::write_h5ad(path, plain);
  EXPECT_THROW(data::SynthMaps::from_file(path), InputError);
  std::filesystem::remove_all(dir);
}

TEST(Synth, BadOptionsAreInputErrors) {
  data::SynthOptions o;
  o.preset = "huge";
  EXPECT_THROW(data::make_synthetic(o), InputError);
  o.preset = "4i";
  o.features = 20;
  EXPECT_THROW(data::make_synthetic(o), InputError);
  o = {};
  o.cells_scale = 0;
  EXPECT_THROW(data::make_synthetic(o), InputError);
  o = {};
  o.preset = "screen";
  o.perturbations = 0;
  EXPECT_THROW(data::make_synthetic(o), InputError);
}

// The scrna truth E[X | z]: each cell's estimate depends on its row only (not on the other cells
// asked for, nor on the order or threads the cells run on), and lies below log1p(1e4 p(z)), the
// log of the expected normalised counts (Jensen: the log is concave).
TEST(Synth, ExpectedLogNormalisedIsRowKeyedAndBelowTheLogOfTheMean) {
  data::SynthDecoder d;
  Rng rng(5);
  const std::int64_t genes = 40, latent = 3;
  d.loadings = Matrix(genes, latent);
  for (double& v : d.loadings.data) v = 0.3 * rng.normal();
  for (std::int64_t g = 0; g < genes; ++g) {
    d.offset.push_back(1.5 * rng.normal());
    d.nb_shape.push_back(4.0);
  }
  d.line_depth = {0.0, 0.2};
  d.library_size = 800;
  d.seed = 11;
  Matrix z(6, latent);
  for (double& v : z.data) v = rng.normal();
  const std::vector<std::int32_t> line = {0, 1, 0, 1, 1, 0};
  const std::vector<std::int64_t> rows = {3, 17, 4, 90, 5, 6};
  const Matrix all = d.expected_log_normalised(z, line, rows, "t");
  const Matrix two = d.expected_log_normalised(z.select_rows({3, 1}), {1, 1}, {90, 17}, "t");
  for (std::int64_t g = 0; g < genes; ++g) {
    EXPECT_EQ(two(0, g), all(3, g));
    EXPECT_EQ(two(1, g), all(1, g));
  }
  const data::ParallelFor backwards = [](std::int64_t n, const std::function<void(std::int64_t)>& fn) {
    for (std::int64_t i = n - 1; i >= 0; --i) fn(i);
  };
  EXPECT_EQ(d.expected_log_normalised(z, line, rows, "t", backwards).data, all.data);
  EXPECT_NE(d.expected_log_normalised(z, line, rows, "other").data, all.data);
  const Matrix log_mean = d.log_normalised(z);
  double below = 0, total = 0;
  for (std::size_t k = 0; k < all.data.size(); ++k) {
    EXPECT_GE(all.data[k], 0.0);
    below += log_mean.data[k] - all.data[k];
    total += log_mean.data[k];
  }
  EXPECT_GT(below, 0.03 * total);  // 7.6% here
}
