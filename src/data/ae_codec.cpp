// Float64 forward passes of the embedding autoencoder (data/ae_codec.hpp) and its serialisation.
#include "cellot/data/ae_codec.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"

namespace cellot::data {

namespace {

// h = relu?(W a + b) for every row of `a` (n x in).
Matrix dense(const AeLayer& L, const Matrix& a, bool relu) {
  Matrix h(a.rows, L.out);
  for (std::int64_t i = 0; i < a.rows; ++i) {
    const double* ai = a.row(i);
    double* hi = h.row(i);
    for (std::int64_t o = 0; o < L.out; ++o) {
      const double* w = L.weight.data() + o * L.in;
      double s = L.bias[static_cast<std::size_t>(o)];
      for (std::int64_t k = 0; k < L.in; ++k) s += w[k] * ai[k];
      hi[o] = relu ? std::max(0.0, s) : s;
    }
  }
  return h;
}

Matrix run(const std::vector<AeLayer>& layers, Matrix h) {
  for (std::size_t l = 0; l < layers.size(); ++l) h = dense(layers[l], h, l + 1 < layers.size());
  return h;
}

// The first encoder layer on raw rows: W ((x - c) / s) + b = (W x - W c) / s + b, the zeros of x
// skipped (most of a sparse scRNA-seq matrix), summed over genes in ascending order.
Matrix first_layer(const AeCodec& ae, const Matrix& x) {
  const AeLayer& L = ae.encoder.front();
  const std::int64_t d = L.in, w = L.out;
  std::vector<double> wt(static_cast<std::size_t>(d * w)), wc(static_cast<std::size_t>(w), 0.0);
  for (std::int64_t o = 0; o < w; ++o)
    for (std::int64_t j = 0; j < d; ++j) {
      const double v = L.weight[static_cast<std::size_t>(o * d + j)];
      wt[static_cast<std::size_t>(j * w + o)] = v;
      wc[static_cast<std::size_t>(o)] += v * ae.in_center[static_cast<std::size_t>(j)];
    }
  Matrix h(x.rows, w);
  for (std::int64_t i = 0; i < x.rows; ++i) {
    const double* xi = x.row(i);
    double* hi = h.row(i);
    for (std::int64_t j = 0; j < d; ++j) {
      if (xi[j] == 0.0) continue;
      const double v = xi[j];
      const double* col = wt.data() + j * w;
      for (std::int64_t o = 0; o < w; ++o) hi[o] += v * col[o];
    }
    for (std::int64_t o = 0; o < w; ++o) {
      const double s = (hi[o] - wc[static_cast<std::size_t>(o)]) / ae.in_scale + L.bias[static_cast<std::size_t>(o)];
      hi[o] = ae.encoder.size() > 1 ? std::max(0.0, s) : s;
    }
  }
  return h;
}

std::string layer_name(const char* block, std::size_t l, const char* what) {
  return std::string("ae_") + block + "_" + std::to_string(l) + "_" + what;
}

}  // namespace

Matrix AeCodec::encode(const Matrix& x) const {
  CELLOT_CHECK(!empty(), "encode with an empty autoencoder");
  if (x.rows > 0 && x.cols != input_dim())
    throw InputError("cells", "n_vars", std::to_string(x.cols),
                     "the autoencoder was fitted on " + std::to_string(input_dim()) + " features");
  Matrix h = first_layer(*this, x);
  for (std::size_t l = 1; l < encoder.size(); ++l) h = dense(encoder[l], h, l + 1 < encoder.size());
  return h;
}

Matrix AeCodec::decode(const Matrix& z) const {
  CELLOT_CHECK(!empty(), "decode with an empty autoencoder");
  if (z.rows > 0 && z.cols != latent_dim())
    throw InputError("cells", "n_vars", std::to_string(z.cols), "the autoencoder's latent space has " + std::to_string(latent_dim()) + " features");
  Matrix u = run(decoder, z);
  for (std::int64_t i = 0; i < u.rows; ++i) {
    double* ui = u.row(i);
    for (std::int64_t j = 0; j < u.cols; ++j) ui[j] = ui[j] * in_scale + in_center[static_cast<std::size_t>(j)];
  }
  return u;
}

void AeCodec::append_to(std::vector<io::NamedArray>& out) const {
  out.push_back(io::NamedArray{"ae_center", {input_dim()}, in_center});
  out.push_back(io::NamedArray{"ae_scale", {1}, {in_scale}});
  auto put = [&](const char* block, const std::vector<AeLayer>& layers) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      out.push_back(io::NamedArray{layer_name(block, l, "weight"), {layers[l].out, layers[l].in}, layers[l].weight});
      out.push_back(io::NamedArray{layer_name(block, l, "bias"), {layers[l].out}, layers[l].bias});
    }
  };
  put("enc", encoder);
  put("dec", decoder);
}

AeCodec AeCodec::from_arrays(const io::ArrayGroup& g, std::int64_t input_dim, std::int64_t latent, const std::string& origin) {
  auto need = [&](const std::string& name, std::int64_t want) -> const std::vector<double>& {
    const io::NamedArray* a = g.find(name);
    if (!a) throw InputError(origin, "transform/" + name, "", "missing");
    if (static_cast<std::int64_t>(a->values.size()) != want)
      throw InputError(origin, "transform/" + name, std::to_string(a->values.size()) + " values", "expected " + std::to_string(want));
    return a->values;
  };
  AeCodec ae;
  ae.in_center = need("ae_center", input_dim);
  ae.in_scale = need("ae_scale", 1)[0];
  auto get = [&](const char* block, std::vector<AeLayer>& layers, std::int64_t in, std::int64_t last_out) {
    for (std::size_t l = 0; g.find(layer_name(block, l, "weight")); ++l) {
      const io::NamedArray* w = g.find(layer_name(block, l, "weight"));
      if (w->shape.size() != 2 || w->shape[1] != in)
        throw InputError(origin, "transform/" + layer_name(block, l, "weight"), "", "its input size does not chain (expected " + std::to_string(in) + ")");
      AeLayer L;
      L.in = in;
      L.out = w->shape[0];
      L.weight = need(layer_name(block, l, "weight"), L.in * L.out);
      L.bias = need(layer_name(block, l, "bias"), L.out);
      in = L.out;
      layers.push_back(std::move(L));
    }
    if (layers.empty() || layers.back().out != last_out)
      throw InputError(origin, std::string("transform/ae_") + block, std::to_string(layers.size()) + " layers",
                       "the last layer must have " + std::to_string(last_out) + " outputs");
  };
  get("enc", ae.encoder, input_dim, latent);
  get("dec", ae.decoder, latent, input_dim);
  return ae;
}

bool AeCodec::operator==(const AeCodec& o) const {
  auto same = [](const std::vector<AeLayer>& a, const std::vector<AeLayer>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t l = 0; l < a.size(); ++l)
      if (a[l].in != b[l].in || a[l].out != b[l].out || a[l].weight != b[l].weight || a[l].bias != b[l].bias) return false;
    return true;
  };
  return in_center == o.in_center && in_scale == o.in_scale && same(encoder, o.encoder) && same(decoder, o.decoder);
}

}  // namespace cellot::data
