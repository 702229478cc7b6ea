// Synthetic data with known optimal-transport responses (see synth.hpp for the model).
#include "cellot/data/synth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "synth_detail.hpp"

namespace cellot::data {

namespace synth_detail {

double dot(const double* a, const double* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace synth_detail

namespace {

using synth_detail::dot;
constexpr int kLines = 2;

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

void normalize(std::vector<double>& v) {
  const double n = std::sqrt(dot(v.data(), v.data(), static_cast<std::int64_t>(v.size())));
  if (n > 0)
    for (double& x : v) x /= n;
}

std::vector<double> random_unit(Rng& rng, int d) {
  std::vector<double> v(static_cast<std::size_t>(d));
  for (double& x : v) x = rng.normal();
  normalize(v);
  return v;
}

std::vector<std::string> screen_feature_names(int d) {
  if (d == 48) return feature_names_4i();
  std::vector<std::string> names;
  for (int j = 0; j < d; ++j) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "feature_%03d", j);
    names.emplace_back(buf);
  }
  return names;
}

std::int64_t scaled(std::int64_t n, double f) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(static_cast<double>(n) * f)));
}

}  // namespace

namespace synth_detail {

Mixture make_mixture(int d, std::uint64_t seed, int n_lines) {
  Rng rng(seed, "synth/mixture");
  Mixture m;
  m.d = d;
  for (int l = 0; l < n_lines; ++l) {
    const std::string line = "CL" + std::to_string(l + 1);
    m.lines.push_back(line);
    std::vector<double> center(static_cast<std::size_t>(d));
    for (double& v : center) v = 0.8 * rng.normal();
    for (int k = 0; k < kSubpopsPerLine; ++k) {
      Component c;
      c.line = line;
      c.name = line + "_p" + std::to_string(k + 1);
      c.weight = kSubpopWeights[k];
      for (int j = 0; j < d; ++j) {
        c.mean.push_back(center[static_cast<std::size_t>(j)] + 0.9 * rng.normal());
        c.sd.push_back(rng.uniform(0.25, 0.55));
      }
      c.load = Matrix(d, kLowRank);
      for (double& v : c.load.data) v = 0.2 * rng.normal();
      m.comps.push_back(std::move(c));
    }
  }
  return m;
}

void add_gate(SynthMap& map, const std::vector<double>& dir, double steep, double threshold, double size) {
  const std::int64_t d = map.dim();
  Matrix u(map.u.rows + 1, d);
  std::copy(map.u.data.begin(), map.u.data.end(), u.data.begin());
  for (std::int64_t j = 0; j < d; ++j) u(map.u.rows, j) = steep * dir[static_cast<std::size_t>(j)];
  map.u = std::move(u);
  map.t.push_back(steep * threshold);
  map.a.push_back(size / steep);  // displacement size * σ along dir
}

// The map of one perturbation; `strength` scales every effect (1 for the 4i drugs), `h` (the
// heterogeneity, 1 by default) the gates' displacements and the log-sd of the per-feature scaling
// (a, s > 0 either way, so T stays the gradient of a convex potential). At h = 1 every product
// below is exact, so the default files are bit-identical to those made before h existed.
SynthMap make_map(const Mixture& mix, const std::string& name, double strength, std::uint64_t seed, double h) {
  Rng rng(seed, "synth/map/" + name);
  const int d = mix.d;
  SynthMap map;
  map.u = Matrix(0, d);
  for (int j = 0; j < d; ++j) {
    map.scale.push_back(std::clamp(std::exp(strength * 0.15 * rng.normal() * h), 0.6, 1.6));
    map.shift.push_back(strength * 0.2 * rng.normal());
  }
  // A sparse strong signature: a few features move a lot (as drug targets' readouts do).
  for (int i = 0; i < std::min(6, d); ++i) {
    const auto j = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(d)));
    map.shift[j] += strength * (rng.uniform() < 0.5 ? -1.0 : 1.0) * rng.uniform(0.4, 1.0);
  }
  // Subpopulation gates: respond in ~3/4 of the subpopulations (at least two).
  const std::vector<double> center = mix.mean();
  const std::size_t n_comp = mix.comps.size();
  std::vector<char> respond(n_comp);
  std::size_t responding = 0;
  for (auto& r : respond) responding += (r = rng.uniform() < 0.75);
  for (std::size_t m = 0; responding < 2 && m < n_comp; ++m) {
    if (respond[m]) continue;
    respond[m] = 1;
    ++responding;
  }
  for (std::size_t m = 0; m < n_comp; ++m) {
    const std::vector<double> jitter = random_unit(rng, d);
    const double size = strength * rng.uniform(0.8, 2.2) * h;
    if (!respond[m]) continue;
    std::vector<double> e(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j)
      e[static_cast<std::size_t>(j)] =
          mix.comps[m].mean[static_cast<std::size_t>(j)] - center[static_cast<std::size_t>(j)];
    normalize(e);
    auto separation = [&](const std::vector<double>& dir, double& threshold, double& sd) {
      const double own = dot(dir.data(), mix.comps[m].mean.data(), d);
      double other = -1e300;
      for (std::size_t i = 0; i < n_comp; ++i)
        if (i != m) other = std::max(other, dot(dir.data(), mix.comps[i].mean.data(), d));
      threshold = 0.5 * (own + other);
      sd = mix.comps[m].sd_along(dir);
      return own - other;
    };
    // Rotate the gate a little per perturbation so responses differ in direction, unless that
    // costs the gate its selectivity for the subpopulation.
    std::vector<double> dir = e;
    for (int j = 0; j < d; ++j) dir[static_cast<std::size_t>(j)] += 0.35 * jitter[static_cast<std::size_t>(j)];
    normalize(dir);
    double threshold = 0, sd = 1;
    if (separation(dir, threshold, sd) < 3.0 * sd) {
      dir = e;
      separation(dir, threshold, sd);
    }
    add_gate(map, dir, 3.0 / sd, threshold, size);
  }
  // Graded responses over all cells along random directions.
  for (int g = 0; g < 2; ++g) {
    const std::vector<double> dir = random_unit(rng, d);
    const double p_center = dot(dir.data(), center.data(), d);
    double spread = 0;
    for (const auto& c : mix.comps) {
      const double p = dot(dir.data(), c.mean.data(), d) - p_center;
      const double s = c.sd_along(dir);
      spread += (p * p + s * s) / static_cast<double>(n_comp);
    }
    add_gate(map, dir, 1.5 / std::sqrt(spread), p_center, strength * rng.uniform(0.3, 0.9) * h);
  }
  return map;
}

}  // namespace synth_detail

