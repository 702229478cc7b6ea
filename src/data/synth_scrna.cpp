// The scrna preset: sparse counts from a low-rank latent model, with known latent OT maps.
//
// Every cell has a latent state z (latent dims): control cells are drawn from the cell lines'
// mixtures (synth_detail::Mixture, three subpopulations per line), treated cells of
// perturbation k are T_k(z0) for a fresh control-distribution draw z0 of their line, T_k the
// gradient of a convex potential (the same map family as the 4i preset, in the latent space).
// Genes: proportions p(z) = softmax(offset + loadings z); a cell's library size is log-normal
// around --library-size (a per-line factor); counts are negative binomial (gamma-Poisson) with
// mean library * p_g(z) and a per-gene shape. X = log1p(target_sum * counts / total counts) as
// scanpy's normalize_total(target_sum=1e4) + log1p, layers/counts the counts (int32).
//
// Deterministic in the options: cells are generated in blocks of kBlock rows, each block from
// its own random stream, and written block by block (memory ~ one block plus obs).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/h5ad.hpp"
#include "synth_detail.hpp"

namespace cellot::data {

namespace synth_detail {

// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 by the boost u^(1/shape).
double gamma_draw(Rng& rng, double shape) {
  if (shape < 1) return gamma_draw(rng, shape + 1) * std::pow(rng.uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3, c = 1.0 / std::sqrt(9 * d);
  for (;;) {
    double x = 0, v = 0;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = rng.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

// Poisson(lambda): multiplication of uniforms below 10, else Hörmann's PTRS (as numpy).
std::int64_t poisson_draw(Rng& rng, double lambda) {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) {
    const double limit = std::exp(-lambda);
    std::int64_t k = 0;
    double p = rng.uniform();
    while (p > limit) {
      ++k;
      p *= rng.uniform();
    }
    return k;
  }
  const double slam = std::sqrt(lambda), loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = rng.uniform() - 0.5, v = rng.uniform(), us = 0.5 - std::abs(u);
    const auto k = static_cast<std::int64_t>(std::floor((2 * a / us + b) * u + lambda + 0.43));
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
        -lambda + static_cast<double>(k) * loglam - std::lgamma(static_cast<double>(k) + 1))
      return k;
  }
}

}  // namespace synth_detail

namespace {

using synth_detail::gamma_draw;
using synth_detail::poisson_draw;

constexpr std::int64_t kBlock = 1024;
constexpr const char* kLatentKey = "cellot_latent";
constexpr const char* kSourceKey = "cellot_latent_source";

struct Model {
  synth_detail::Mixture mix;
  SynthDecoder decoder;
  std::vector<double> shape;       // NB shape per gene
  std::vector<double> line_depth;  // log library factor per cell line
  std::vector<std::string> conditions;  // control, then the perturbations
  std::vector<std::int64_t> counts;     // cells per condition
  std::vector<double> strength;         // per perturbation
  std::vector<SynthMap> maps;           // per perturbation
};

// prefix + value zero-padded to `width` digits.
std::string padded(const char* prefix, long long value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return prefix + digits;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_options(const SynthOptions& o) {
  const std::string where = "command line";
  if (o.perturbations < 1 || o.perturbations > 100000)
    throw InputError(where, "--perturbations", std::to_string(o.perturbations), "must be in [1, 100000]");
  if (o.genes < 2 || o.genes > 1000000) throw InputError(where, "--genes", std::to_string(o.genes), "must be in [2, 1000000]");
  if (o.cell_lines < 1 || o.cell_lines > 1000)
    throw InputError(where, "--cell-lines", std::to_string(o.cell_lines), "must be in [1, 1000]");
  if (o.latent < 1 || o.latent > 1000) throw InputError(where, "--latent", std::to_string(o.latent), "must be in [1, 1000]");
  if (o.latent >= o.genes)
    throw InputError(where, "--latent", std::to_string(o.latent), "must be below --genes (" + std::to_string(o.genes) + ")");
  if (!(o.control_fraction >= 0 && o.control_fraction < 1))
    throw InputError(where, "--control-fraction", number(o.control_fraction), "must be in [0, 1) (0 = automatic)");
  if (!(o.library_size >= 1 && o.library_size <= 1e7))
    throw InputError(where, "--library-size", number(o.library_size), "must be in [1, 1e7]");
  if (o.cells < 2 * (o.perturbations + 1))
    throw InputError(where, "--cells", std::to_string(o.cells),
                     "too few for " + std::to_string(o.perturbations) + " perturbations (at least 2 per condition)");
}

// Cells per condition: the control share, the rest over the perturbations by random weights in
// [0.5, 1.5] (largest remainder, at least one cell each).
void plan_counts(const SynthOptions& o, Model& m) {
  const double frac = o.control_fraction > 0 ? o.control_fraction
                                             : std::max(0.05, 1.0 / static_cast<double>(o.perturbations + 1));
  const std::int64_t n0 = std::max<std::int64_t>(2, std::llround(frac * static_cast<double>(o.cells)));
  const std::int64_t rest = o.cells - n0;
  const std::size_t width = std::max<std::size_t>(3, std::to_string(o.perturbations - 1).size());
  std::vector<double> w;
  double total = 0;
  m.conditions = {"control"};
  for (int k = 0; k < o.perturbations; ++k) {
    const std::string name = padded("drug_", k, width);
    m.conditions.push_back(name);
    Rng rng(o.seed, "synth/scrna/count/" + name);
    w.push_back(rng.uniform(0.5, 1.5));
    total += w.back();
    const double u = rng.uniform();
    m.strength.push_back(0.1 + 1.4 * u * u);  // near-null to strong, as in a real screen
  }
  m.counts = {n0};
  std::int64_t given = 0;
  std::vector<std::pair<double, int>> remainder;
  for (int k = 0; k < o.perturbations; ++k) {
    const double share = w[static_cast<std::size_t>(k)] / total * static_cast<double>(rest);
    m.counts.push_back(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(share))));
    given += m.counts.back();
    remainder.emplace_back(-(share - std::floor(share)), k);
  }
  std::sort(remainder.begin(), remainder.end());
  for (std::size_t i = 0; given < rest; i = (i + 1) % remainder.size(), ++given)
    ++m.counts[static_cast<std::size_t>(remainder[i].second) + 1];
  for (std::size_t i = 0; given > rest; i = (i + 1) % remainder.size())
    if (m.counts[static_cast<std::size_t>(remainder[i].second) + 1] > 1) {
      --m.counts[static_cast<std::size_t>(remainder[i].second) + 1];
      --given;
    }
}

Model make_model(const SynthOptions& o) {
  Model m;
  m.mix = synth_detail::make_mixture(o.latent, o.seed, o.cell_lines);
  plan_counts(o, m);
  Rng rng(o.seed, "synth/scrna/decoder");
  const double load_sd = 0.6 / std::sqrt(static_cast<double>(o.latent));
  m.decoder.loadings = Matrix(o.genes, o.latent);
  for (double& v : m.decoder.loadings.data) v = load_sd * rng.normal();
  for (int g = 0; g < o.genes; ++g) {
    m.decoder.offset.push_back(1.5 * rng.normal());
    m.shape.push_back(std::exp(std::log(4.0) + 0.4 * rng.normal()));
  }
  for (int l = 0; l < o.cell_lines; ++l) m.line_depth.push_back(0.15 * rng.normal());
  m.decoder.target_sum = 1e4;
  m.decoder.latent_key = kLatentKey;
  for (std::size_t k = 1; k < m.conditions.size(); ++k)
    m.maps.push_back(synth_detail::make_map(m.mix, m.conditions[k], m.strength[k - 1], o.seed));
  return m;
}

// Condition and cell line of every row: grouped by condition (lines alternating), or shuffled.
void plan_rows(const SynthOptions& o, const Model& m, std::vector<std::int32_t>& cond, std::vector<std::int32_t>& line) {
  for (std::size_t c = 0; c < m.counts.size(); ++c)
    for (std::int64_t i = 0; i < m.counts[c]; ++i) {
      cond.push_back(static_cast<std::int32_t>(c));
      line.push_back(static_cast<std::int32_t>(i % o.cell_lines));
    }
  if (!o.shuffle) return;
  std::vector<std::int64_t> perm(cond.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<std::int64_t>(i);
  Rng rng(o.seed, "synth/scrna/order");
  rng.shuffle(perm);
  std::vector<std::int32_t> c2(cond.size()), l2(cond.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    c2[i] = cond[static_cast<std::size_t>(perm[i])];
    l2[i] = line[static_cast<std::size_t>(perm[i])];
  }
  cond.swap(c2);
  line.swap(l2);
}

// Per-cell outputs kept for obs / obsm.
struct CellMeta {
  std::vector<std::int32_t> subpop;
  std::vector<double> total;
  Matrix latent, source;
};

// One block of rows [r0, r1): latent states, counts, the CSR pieces.
void generate_block(const SynthOptions& o, const Model& m, const std::vector<std::int32_t>& cond,
                    const std::vector<std::int32_t>& line, std::int64_t r0, std::int64_t r1, CellMeta& meta,
                    io::H5adCsrWriter& out) {
  Rng rng(o.seed, "synth/scrna/block/" + std::to_string(r0 / kBlock));
  const std::int64_t n = r1 - r0, d = o.latent, genes = o.genes;
  Matrix z(n, d);
  std::vector<double> library(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<std::size_t>(r0 + i);
    meta.subpop[r] = static_cast<std::int32_t>(m.mix.sample(rng, line[r], meta.source.row(r0 + i)));
    std::copy(meta.source.row(r0 + i), meta.source.row(r0 + i) + d, z.row(i));
    if (cond[r] > 0) {
      Matrix x(1, d);
      std::copy(z.row(i), z.row(i) + d, x.row(0));
      const Matrix y = m.maps[static_cast<std::size_t>(cond[r] - 1)].apply(x);
      std::copy(y.row(0), y.row(0) + d, z.row(i));
    }
    std::copy(z.row(i), z.row(i) + d, meta.latent.row(r0 + i));
    library[static_cast<std::size_t>(i)] =
        o.library_size *
        std::exp(m.line_depth[static_cast<std::size_t>(line[r])] + synth_detail::kLibrarySd * rng.normal());
  }
  const Matrix p = m.decoder.proportions(z);
  std::vector<std::int64_t> row_nnz;
  std::vector<std::int32_t> indices, counts;
  std::vector<float> values;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::size_t first = indices.size();
    std::int64_t total = 0;
    for (std::int64_t g = 0; g < genes; ++g) {
      const double shape = m.shape[static_cast<std::size_t>(g)];
      const double mean = library[static_cast<std::size_t>(i)] * p(i, g);
      const std::int64_t c = poisson_draw(rng, gamma_draw(rng, shape) * mean / shape);
      if (c == 0) continue;
      indices.push_back(static_cast<std::int32_t>(g));
      counts.push_back(static_cast<std::int32_t>(std::min<std::int64_t>(c, 2147483647)));
      total += c;
    }
    for (std::size_t k = first; k < indices.size(); ++k)
      values.push_back(static_cast<float>(
          std::log1p(m.decoder.target_sum * static_cast<double>(counts[k]) / static_cast<double>(total))));
    row_nnz.push_back(static_cast<std::int64_t>(indices.size() - first));
    meta.total[static_cast<std::size_t>(r0 + i)] = static_cast<double>(total);
  }
  out.append(row_nnz, indices, values, {counts});
}

io::Column categorical(const std::string& name, std::vector<std::string> categories, const std::vector<std::int32_t>& codes) {
  io::Column c;
  c.name = name;
  c.kind = io::Column::Kind::categorical;
  c.categories = std::move(categories);
  c.codes = codes;
  return c;
}

void fill_meta(const SynthOptions& o, const Model& m, const std::vector<std::int32_t>& cond,
               const std::vector<std::int32_t>& line, CellMeta&& meta, io::AnnData& out) {
  const auto n = static_cast<std::int64_t>(cond.size());
  out.obs.index.reserve(static_cast<std::size_t>(n));
  const std::size_t width = std::max<std::size_t>(6, std::to_string(n).size());
  for (std::int64_t r = 0; r < n; ++r) out.obs.index.push_back(padded("cell_", r + 1, width));
  std::vector<std::string> subpops;
  for (const auto& c : m.mix.comps) subpops.push_back(c.name);
  out.obs.columns.push_back(categorical("condition", m.conditions, cond));
  out.obs.columns.push_back(categorical("cell_line", m.mix.lines, line));
  out.obs.columns.push_back(categorical("subpopulation", subpops, meta.subpop));
  out.obs.columns.push_back(io::Column::make_floats("total_counts", std::move(meta.total)));
  const std::size_t gwidth = std::max<std::size_t>(4, std::to_string(o.genes - 1).size());
  for (int g = 0; g < o.genes; ++g) out.var.index.push_back(padded("gene_", g, gwidth));
  out.obsm[kLatentKey] = std::move(meta.latent);
  out.obsm[kSourceKey] = std::move(meta.source);
  const std::string root = SynthMaps::kUnsRoot;
  out.uns_strings[root + "/family"] = SynthMaps::kLatentFamily;
  out.uns_strings[root + "/preset"] = "scrna";
  out.uns_strings[root + "/seed"] = std::to_string(o.seed);
  out.uns_strings[root + "/preprocess"] = "none";
  out.uns_strings[root + "/truth_layer"] = "X";
  out.uns_string_arrays[root + "/perturbations"] =
      std::vector<std::string>(m.conditions.begin() + 1, m.conditions.end());
  out.uns_arrays[root + "/strength"] = {{static_cast<std::int64_t>(m.strength.size())}, m.strength};
  out.uns_arrays[root + "/decoder/loadings"] = {{m.decoder.loadings.rows, m.decoder.loadings.cols}, m.decoder.loadings.data};
  out.uns_arrays[root + "/decoder/offset"] = {{static_cast<std::int64_t>(o.genes)}, m.decoder.offset};
  out.uns_arrays[root + "/decoder/nb_shape"] = {{static_cast<std::int64_t>(o.genes)}, m.shape};
  out.uns_arrays[root + "/decoder/line_depth"] = {{static_cast<std::int64_t>(o.cell_lines)}, m.line_depth};
  out.uns_numbers[root + "/decoder/target_sum"] = m.decoder.target_sum;
  out.uns_numbers[root + "/decoder/library_size"] = o.library_size;
  out.uns_numbers[root + "/decoder/library_sd"] = synth_detail::kLibrarySd;
  out.uns_strings[root + "/decoder/latent_key"] = kLatentKey;
  out.uns_strings[root + "/decoder/source_key"] = kSourceKey;
  for (std::size_t k = 0; k < m.maps.size(); ++k) store_map(out, m.conditions[k + 1], m.maps[k]);
}

}  // namespace

std::int64_t write_synthetic_scrna(const SynthOptions& o, const std::string& path, bool progress) {
  check_options(o);
  const Model m = make_model(o);
  std::vector<std::int32_t> cond, line;
  plan_rows(o, m, cond, line);
  const auto n = static_cast<std::int64_t>(cond.size());
  CellMeta meta;
  meta.subpop.assign(static_cast<std::size_t>(n), 0);
  meta.total.assign(static_cast<std::size_t>(n), 0.0);
  meta.latent = Matrix(n, o.latent);
  meta.source = Matrix(n, o.latent);
  io::H5adCsrWriter out(path, o.genes, {"counts"});
  log::Progress bar("synth scrna", n, progress);
  for (std::int64_t r0 = 0; r0 < n; r0 += kBlock) {
    const std::int64_t r1 = std::min(n, r0 + kBlock);
    generate_block(o, m, cond, line, r0, r1, meta, out);
    bar.update(r1, "cells");
  }
  bar.finish(std::to_string(out.nnz()) + " non-zeros; writing the file");
  io::AnnData a;
  fill_meta(o, m, cond, line, std::move(meta), a);
  out.finish(a);
  return n;
}

}  // namespace cellot::data
