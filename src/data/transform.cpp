// Feature transforms (see transform.hpp): fit on training cells, apply, invert, serialise.
#include "cellot/data/transform.hpp"

#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/data/pca.hpp"

namespace cellot::data {

namespace {

constexpr const char* kFormat = "cellot-transform-1";

const char* scaling_name(FeatureTransform::Scaling s) {
  switch (s) {
    case FeatureTransform::Scaling::per_feature:
      return "per_feature";
    case FeatureTransform::Scaling::global:
      return "global";
    default:
      return "none";
  }
}

// Solves the symmetric positive definite system a x = b for every column of b (Cholesky).
Matrix solve_spd(Matrix a, Matrix b) {
  const std::int64_t n = a.rows;
  for (std::int64_t j = 0; j < n; ++j) {
    double s = a(j, j);
    for (std::int64_t k = 0; k < j; ++k) s -= a(j, k) * a(j, k);
    if (!(s > 0)) throw InputError("data", "data.embedding", "obsm", "the obsm coordinates of the training cells are collinear");
    a(j, j) = std::sqrt(s);
    for (std::int64_t i = j + 1; i < n; ++i) {
      double t = a(i, j);
      for (std::int64_t k = 0; k < j; ++k) t -= a(i, k) * a(j, k);
      a(i, j) = t / a(j, j);
    }
  }
  for (std::int64_t c = 0; c < b.cols; ++c) {
    for (std::int64_t i = 0; i < n; ++i) {
      double t = b(i, c);
      for (std::int64_t k = 0; k < i; ++k) t -= a(i, k) * b(k, c);
      b(i, c) = t / a(i, i);
    }
    for (std::int64_t i = n - 1; i >= 0; --i) {
      double t = b(i, c);
      for (std::int64_t k = i + 1; k < n; ++k) t -= a(k, i) * b(k, c);
      b(i, c) = t / a(i, i);
    }
  }
  return b;
}

// Least-squares linear map [e, 1] -> x over the rows (a tiny ridge keeps it defined when a
// coordinate is constant).
Matrix fit_linear_decoder(const Matrix& e, const Matrix& x) {
  const std::int64_t n = e.rows, k = e.cols, d = x.cols;
  Matrix ata(k + 1, k + 1), atx(k + 1, d);
  std::vector<double> row(static_cast<std::size_t>(k + 1));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t a = 0; a < k; ++a) row[static_cast<std::size_t>(a)] = e(i, a);
    row[static_cast<std::size_t>(k)] = 1.0;
    for (std::int64_t a = 0; a <= k; ++a) {
      const double ra = row[static_cast<std::size_t>(a)];
      for (std::int64_t b = 0; b <= k; ++b) ata(a, b) += ra * row[static_cast<std::size_t>(b)];
      const double* xi = x.row(i);
      double* out = atx.row(a);
      for (std::int64_t j = 0; j < d; ++j) out[j] += ra * xi[j];
    }
  }
  double trace = 0;
  for (std::int64_t a = 0; a <= k; ++a) trace += ata(a, a);
  for (std::int64_t a = 0; a <= k; ++a) ata(a, a) += 1e-12 * trace / static_cast<double>(k + 1);
  return solve_spd(ata, atx);
}

io::NamedArray array(const std::string& name, std::vector<std::int64_t> shape, std::vector<double> values) {
  return io::NamedArray{name, std::move(shape), std::move(values)};
}

}  // namespace

FeatureTransform FeatureTransform::identity(std::int64_t d) {
  FeatureTransform t;
  t.input_dim_ = t.dim_ = d;
  t.center_.assign(static_cast<std::size_t>(d), 0.0);
  t.scale_.assign(static_cast<std::size_t>(d), 1.0);
  return t;
}

FeatureTransform FeatureTransform::unscaled() const {
  FeatureTransform t = *this;
  t.scaling_ = Scaling::none;
  t.standardize_ = "false";
  t.center_.assign(static_cast<std::size_t>(dim_), 0.0);
  t.scale_.assign(static_cast<std::size_t>(dim_), 1.0);
  return t;
}

std::vector<std::string> FeatureTransform::names(const std::vector<std::string>& input_features) const {
  if (!embeds()) return input_features;
  std::vector<std::string> out;
  const std::string prefix = from_obsm() ? obsm_key() + "_" : from_ae() ? "AE" : "PC";
  for (std::int64_t i = 0; i < dim_; ++i) out.push_back(prefix + std::to_string(i + 1));
  return out;
}