using synth_detail::Component;
using synth_detail::Mixture;

std::vector<std::string> feature_names_4i() {
  std::vector<std::string> names;
  const char* shapes[] = {"Area",        "Perimeter",       "Eccentricity",    "Solidity",
                          "Extent",      "MajorAxisLength", "MinorAxisLength", "FormFactor",
                          "Compactness", "Orientation",     "MeanRadius"};
  for (const char* object : {"Cell", "Nuclei"})
    for (const char* s : shapes) names.push_back(std::string(object) + "_" + s);
  const char* markers[] = {"Sox9", "pERK",  "MelA", "CD44", "Ki67",     "p21", "pRB",
                           "MITF", "pEGFR", "cJun", "pMEK", "Vimentin", "pS6"};
  for (const char* m : markers)
    for (const char* object : {"Nuclei", "Cell"}) names.push_back(std::string("Intensity_") + object + "_" + m);
  return names;
}

std::vector<std::pair<std::string, std::int64_t>> counts_4i() {
  return {{"control", 11526},
          {"Erlotinib", 2364},
          {"Imatinib", 2650},
          {"Trametinib", 2683},
          {"Trametinib+Erlotinib", 2417}};
}

Matrix SynthMap::apply(const Matrix& x_in) const {
  const std::int64_t d = dim();
  CELLOT_CHECK(x_in.cols == d,
               "synthetic map has " + std::to_string(d) + " features, cells have " + std::to_string(x_in.cols));
  const double c = feature_scale;
  Matrix scaled_x;
  if (c != 1.0) {
    scaled_x = x_in;
    for (double& v : scaled_x.data) v /= c;
  }
  const Matrix& x = c != 1.0 ? scaled_x : x_in;
  Matrix y(x.rows, d);
  for (std::int64_t i = 0; i < x.rows; ++i) {
    const double* xi = x.row(i);
    double* yi = y.row(i);
    for (std::int64_t j = 0; j < d; ++j)
      yi[j] = scale[static_cast<std::size_t>(j)] * xi[j] + shift[static_cast<std::size_t>(j)];
    for (std::int64_t m = 0; m < u.rows; ++m) {
      const double* um = u.row(m);
      const double w = a[static_cast<std::size_t>(m)] * sigmoid(dot(um, xi, d) - t[static_cast<std::size_t>(m)]);
      for (std::int64_t j = 0; j < d; ++j) yi[j] += w * um[j];
    }
  }
  if (c != 1.0)
    for (double& v : y.data) v *= c;
  return y;
}