Matrix FeatureTransform::embed(const Matrix& x) const {
  if (from_obsm()) throw InternalError(__FILE__, __LINE__, "an obsm embedding is read from the file, not computed");
  if (x.rows > 0 && x.cols != input_dim_)
    throw InputError("cells", "n_vars", std::to_string(x.cols),
                     "the transform was fitted on " + std::to_string(input_dim_) + " features");
  if (!embeds()) return x;
  if (from_ae()) return ae_.encode(x);
  // e = x C^T - mean C^T, the zeros of x skipped (most of a sparse scRNA-seq matrix: the cost
  // is ~ non-zeros x K instead of genes x K), summed over features in ascending order.
  const std::int64_t k = components_.rows, d = input_dim_;
  std::vector<double> ct(static_cast<std::size_t>(d * k)), mean_c(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < d; ++j) {
      ct[static_cast<std::size_t>(j * k + c)] = components_(c, j);
      mean_c[static_cast<std::size_t>(c)] += pca_mean_[static_cast<std::size_t>(j)] * components_(c, j);
    }
  Matrix e(x.rows, k);
  for (std::int64_t i = 0; i < x.rows; ++i) {
    const double* xi = x.row(i);
    double* ei = e.row(i);
    for (std::int64_t j = 0; j < d; ++j) {
      if (xi[j] == 0.0) continue;
      const double v = xi[j];
      const double* cj = ct.data() + j * k;
      for (std::int64_t c = 0; c < k; ++c) ei[c] += v * cj[c];
    }
    for (std::int64_t c = 0; c < k; ++c) ei[c] -= mean_c[static_cast<std::size_t>(c)];
  }
  return e;
}

Matrix FeatureTransform::standardize(const Matrix& e) const {
  if (e.rows > 0 && e.cols != dim_)
    throw InputError("cells", "n_vars", std::to_string(e.cols), "the transform expects " + std::to_string(dim_) + " features");
  if (scaling_ == Scaling::none) return e;
  Matrix z(e.rows, e.cols);
  for (std::int64_t i = 0; i < e.rows; ++i)
    for (std::int64_t j = 0; j < e.cols; ++j)
      z(i, j) = (e(i, j) - center_[static_cast<std::size_t>(j)]) / scale_[static_cast<std::size_t>(j)];
  return z;
}

Matrix FeatureTransform::unstandardize(const Matrix& z) const {
  if (z.rows > 0 && z.cols != dim_)
    throw InputError("cells", "n_vars", std::to_string(z.cols), "the transform expects " + std::to_string(dim_) + " features");
  if (scaling_ == Scaling::none) return z;
  Matrix e(z.rows, z.cols);
  for (std::int64_t i = 0; i < z.rows; ++i)
    for (std::int64_t j = 0; j < z.cols; ++j)
      e(i, j) = z(i, j) * scale_[static_cast<std::size_t>(j)] + center_[static_cast<std::size_t>(j)];
  return e;
}

Matrix FeatureTransform::decode_embedding(const Matrix& e) const {
  if (!embeds()) return e;
  if (from_ae()) return ae_.decode(e);
  const std::int64_t k = dim_, d = input_dim_;
  Matrix x(e.rows, d);
  for (std::int64_t i = 0; i < e.rows; ++i) {
    double* xi = x.row(i);
    if (from_obsm()) {
      const double* b = decoder_.row(k);
      for (std::int64_t j = 0; j < d; ++j) xi[j] = b[j];
      for (std::int64_t c = 0; c < k; ++c) {
        const double v = e(i, c);
        const double* w = decoder_.row(c);
        for (std::int64_t j = 0; j < d; ++j) xi[j] += v * w[j];
      }
    } else {
      for (std::int64_t j = 0; j < d; ++j) xi[j] = pca_mean_[static_cast<std::size_t>(j)];
      for (std::int64_t c = 0; c < k; ++c) {
        const double v = e(i, c);
        const double* comp = components_.row(c);
        for (std::int64_t j = 0; j < d; ++j) xi[j] += v * comp[j];
      }
    }
  }
  return x;
}

std::string FeatureTransform::describe() const {
  std::ostringstream os;
  os << "embedding " << embedding_ << " (" << input_dim_ << " -> " << dim_ << " features";
  if (std::isfinite(explained_)) os << ", " << std::fixed << std::setprecision(1) << 100.0 * explained_ << "% of the variance";
  os << "), standardize " << standardize_ << " (" << scaling_name(scaling_) << ")";
  return os.str();
}