double SynthMap::potential(const double* x) const {
  const std::int64_t d = dim();
  double phi = 0;
  for (std::int64_t j = 0; j < d; ++j)
    phi += 0.5 * scale[static_cast<std::size_t>(j)] * x[j] * x[j] + shift[static_cast<std::size_t>(j)] * x[j];
  for (std::int64_t m = 0; m < u.rows; ++m)
    phi += a[static_cast<std::size_t>(m)] * softplus(dot(u.row(m), x, d) - t[static_cast<std::size_t>(m)]);
  return phi;
}

void store_map(io::AnnData& into, const std::string& perturbation, const SynthMap& map) {
  const std::string base = std::string(SynthMaps::kUnsRoot) + "/maps/" + perturbation + "/";
  const std::int64_t d = map.dim(), g = map.u.rows;
  into.uns_arrays[base + "scale"] = {{d}, map.scale};
  into.uns_arrays[base + "shift"] = {{d}, map.shift};
  into.uns_arrays[base + "u"] = {{g, d}, map.u.data};
  into.uns_arrays[base + "a"] = {{g}, map.a};
  into.uns_arrays[base + "t"] = {{g}, map.t};
}

io::AnnData make_synthetic(const SynthOptions& opt) {
  const std::string where = "command line";
  if (opt.preset != "4i" && opt.preset != "screen")
    throw InputError(where, "--preset", opt.preset,
                     opt.preset == "scrna" ? "the scrna preset is written by write_synthetic_scrna"
                                           : "unknown preset (4i | screen | scrna)");
  if (!(opt.cells_scale > 0) || !std::isfinite(opt.cells_scale)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", opt.cells_scale);
    throw InputError(where, "--cells-scale", buf, "must be a positive number");
  }
  if (!(opt.feature_scale > 0) || !std::isfinite(opt.feature_scale)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", opt.feature_scale);
    throw InputError(where, "--feature-scale", buf, "must be a positive number");
  }
  if (!(opt.heterogeneity > 0) || !std::isfinite(opt.heterogeneity)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", opt.heterogeneity);
    throw InputError(where, "--heterogeneity", buf, "must be a positive number");
  }
  std::vector<std::pair<std::string, std::int64_t>> counts;
  std::vector<std::string> features;
  std::vector<double> strengths;
  if (opt.preset == "4i") {
    if (opt.features != 48)
      throw InputError(where, "--features", std::to_string(opt.features), "the 4i preset has 48 features");
    features = feature_names_4i();
    for (const auto& [name, n] : counts_4i()) counts.emplace_back(name, scaled(n, opt.cells_scale));
    strengths.assign(counts.size() - 1, 1.0);
  } else {
    if (opt.perturbations < 1)
      throw InputError(where, "--perturbations", std::to_string(opt.perturbations), "must be at least 1");
    if (opt.features < 2 || opt.features > 100000)
      throw InputError(where, "--features", std::to_string(opt.features), "must be in [2, 100000]");
    features = screen_feature_names(opt.features);
    counts.emplace_back("control", scaled(4000, opt.cells_scale));
    const int width = opt.perturbations > 1000 ? static_cast<int>(std::to_string(opt.perturbations - 1).size()) : 3;
    for (int k = 0; k < opt.perturbations; ++k) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "drug_%0*d", width, k);
      Rng rng(opt.seed, std::string("synth/count/") + buf);
      counts.emplace_back(buf, scaled(150 + static_cast<std::int64_t>(rng.below(1351)), opt.cells_scale));
      // Effects from near-null to strong, as in a real screen.
      const double u = rng.uniform();
      strengths.push_back(0.1 + 1.4 * u * u);
    }
  }
  const int d = static_cast<int>(features.size());
  const Mixture mix = synth_detail::make_mixture(d, opt.seed, kLines);

  io::AnnData out;
  std::int64_t total = 0;
  for (const auto& c : counts) total += c.second;
  out.X = Matrix(total, d);
  std::vector<std::string> condition, line, subpop, names;
  condition.reserve(static_cast<std::size_t>(total));
  line.reserve(static_cast<std::size_t>(total));
  subpop.reserve(static_cast<std::size_t>(total));
  names.reserve(static_cast<std::size_t>(total));
  std::vector<std::string> perturbations;
  std::int64_t row = 0;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    const auto& [name, n] = counts[c];
    const bool control = c == 0;
    SynthMap map;
    if (!control) {
      map = synth_detail::make_map(mix, name, strengths[c - 1], opt.seed, opt.heterogeneity);
      store_map(out, name, map);
      perturbations.push_back(name);
    }
    Rng rng(opt.seed, "synth/cells/" + name);
    Matrix x(n, d);
    std::vector<std::size_t> comp(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i)
      comp[static_cast<std::size_t>(i)] = mix.sample(rng, static_cast<int>(i % kLines), x.row(i));
    const Matrix y = control ? x : map.apply(x);
    std::copy(y.data.begin(), y.data.end(), out.X.row(row));
    for (std::int64_t i = 0; i < n; ++i) {
      const Component& k = mix.comps[comp[static_cast<std::size_t>(i)]];
      condition.push_back(name);
      line.push_back(k.line);
      subpop.push_back(k.name);
      char buf[32];
      std::snprintf(buf, sizeof buf, "cell_%06lld", static_cast<long long>(row + i + 1));
      names.emplace_back(buf);
    }
    row += n;
  }
  std::vector<std::string> categories;
  for (const auto& c : counts) categories.push_back(c.first);
  std::vector<std::string> subpop_names;
  for (const auto& k : mix.comps) subpop_names.push_back(k.name);
  out.obs.index = std::move(names);
  out.obs.columns.push_back(io::Column::make_categorical("condition", condition, categories));
  out.obs.columns.push_back(io::Column::make_categorical("cell_line", line, mix.lines));
  out.obs.columns.push_back(io::Column::make_categorical("subpopulation", subpop, subpop_names));
  out.var.index = features;
  const std::string root = SynthMaps::kUnsRoot;
  out.uns_strings[root + "/family"] = SynthMaps::kFamily;
  out.uns_strings[root + "/preset"] = opt.preset;
  out.uns_strings[root + "/seed"] = std::to_string(opt.seed);
  out.uns_strings[root + "/preprocess"] = "none";
  out.uns_string_arrays[root + "/perturbations"] = perturbations;
  if (opt.feature_scale != 1.0) {
    for (double& v : out.X.data) v *= opt.feature_scale;
    out.uns_numbers[root + "/feature_scale"] = opt.feature_scale;
  }
  if (opt.heterogeneity != 1.0) out.uns_numbers[root + "/heterogeneity"] = opt.heterogeneity;
  return out;
}

// ---- reading the ground truth back ----

namespace {

SynthDecoder read_decoder(const io::AnnData& uns, const std::string& origin) {
  const std::string root = std::string(SynthMaps::kUnsRoot) + "/decoder/";
  auto array = [&](const char* part, std::size_t rank) -> const io::AnnData::Array& {
    auto it = uns.uns_arrays.find(root + part);
    if (it == uns.uns_arrays.end()) throw InputError(origin, "uns/" + root + part, "", "missing decoder parameter");
    if (it->second.shape.size() != rank)
      throw InputError(origin, "uns/" + root + part, std::to_string(it->second.shape.size()) + "-d",
                       "expected " + std::to_string(rank) + "-d");
    return it->second;
  };
  SynthDecoder d;
  const auto& w = array("loadings", 2);
  d.loadings = Matrix(w.shape[0], w.shape[1]);
  d.loadings.data = w.data;
  d.offset = array("offset", 1).data;
  if (static_cast<std::int64_t>(d.offset.size()) != d.loadings.rows)
    throw InputError(origin, "uns/" + root + "offset", std::to_string(d.offset.size()),
                     "has not one value per gene of the loadings");
  d.nb_shape = array("nb_shape", 1).data;
  if (d.nb_shape.size() != d.offset.size())
    throw InputError(origin, "uns/" + root + "nb_shape", std::to_string(d.nb_shape.size()),
                     "has not one value per gene of the loadings");
  for (double s : d.nb_shape)
    if (!(s > 0)) throw InputError(origin, "uns/" + root + "nb_shape", std::to_string(s), "must be positive");
  d.line_depth = array("line_depth", 1).data;
  auto number = [&](const char* part, bool required, double fallback) {
    auto it = uns.uns_numbers.find(root + part);
    if (it == uns.uns_numbers.end() && !required) return fallback;
    if (it == uns.uns_numbers.end() || !(it->second >= 0))
      throw InputError(origin, "uns/" + root + part, it == uns.uns_numbers.end() ? "" : std::to_string(it->second),
                       "missing or negative");
    return it->second;
  };
  d.library_size = number("library_size", true, 0);
  // Files written before library_sd was stored all used the preset's constant.
  d.library_sd = number("library_sd", false, synth_detail::kLibrarySd);
  if (auto seed = uns.uns_strings.find(std::string(SynthMaps::kUnsRoot) + "/seed"); seed != uns.uns_strings.end()) {
    try {
      d.seed = std::stoull(seed->second);
    } catch (const std::exception&) {
      throw InputError(origin, std::string("uns/") + SynthMaps::kUnsRoot + "/seed", seed->second, "not an integer");
    }
  }
  auto ts = uns.uns_numbers.find(root + "target_sum");
  if (ts == uns.uns_numbers.end() || !(ts->second > 0))
    throw InputError(origin, "uns/" + root + "target_sum", "", "missing or not positive");
  d.target_sum = ts->second;
  auto key = uns.uns_strings.find(root + "latent_key");
  if (key == uns.uns_strings.end() || key->second.empty())
    throw InputError(origin, "uns/" + root + "latent_key", "", "missing obsm key of the latent states");
  d.latent_key = key->second;
  return d;
}

}  // namespace