io::ArrayGroup FeatureTransform::to_group() const {
  io::ArrayGroup g;
  std::ostringstream os;
  os << kFormat << "; embedding=" << embedding_ << "; standardize=" << standardize_
     << "; scaling=" << scaling_name(scaling_) << "; input_dim=" << input_dim_ << "; dim=" << dim_;
  g.spec = os.str();
  g.arrays.push_back(array("center", {dim_}, center_));
  g.arrays.push_back(array("scale", {dim_}, scale_));
  g.arrays.push_back(array("explained_variance", {1}, {explained_}));
  if (!pca_mean_.empty()) g.arrays.push_back(array("pca_mean", {input_dim_}, pca_mean_));
  if (components_.rows > 0) g.arrays.push_back(array("components", {components_.rows, components_.cols}, components_.data));
  if (decoder_.rows > 0) g.arrays.push_back(array("decoder", {decoder_.rows, decoder_.cols}, decoder_.data));
  if (!ae_.empty()) ae_.append_to(g.arrays);
  return g;
}

FeatureTransform FeatureTransform::from_group(const io::ArrayGroup& g, const std::string& origin) {
  FeatureTransform t;
  std::map<std::string, std::string> kv;
  std::istringstream is(g.spec);
  std::string part, head;
  std::getline(is, head, ';');
  if (head != kFormat) throw InputError(origin, "transform", g.spec, std::string("not a ") + kFormat + " transform");
  while (std::getline(is, part, ';')) {
    const auto b = part.find_first_not_of(' ');
    const auto eq = part.find('=');
    if (b == std::string::npos || eq == std::string::npos) continue;
    kv[part.substr(b, eq - b)] = part.substr(eq + 1);
  }
  auto need = [&](const std::string& key) {
    auto it = kv.find(key);
    if (it == kv.end()) throw InputError(origin, "transform", g.spec, "no " + key + " in the transform spec");
    return it->second;
  };
  t.embedding_ = need("embedding");
  t.standardize_ = need("standardize");
  const std::string sc = need("scaling");
  t.scaling_ = sc == "per_feature" ? Scaling::per_feature : sc == "global" ? Scaling::global : Scaling::none;
  t.input_dim_ = std::stoll(need("input_dim"));
  t.dim_ = std::stoll(need("dim"));
  auto get = [&](const std::string& name, std::int64_t want, bool required) -> const io::NamedArray* {
    const io::NamedArray* a = g.find(name);
    if (!a && required) throw InputError(origin, "transform/" + name, "", "missing");
    if (a && want >= 0 && static_cast<std::int64_t>(a->values.size()) != want)
      throw InputError(origin, "transform/" + name, std::to_string(a->values.size()) + " values",
                       "expected " + std::to_string(want));
    return a;
  };
  t.center_ = get("center", t.dim_, true)->values;
  t.scale_ = get("scale", t.dim_, true)->values;
  if (const auto* a = get("explained_variance", 1, false)) t.explained_ = a->values[0];
  if (t.embedding_.rfind("pca:", 0) == 0) {
    t.pca_mean_ = get("pca_mean", t.input_dim_, true)->values;
    t.components_ = Matrix(t.dim_, t.input_dim_);
    t.components_.data = get("components", t.dim_ * t.input_dim_, true)->values;
  } else if (t.from_obsm()) {
    t.decoder_ = Matrix(t.dim_ + 1, t.input_dim_);
    t.decoder_.data = get("decoder", (t.dim_ + 1) * t.input_dim_, true)->values;
  } else if (t.from_ae()) {
    t.ae_ = AeCodec::from_arrays(g, t.input_dim_, t.dim_, origin);
  }
  return t;
}

bool FeatureTransform::operator==(const FeatureTransform& o) const {
  return embedding_ == o.embedding_ && standardize_ == o.standardize_ && scaling_ == o.scaling_ &&
         input_dim_ == o.input_dim_ && dim_ == o.dim_ && pca_mean_ == o.pca_mean_ && components_.data == o.components_.data &&
         decoder_.data == o.decoder_.data && ae_ == o.ae_ && center_ == o.center_ && scale_ == o.scale_;
}

std::vector<std::int64_t> fit_sample(const std::vector<std::int64_t>& rows, std::int64_t cap) {
  const auto n = static_cast<std::int64_t>(rows.size());
  if (n <= cap) return rows;
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(cap));
  // Row i * n / cap for i < cap: evenly spaced, exact integer arithmetic.
  for (std::int64_t i = 0; i < cap; ++i) out.push_back(rows[static_cast<std::size_t>(i * n / cap)]);
  return out;
}