Matrix SynthDecoder::proportions(const Matrix& z) const {
  CELLOT_CHECK(z.cols == loadings.cols, "latent states have " + std::to_string(z.cols) + " dimensions, the decoder " +
                                            std::to_string(loadings.cols));
  const std::int64_t g = loadings.rows;
  Matrix p(z.rows, g);
  for (std::int64_t i = 0; i < z.rows; ++i) {
    double* pi = p.row(i);
    double top = -1e300;
    for (std::int64_t j = 0; j < g; ++j) {
      pi[j] = offset[static_cast<std::size_t>(j)] + synth_detail::dot(loadings.row(j), z.row(i), z.cols);
      top = std::max(top, pi[j]);
    }
    double sum = 0;
    for (std::int64_t j = 0; j < g; ++j) sum += (pi[j] = std::exp(pi[j] - top));
    for (std::int64_t j = 0; j < g; ++j) pi[j] /= sum;
  }
  return p;
}

Matrix SynthDecoder::log_normalised(const Matrix& z) const {
  Matrix p = proportions(z);
  for (double& v : p.data) v = std::log1p(target_sum * v);
  return p;
}

Matrix SynthDecoder::expected_log_normalised(const Matrix& z, const std::vector<std::int32_t>& line,
                                             const std::vector<std::int64_t>& rows, const std::string& stream,
                                             const ParallelFor& parallel) const {
  CELLOT_CHECK(line.size() == static_cast<std::size_t>(z.rows) && rows.size() == line.size(),
               "expected_log_normalised: one cell line and row per latent state");
  const Matrix p = proportions(z);
  const std::int64_t g = p.cols;
  Matrix out(z.rows, g);
  auto cell = [&](std::int64_t i) {
    Rng rng(seed, stream + "/" + std::to_string(rows[static_cast<std::size_t>(i)]));
    const double depth = line_depth[static_cast<std::size_t>(line[static_cast<std::size_t>(i)])];
    std::vector<double> counts(static_cast<std::size_t>(g));
    double* oi = out.row(i);
    const double* pi = p.row(i);
    for (int draw = 0; draw < kTruthDraws; ++draw) {
      const double library = library_size * std::exp(depth + library_sd * rng.normal());
      double total = 0;
      for (std::int64_t j = 0; j < g; ++j) {
        const double shape = nb_shape[static_cast<std::size_t>(j)];
        const auto c = static_cast<double>(
            synth_detail::poisson_draw(rng, synth_detail::gamma_draw(rng, shape) * library * pi[j] / shape));
        counts[static_cast<std::size_t>(j)] = c;
        total += c;
      }
      if (total == 0) continue;  // a cell without counts: X is all zero
      for (std::int64_t j = 0; j < g; ++j)
        oi[j] += std::log1p(target_sum * counts[static_cast<std::size_t>(j)] / total);
    }
    for (std::int64_t j = 0; j < g; ++j) oi[j] /= kTruthDraws;
  };
  if (parallel) {
    parallel(z.rows, cell);
  } else {
    for (std::int64_t i = 0; i < z.rows; ++i) cell(i);
  }
  return out;
}

const SynthDecoder& SynthMaps::decoder() const {
  CELLOT_CHECK(decoder_ != nullptr, "synthetic ground truth of " + origin_ + " has no decoder");
  return *decoder_;
}

Matrix SynthMaps::truth(const std::string& perturbation, const Matrix& features, const std::vector<std::int64_t>& rows,
                        const io::H5adReader& reader, const ParallelFor& parallel) const {
  if (!decoder_) return apply(perturbation, features);
  const Matrix z = reader.read_obsm_rows(decoder_->latent_key, rows);
  const io::Column& lines = reader.obs().require("cell_line", origin_, "obs");
  std::vector<std::int32_t> line;
  line.reserve(rows.size());
  for (std::int64_t r : rows) {
    const std::int32_t code = lines.codes.empty() ? -1 : lines.codes[static_cast<std::size_t>(r)];
    if (code < 0 || static_cast<std::size_t>(code) >= decoder_->line_depth.size())
      throw InputError(origin_, "obs/cell_line", std::to_string(code) + " at row " + std::to_string(r),
                       "not one of the " + std::to_string(decoder_->line_depth.size()) +
                           " cell lines of uns/cellot_synth/decoder/line_depth");
    line.push_back(code);
  }
  return decoder_->expected_log_normalised(apply(perturbation, z), line, rows, "synth/scrna/truth/" + perturbation,
                                           parallel);
}