FeatureTransform fit_transform(const DataConfig& cfg, const Matrix& x, const Matrix* obsm) {
  if (cfg.embedding.rfind("ae:", 0) == 0)
    throw InternalError(__FILE__, __LINE__, "an ae embedding is fitted by models::fit_split_transform (it needs torch)");
  FeatureTransform t;
  t.embedding_ = cfg.embedding;
  t.standardize_ = cfg.standardize;
  t.input_dim_ = x.cols;
  if (x.rows < 2) throw InputError(cfg.path, "data.embedding", cfg.embedding, "fewer than 2 training cells to fit the transform on");
  if (cfg.embedding.rfind("pca:", 0) == 0) return pca_transform(cfg, fit_pca(x, std::stoi(cfg.embedding.substr(4))));
  Matrix e;
  if (t.from_obsm()) {
    CELLOT_CHECK(obsm && obsm->rows == x.rows, "obsm rows of the fit sample");
    t.dim_ = obsm->cols;
    t.decoder_ = fit_linear_decoder(*obsm, x);
    e = *obsm;
  } else {
    t.dim_ = x.cols;
    e = x;
  }
  t.fit_scaling(cfg.standardize, e);
  return t;
}

void FeatureTransform::fit_scaling(const std::string& standardize, const Matrix& e) {
  const auto k = static_cast<std::size_t>(dim_);
  std::vector<double> center(k, 0.0), var(k, 0.0);
  for (std::int64_t i = 0; i < e.rows; ++i)
    for (std::size_t j = 0; j < k; ++j) center[j] += e(i, static_cast<std::int64_t>(j));
  for (auto& c : center) c /= static_cast<double>(e.rows);
  for (std::int64_t i = 0; i < e.rows; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const double c = e(i, static_cast<std::int64_t>(j)) - center[j];
      var[j] += c * c;
    }
  for (auto& v : var) v /= static_cast<double>(e.rows - 1);
  set_scaling(standardize, std::move(center), var);
}

void FeatureTransform::set_scaling(const std::string& standardize, std::vector<double> center, const std::vector<double>& var) {
  const auto k = static_cast<std::size_t>(dim_);
  center_.assign(k, 0.0);
  scale_.assign(k, 1.0);
  if (standardize == "false") return;
  scaling_ = (standardize == "global" || embedding_.rfind("pca:", 0) == 0) ? Scaling::global : Scaling::per_feature;
  center_ = std::move(center);
  if (scaling_ == Scaling::global) {
    double mean_var = 0;
    for (double v : var) mean_var += v;
    mean_var /= static_cast<double>(k);
    const double s = mean_var > 0 ? std::sqrt(mean_var) : 1.0;
    scale_.assign(k, s);
  } else {
    // A constant feature keeps scale 1 (it carries nothing to standardise).
    for (std::size_t j = 0; j < k; ++j) scale_[j] = var[j] > 0 ? std::sqrt(var[j]) : 1.0;
  }
}

FeatureTransform pca_transform(const DataConfig& cfg, Pca p) {
  FeatureTransform t;
  t.embedding_ = cfg.embedding;
  t.standardize_ = cfg.standardize;
  t.input_dim_ = p.components.cols;
  t.dim_ = p.components.rows;
  double kept = 0;
  for (double v : p.variance) kept += v;
  t.explained_ = p.total_variance > 0 ? kept / p.total_variance : 0.0;
  t.pca_mean_ = std::move(p.mean);
  t.components_ = std::move(p.components);
  // The embedded sample (x - mean) C^T has mean 0 and, per component, the component's variance.
  t.set_scaling(cfg.standardize, std::vector<double>(static_cast<std::size_t>(t.dim_), 0.0), p.variance);
  return t;
}

FeatureTransform fit_transform_ae(const DataConfig& cfg, const Matrix& x, AeCodec ae) {
  FeatureTransform t;
  t.embedding_ = cfg.embedding;
  t.standardize_ = cfg.standardize;
  t.input_dim_ = x.cols;
  if (x.rows < 2) throw InputError(cfg.path, "data.embedding", cfg.embedding, "fewer than 2 training cells to fit the transform on");
  CELLOT_CHECK(ae.input_dim() == x.cols, "autoencoder input size");
  t.dim_ = ae.latent_dim();
  t.ae_ = std::move(ae);
  const Matrix e = t.ae_.encode(x);
  // Explained variance: 1 - (reconstruction SSE) / (total SS around the gene means).
  const Matrix r = t.ae_.decode(e);
  std::vector<double> mean(static_cast<std::size_t>(x.cols), 0.0);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) mean[static_cast<std::size_t>(j)] += x(i, j);
  for (auto& m : mean) m /= static_cast<double>(x.rows);
  double sse = 0, sst = 0;
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j) {
      const double a = x(i, j) - r(i, j), b = x(i, j) - mean[static_cast<std::size_t>(j)];
      sse += a * a;
      sst += b * b;
    }
  t.explained_ = sst > 0 ? 1.0 - sse / sst : 0.0;
  t.fit_scaling(cfg.standardize, e);
  return t;
}

}  // namespace cellot::data