bool SynthMaps::present(const io::AnnData& uns) { return uns.uns_strings.count(std::string(kUnsRoot) + "/family") > 0; }

SynthMaps::SynthMaps(const io::AnnData& uns, const std::string& origin) : origin_(origin) {
  const std::string root = kUnsRoot;
  auto fam = uns.uns_strings.find(root + "/family");
  if (fam == uns.uns_strings.end())
    throw InputError(origin, "uns/" + root + "/family", "",
                     "no synthetic ground truth in this file (not made by cellot synth)");
  if (fam->second != kFamily && fam->second != kLatentFamily)
    throw InputError(origin, "uns/" + root + "/family", fam->second,
                     std::string("unknown map family (expected ") + kFamily + " or " + kLatentFamily + ")");
  family_ = fam->second;
  if (family_ == kLatentFamily) decoder_ = std::make_shared<const SynthDecoder>(read_decoder(uns, origin));
  if (auto p = uns.uns_strings.find(root + "/preset"); p != uns.uns_strings.end()) preset_ = p->second;
  auto list = uns.uns_string_arrays.find(root + "/perturbations");
  if (list == uns.uns_string_arrays.end())
    throw InputError(origin, "uns/" + root + "/perturbations", "", "missing list of perturbations");
  for (const auto& p : list->second) {
    const std::string base = root + "/maps/" + p + "/";
    auto get = [&](const char* part, std::size_t rank) -> const io::AnnData::Array& {
      auto it = uns.uns_arrays.find(base + part);
      if (it == uns.uns_arrays.end()) throw InputError(origin, "uns/" + base + part, "", "missing map parameter");
      if (it->second.shape.size() != rank)
        throw InputError(origin, "uns/" + base + part, std::to_string(it->second.shape.size()) + "-d",
                         "expected " + std::to_string(rank) + "-d");
      return it->second;
    };
    SynthMap m;
    m.scale = get("scale", 1).data;
    m.shift = get("shift", 1).data;
    const auto& u = get("u", 2);
    m.a = get("a", 1).data;
    m.t = get("t", 1).data;
    const auto d = static_cast<std::int64_t>(m.scale.size());
    if (static_cast<std::int64_t>(m.shift.size()) != d || u.shape[1] != d ||
        u.shape[0] != static_cast<std::int64_t>(m.a.size()) || m.a.size() != m.t.size())
      throw InputError(origin, "uns/" + base, p, "map parameters have inconsistent shapes");
    for (double s : m.scale)
      if (!(s > 0))
        throw InputError(origin, "uns/" + base + "scale", std::to_string(s), "must be positive (convex potential)");
    for (double a : m.a)
      if (!(a > 0))
        throw InputError(origin, "uns/" + base + "a", std::to_string(a), "must be positive (convex potential)");
    m.u = Matrix(u.shape[0], d);
    m.u.data = u.data;
    if (auto c = uns.uns_numbers.find(root + "/feature_scale"); c != uns.uns_numbers.end()) m.feature_scale = c->second;
    maps_.emplace(p, std::move(m));
    order_.push_back(p);
  }
}

SynthMaps SynthMaps::from_file(const std::string& path) {
  io::H5adReader reader(path);
  io::AnnData uns;
  reader.read_uns(uns);
  return SynthMaps(uns, path);
}

const SynthMap& SynthMaps::map(const std::string& perturbation) const {
  auto it = maps_.find(perturbation);
  if (it == maps_.end())
    throw InputError(origin_, "perturbation", perturbation, "no synthetic ground-truth map for this perturbation");
  return it->second;
}

Matrix true_map(const io::AnnData& uns, const std::string& perturbation, const Matrix& x) {
  return SynthMaps(uns, "uns").apply(perturbation, x);
}

}  // namespace cellot::data
