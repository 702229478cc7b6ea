// The autoencoder baselines' network, trainer and grid search (see models/autoencoder.hpp).
// Forward and backward passes are hand-derived: BLAS products and row kernels over one flat
// parameter buffer: no autograd graph, no tensors, and each micro-batch's gradient
// lands in its slot of the step's micro-batch reducer (nn/micro_batches.hpp), whose ordered total
// the flat Adam consumes directly. Training runs step by step (AeFitRun: one fit; Training: a
// model's fit or grid), so that train() and the pack trainer (train_pack) share every line.
#include "cellot/models/autoencoder/autoencoder.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <limits>
#include <numeric>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/models/member_error.hpp"
#include "cellot/nn/adam.hpp"
#include "cellot/nn/allreduce.hpp"
#include "cellot/nn/blas.hpp"
#include "cellot/nn/micro_batches.hpp"
#include "cellot/nn/threads.hpp"
#include "../detail/row_kernels.hpp"

namespace cellot::models {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kPredictChunk = 8192;

void append_rows(std::vector<float>& out, const Matrix& m) {
  const std::size_t off = out.size();
  out.resize(off + m.data.size());
  for (std::size_t i = 0; i < m.data.size(); ++i) out[off + i] = static_cast<float>(m.data[i]);
}

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(4);
  os << v;
  return os.str();
}

const NamedTensor* find_tensor(const std::vector<NamedTensor>& params, const std::string& name) {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const NamedTensor& require_tensor(const std::vector<NamedTensor>& params, const std::string& name,
                                  const std::vector<std::int64_t>& shape) {
  const NamedTensor* t = find_tensor(params, name);
  if (!t) throw InputError("model parameters", name, "", "missing tensor");
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (t->shape != shape || static_cast<std::int64_t>(t->values.size()) != numel) {
    std::string got;
    for (auto s : t->shape) got += (got.empty() ? "" : "x") + std::to_string(s);
    throw InputError("model parameters", name, got, "shape does not match the model");
  }
  return *t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Hyperparameters

std::vector<AeHyper> autoencoder_grid() {
  std::vector<AeHyper> grid;
  for (int width : {16, 32})
    for (int depth : {2, 3})
      for (int latent : {4, 8})
        for (double dropout : {0.0, 0.05, 0.1, 0.2})
          for (double lr : {1e-5, 1e-4, 1e-3}) grid.push_back(AeHyper{width, depth, latent, dropout, lr});
  return grid;
}

AeHyper hyper_from_config(const Config& cfg) {
  AeHyper h{cfg.model.width, cfg.model.depth, cfg.model.latent, cfg.model.dropout, cfg.lr()};
  if (h.width <= 0) throw InputError("config", "model.width", std::to_string(h.width), "must be > 0");
  if (h.depth <= 0) throw InputError("config", "model.depth", std::to_string(h.depth), "must be > 0");
  if (h.latent <= 0) throw InputError("config", "model.latent", std::to_string(h.latent), "must be > 0");
  if (!(h.dropout >= 0 && h.dropout < 1))
    throw InputError("config", "model.dropout", fmt(h.dropout), "must be in [0, 1)");
  if (!(h.lr > 0)) throw InputError("config", "training.lr", fmt(h.lr), "must be > 0");
  return h;
}

// ---------------------------------------------------------------------------------------------
// Network

AeNet::AeNet(std::int64_t n_features, int n_conditions, const AeHyper& hyper)
    : n_features_(n_features), n_conditions_(n_conditions), hyper_(hyper) {
  CELLOT_CHECK(n_features > 0 && hyper.width > 0 && hyper.depth > 0 && hyper.latent > 0, "bad autoencoder shape");
  std::int64_t off = 0;
  auto add = [&](std::vector<Layer>& block, std::int64_t in, std::int64_t out) {
    block.push_back(Layer{in, out, off, off + in * out});
    off += in * out + out;
  };
  const std::int64_t w = hyper.width;
  add(enc_, n_features + n_conditions, w);
  for (int l = 1; l < hyper.depth; ++l) add(enc_, w, w);
  add(enc_, w, hyper.latent);
  add(dec_, hyper.latent + n_conditions, w);
  for (int l = 1; l < hyper.depth; ++l) add(dec_, w, w);
  add(dec_, w, n_features);
  params_.assign(static_cast<std::size_t>(off), 0.f);
}

void AeNet::init(Rng& rng) {
  for (const auto* block : {&enc_, &dec_})
    for (const Layer& L : *block) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(L.in));
      for (std::int64_t i = 0; i < L.in * L.out; ++i)
        params_[static_cast<std::size_t>(L.w_off + i)] = static_cast<float>(rng.uniform(-bound, bound));
      for (std::int64_t i = 0; i < L.out; ++i)
        params_[static_cast<std::size_t>(L.b_off + i)] = static_cast<float>(rng.uniform(-bound, bound));
    }
}

namespace {

// Row kernels of one layer over n rows (the layer's outputs have leading dimension ld), cloned per
// ISA with the same bits on every clone as the shared ones (models/detail/row_kernels.hpp).
using detail::column_sums;
using detail::multiply;

// a[i][j] += b[j].
CELLOT_ROW_CLONES void add_bias(std::int64_t n, std::int64_t m, std::int64_t ld, const float* __restrict b,
                                float* __restrict a) {
  for (std::int64_t i = 0; i < n; ++i) {
    float* __restrict ar = a + i * ld;
    for (std::int64_t j = 0; j < m; ++j) ar[j] += b[j];
  }
}

// A hidden layer's activation in place: a = a + b, then D = 1[a > 0] * mask (mask: the dropout
// scale, 0 or 1/(1-p); nullptr: 1) and h = a D. D (n x m) is kept for the backward pass when
// `keep` is given. Rows of a, mask and keep have leading dimension m.
CELLOT_ROW_CLONES void relu_dropout(std::int64_t n, std::int64_t m, const float* __restrict b, float* __restrict a,
                                    const float* __restrict mask, float* __restrict keep) {
  for (std::int64_t i = 0; i < n; ++i) {
    float* __restrict ar = a + i * m;
    for (std::int64_t j = 0; j < m; ++j) {
      const float v = ar[j] + b[j];
      const float pos = static_cast<float>(v > 0.f);
      const float dv = mask ? pos * mask[i * m + j] : pos;
      if (keep) keep[i * m + j] = dv;
      ar[j] = v * dv;
    }
  }
}

// The reconstruction's loss and its gradient in place: r = (r - x) * g_scale, returning the sum
// of the squared differences (each square rounded in float, summed in double in row order).
CELLOT_ROW_CLONES double residual(std::int64_t n, std::int64_t d, const float* __restrict x, float g_scale,
                                  float* __restrict r) {
  double sum = 0;
  for (std::int64_t i = 0; i < n * d; ++i) {
    const float diff = r[i] - x[i];
    sum += static_cast<double>(diff * diff);
    r[i] = diff * g_scale;
  }
  return sum;
}

// Writes the one-hot condition columns [ld - C, ld) of n rows (labels[i], or fixed_label for
// every row when labels is nullptr); the row's first ld - C columns are left as they are.
void put_condition(float* rows, std::int64_t n, std::int64_t ld, int n_conditions, const int* labels, int fixed_label) {
  for (std::int64_t i = 0; i < n; ++i) {
    const int c = labels ? labels[i] : fixed_label;
    CELLOT_CHECK(c >= 0 && c < n_conditions, "condition label out of range");
    float* oh = rows + i * ld + (ld - n_conditions);
    for (int k = 0; k < n_conditions; ++k) oh[k] = k == c ? 1.f : 0.f;
  }
}

// n rows of x (cols wide) followed by the one-hot condition columns, into `out`: the network's
// input with its condition (x itself is returned when there are no condition columns).
const float* with_condition(const float* x, std::int64_t n, std::int64_t cols, int n_conditions, const int* labels,
                            int fixed_label, std::vector<float>& out) {
  if (n_conditions == 0) return x;
  const std::int64_t ld = cols + n_conditions;
  out.resize(static_cast<std::size_t>(n * ld));
  for (std::int64_t i = 0; i < n; ++i) std::copy_n(x + i * cols, cols, out.data() + i * ld);
  put_condition(out.data(), n, ld, n_conditions, labels, fixed_label);
  return out.data();
}

using nn::blas::Op;
using nn::blas::gemm;

}  // namespace

// The scratch of a training pass: the input with its condition columns (in); each hidden
// layer's activation and D, the latent code with room for the decoder's condition columns, the
// reconstruction, the latent code's gradient and two gradient buffers (buf); pointers to the
// hidden layers' activations and D. One per thread, reused across calls (training calls
// loss_and_grad from every thread of the rank at once).
struct AeNet::Scratch {
  std::vector<float> in, buf;
  std::vector<float*> hid, keep;
};

AeNet::Scratch& AeNet::scratch() {
  thread_local Scratch s;
  return s;
}

// One block (the encoder or the decoder) forward over n rows: `in` (leading dimension the first
// layer's input width) to `out` (leading dimension ld_out). hidden[l] receives hidden layer l's
// activation (n x width); with `keep`, keep[l] receives its D and masks[l] (or nullptr) is its
// dropout.
void AeNet::block_forward(const std::vector<Layer>& layers, const float* in, std::int64_t n, float* const* hidden,
                          float* const* keep, const float* const* masks, float* out, std::int64_t ld_out) const {
  const float* p = params_.data();
  const float* h = in;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const Layer& L = layers[l];
    const bool last = l + 1 == layers.size();
    float* a = last ? out : hidden[l];
    const std::int64_t lda = last ? ld_out : L.out;
    gemm(Op::none, Op::trans, n, L.out, L.in, 1.f, h, L.in, p + L.w_off, L.in, 0.f, a, lda);
    if (last) {
      add_bias(n, L.out, lda, p + L.b_off, a);
    } else {
      relu_dropout(n, L.out, p + L.b_off, a, masks ? masks[l] : nullptr, keep ? keep[l] : nullptr);
      h = a;
    }
  }
}

std::vector<float> AeNet::eval_block(const std::vector<Layer>& layers, const float* in, std::int64_t n) const {
  std::vector<float> hidden_buf(static_cast<std::size_t>(n * hyper_.width * hyper_.depth));
  std::vector<float*> hidden(static_cast<std::size_t>(hyper_.depth));
  for (int l = 0; l < hyper_.depth; ++l) hidden[static_cast<std::size_t>(l)] = hidden_buf.data() + l * n * hyper_.width;
  const std::int64_t out_cols = layers.back().out;
  std::vector<float> out(static_cast<std::size_t>(n * out_cols));
  block_forward(layers, in, n, hidden.data(), nullptr, nullptr, out.data(), out_cols);
  return out;
}

std::vector<float> AeNet::encode(const float* x, std::int64_t n, const int* labels, int fixed_label) const {
  if (n == 0) return {};
  std::vector<float> cond;
  return eval_block(enc_, with_condition(x, n, n_features_, n_conditions_, labels, fixed_label, cond), n);
}

std::vector<float> AeNet::decode(const float* z, std::int64_t n, const int* labels, int fixed_label) const {
  if (n == 0) return {};
  std::vector<float> cond;
  return eval_block(dec_, with_condition(z, n, hyper_.latent, n_conditions_, labels, fixed_label, cond), n);
}

double AeNet::reconstruction_sum(const float* x, std::int64_t n, const int* labels) const {
  double sum = 0;
  for (std::int64_t b = 0; b < n; b += kPredictChunk) {
    const std::int64_t m = std::min(kPredictChunk, n - b);
    const float* xb = x + b * n_features_;
    const int* lb = labels ? labels + b : nullptr;
    const std::vector<float> z = encode(xb, m, lb);
    const std::vector<float> r = decode(z.data(), m, lb);
    for (std::int64_t i = 0; i < m * n_features_; ++i) {
      const double d = static_cast<double>(r[static_cast<std::size_t>(i)]) - xb[i];
      sum += d * d;
    }
  }
  return sum / static_cast<double>(n_features_);
}

// Forward keeping every hidden layer's input and D = 1[a > 0] * mask (h = a D, so dL/da = dL/dh
// D); backward as dW = G^T in, db = column sums of G, G_in = G W, then times the D of the layer
// below. The products go to BLAS (nn/blas.hpp) and the rest to the row kernels above: no tensor
// is made, which at a micro-batch of 32 rows is most of the time ATen would take.
double AeNet::loss_and_grad(const float* x, const int* labels, std::int64_t n, const float* const* masks, double scale,
                            float* grad) const {
  std::fill(grad, grad + size(), 0.f);
  if (n == 0) return 0.0;
  const float* p = params_.data();
  const std::int64_t d = n_features_, w = hyper_.width, lat = hyper_.latent, C = n_conditions_;
  const int depth = hyper_.depth, hidden_n = hidden_layers();
  const std::int64_t widest = std::max({w, d, lat});
  Scratch& s = scratch();
  // Hidden activations and their D (2 x hidden_n blocks of n x w), [z | condition], the
  // reconstruction, the latent code's gradient and two gradient buffers used in turn.
  const std::int64_t block = n * w, ldz = lat + C;
  s.buf.resize(static_cast<std::size_t>(2 * hidden_n * block + n * ldz + n * d + 3 * n * widest));
  std::vector<float*>& hid = s.hid;
  std::vector<float*>& keep = s.keep;
  hid.resize(static_cast<std::size_t>(hidden_n));
  keep.resize(static_cast<std::size_t>(hidden_n));
  for (int l = 0; l < hidden_n; ++l) {
    hid[static_cast<std::size_t>(l)] = s.buf.data() + (2 * l) * block;
    keep[static_cast<std::size_t>(l)] = s.buf.data() + (2 * l + 1) * block;
  }
  float* zc = s.buf.data() + 2 * hidden_n * block;
  float* r = zc + n * ldz;
  float* gz = r + n * d;
  float* spare[2] = {gz + n * widest, gz + 2 * n * widest};

  const float* in0 = with_condition(x, n, d, n_conditions_, labels, 0, s.in);
  block_forward(enc_, in0, n, hid.data(), keep.data(), masks, zc, ldz);
  if (C > 0) put_condition(zc, n, ldz, n_conditions_, labels, 0);
  block_forward(dec_, zc, n, hid.data() + depth, keep.data() + depth, masks ? masks + depth : nullptr, r, d);

  const double loss = residual(n, d, x, static_cast<float>(2.0 * scale / static_cast<double>(d)), r) /
                       static_cast<double>(d) * scale;

  // Backward through one block from its output gradient g (n x last.out); the input gradient of
  // layer 0 (its first `first_cols` columns) goes to `g_in` when given.
  auto backward = [&](const std::vector<Layer>& layers, const float* block_in, float* const* ins, float* const* ds,
                      const float* g, std::int64_t first_cols, float* g_in) {
    int turn = 0;
    for (std::size_t l = layers.size(); l-- > 0;) {
      const Layer& L = layers[l];
      const float* lin = l == 0 ? block_in : ins[l - 1];
      gemm(Op::trans, Op::none, L.out, L.in, n, 1.f, g, L.out, lin, L.in, 0.f, grad + L.w_off, L.in);
      column_sums(n, L.out, L.out, g, static_cast<const float*>(nullptr), grad + L.b_off);
      if (l > 0) {
        float* next = spare[turn];
        turn = 1 - turn;
        gemm(Op::none, Op::none, n, L.in, L.out, 1.f, g, L.out, p + L.w_off, L.in, 0.f, next, L.in);
        multiply(n, L.in, L.in, next, ds[l - 1]);
        g = next;
      } else if (g_in) {
        gemm(Op::none, Op::none, n, first_cols, L.out, 1.f, g, L.out, p + L.w_off, L.in, 0.f, g_in, first_cols);
      }
    }
  };
  // The decoder's gradient from r; the latent code's (its first `lat` input columns) into gz.
  backward(dec_, zc, hid.data() + depth, keep.data() + depth, r, lat, gz);
  backward(enc_, in0, hid.data(), keep.data(), gz, 0, nullptr);
  return loss;
}

void AeNet::export_to(std::vector<NamedTensor>& out) const {
  auto put = [&](const std::string& prefix, const std::vector<Layer>& layers) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const Layer& L = layers[l];
      const auto w0 = params_.begin() + L.w_off, b0 = params_.begin() + L.b_off;
      out.push_back({prefix + "." + std::to_string(l) + ".weight", {L.out, L.in}, {w0, w0 + L.in * L.out}});
      out.push_back({prefix + "." + std::to_string(l) + ".bias", {L.out}, {b0, b0 + L.out}});
    }
  };
  put("encoder", enc_);
  put("decoder", dec_);
}

void AeNet::import_from(const std::vector<NamedTensor>& in) {
  auto get = [&](const std::string& prefix, const std::vector<Layer>& layers) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const Layer& L = layers[l];
      const auto& w = require_tensor(in, prefix + "." + std::to_string(l) + ".weight", {L.out, L.in});
      const auto& b = require_tensor(in, prefix + "." + std::to_string(l) + ".bias", {L.out});
      std::copy(w.values.begin(), w.values.end(), params_.begin() + L.w_off);
      std::copy(b.values.begin(), b.values.end(), params_.begin() + L.b_off);
    }
  };
  get("encoder", enc_);
  get("decoder", dec_);
}

// ---------------------------------------------------------------------------------------------
// Data

namespace {

// The rank's micro-batches of one global batch (rows perm[begin, begin + bg)): each one's
// gradient (scaled by 1 / bg) and loss (the last float) into its reducer slot, spread over the
// rank's threads. `masks`: the batch's dropout masks (hidden x bg x width) or nullptr.
struct MicroBatchBuffers {
  MicroBatchBuffers(std::int64_t owned, int hidden)
      : x(static_cast<std::size_t>(owned)),
        labels(static_cast<std::size_t>(owned)),
        masks(static_cast<std::size_t>(owned), std::vector<const float*>(static_cast<std::size_t>(hidden))) {}
  std::vector<std::vector<float>> x;
  std::vector<std::vector<int>> labels;
  std::vector<std::vector<const float*>> masks;
};

void micro_batch_gradients(const AeNet& net, const AeData& data, const std::vector<std::int64_t>& perm,
                           std::int64_t begin, std::int64_t bg, const std::vector<float>* masks,
                           nn::MicroBatchReducer& reducer, MicroBatchBuffers& buf) {
  const std::int64_t d = data.n_features, P = net.size(), w = net.hyper().width;
  const int hidden = net.hidden_layers();
  nn::parallel_items(reducer.owned(), [&](std::int64_t i, int) {
    const auto u = static_cast<std::size_t>(i);
    const std::int64_t mb = reducer.first() + i;
    const auto [b0, b1] = nn::micro_rows(bg, reducer.n_micro(), mb);
    const std::int64_t n = b1 - b0;
    buf.x[u].resize(static_cast<std::size_t>(n * d));
    buf.labels[u].resize(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t src = perm[static_cast<std::size_t>(begin + b0 + r)];
      std::copy_n(data.train_x.data() + src * d, d, buf.x[u].data() + r * d);
      buf.labels[u][static_cast<std::size_t>(r)] = data.train_labels[static_cast<std::size_t>(src)];
    }
    if (masks)
      for (int l = 0; l < hidden; ++l) buf.masks[u][static_cast<std::size_t>(l)] = masks->data() + (l * bg + b0) * w;
    float* slot = reducer.slot(mb);
    const double part = net.loss_and_grad(buf.x[u].data(), buf.labels[u].data(), n, masks ? buf.masks[u].data() : nullptr,
                                          1.0 / static_cast<double>(bg), slot);
    slot[P] = static_cast<float>(part);
  });
}

}  // namespace

AeData make_ae_data(const TrainInput& input) {
  AeData data;
  data.n_features = input.source_train.cols;
  append_rows(data.train_x, input.source_train);
  append_rows(data.train_x, input.target_train);
  data.train_labels.assign(static_cast<std::size_t>(input.source_train.rows), 0);
  data.train_labels.resize(static_cast<std::size_t>(input.source_train.rows + input.target_train.rows), 1);
  append_rows(data.val_x, input.source_val);
  append_rows(data.val_x, input.target_val);
  data.val_labels.assign(static_cast<std::size_t>(input.source_val.rows), 0);
  data.val_labels.resize(static_cast<std::size_t>(input.source_val.rows + input.target_val.rows), 1);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Model

AutoencoderModel::AutoencoderModel(const Config& cfg, std::int64_t n_features, int n_conditions)
    : n_features_(n_features),
      n_conditions_(n_conditions),
      hyper_(hyper_from_config(cfg)),
      batch_size_(cfg.batch_size()),
      epochs_(cfg.training.epochs),
      iters_(cfg.training.iters),
      eval_every_(cfg.training.eval_every),
      micro_batches_(cfg.training.micro_batches),
      early_(cfg.patience(), cfg.min_iters()),
      grid_(cfg.model.grid) {
  if (n_features <= 0) throw InputError("data", "n_features", std::to_string(n_features), "must be > 0");
  if (batch_size_ <= 0) throw InputError("config", "training.batch_size", std::to_string(batch_size_), "must be > 0");
  if (micro_batches_ <= 0)
    throw InputError("config", "training.micro_batches", std::to_string(micro_batches_), "must be > 0");
  net_ = AeNet(n_features_, n_conditions_, hyper_);
}

namespace {

// One fit of fit_ae_net, step by step: the constructor initialises and broadcasts the network,
// step() runs one optimiser step (and the evaluation due after it), finish() keeps the selected
// iterate. fit_ae_net runs one to the end; the pack trainer interleaves several, each with its
// own network, optimiser, sampler, dropout stream, reducer and early stopping, so every fit does
// exactly the arithmetic and reductions it does alone.
class AeFitRun {
 public:
  AeFitRun(AeNet& net, const AeFitSettings& s, const AeData& data, const TrainContext& ctx, std::string label,
           AeStepObserver observer);
  bool done() const { return done_; }
  // One optimiser step. `stop_vote`: this rank's preemption vote, carried by the step's
  // reduction, so every rank of the group throws Interrupted at the same step.
  void step(bool stop_vote);
  AeFitResult finish();

 private:
  void evaluate();

  AeNet& net_;
  const AeData& data_;
  const TrainContext& ctx_;
  std::string label_;
  AeStepObserver observer_;
  int rank_ = 0;
  std::int64_t P_, N_, B_, steps_per_epoch_, total_, eval_every_;
  int hidden_;
  std::int64_t w_;
  float keep_scale_;
  Rng order_rng_, drop_rng_;
  nn::Adam adam_;
  // The batch's gradient as CellOT's (nn/micro_batches.hpp): micro-batch gradients (and their
  // loss, the last float) summed in one fixed tree, so the bits do not depend on the ranks of
  // the group or the threads of a rank.
  nn::MicroBatchReducer reducer_;
  std::vector<std::int64_t> perm_;
  std::vector<float> masks_;
  MicroBatchBuffers buffers_;
  AeFitResult result_;
  std::vector<float> best_;
  double best_val_ = std::numeric_limits<double>::infinity();
  std::int64_t best_step_ = 0;
  double loss_acc_ = 0;
  std::int64_t loss_n_ = 0;
  std::unique_ptr<log::Progress> progress_;
  nn::EarlyStop early_;  // a fresh count per fit (every grid candidate)
  bool stop_early_ = false;
  std::int64_t step_ = 0;
  bool done_ = false;
};

AeFitRun::AeFitRun(AeNet& net, const AeFitSettings& s, const AeData& data, const TrainContext& ctx, std::string label,
                   AeStepObserver observer)
    : net_(net),
      data_(data),
      ctx_(ctx),
      label_(std::move(label)),
      observer_(std::move(observer)),
      P_(net.size()),
      N_(data.n_train()),
      B_(s.batch_size),
      steps_per_epoch_((N_ + B_ - 1) / B_),
      total_(s.epochs > 0 ? s.epochs * steps_per_epoch_ : s.iters),
      eval_every_(s.eval_every > 0 ? s.eval_every : std::max<std::int64_t>(total_, 1)),
      hidden_(net.hidden_layers()),
      w_(net.hyper().width),
      keep_scale_(static_cast<float>(1.0 / (1.0 - net.hyper().dropout))),
      order_rng_(ctx.seed, "ae:order"),
      drop_rng_(ctx.seed, "ae:dropout"),
      adam_(P_, net.hyper().lr, 0.9, 0.999, 1e-8),
      reducer_(s.micro_batches, P_ + 1, ctx.comm),
      perm_(static_cast<std::size_t>(N_)),
      buffers_(reducer_.owned(), hidden_),
      early_(s.early) {
  MPI_Comm_rank(ctx.comm, &rank_);
  Rng init_rng(ctx.seed, "ae:init");
  net_.init(init_rng);
  nn::broadcast(net_.data(), P_, ctx.comm);
  if (observer_) observer_(AeStepTrace{0, nullptr, 0, nullptr, 0.0, net_.data(), P_});
  result_.steps = total_;
  result_.curves.columns = {"step", "epoch", "train_loss", "val_loss"};
  best_ = net_.params();
  progress_ = std::make_unique<log::Progress>(label_, total_, ctx.progress && rank_ == 0);
  done_ = total_ <= 0;
}

void AeFitRun::step(bool stop_vote) {
  const std::int64_t step = step_;
  const std::int64_t k = step % steps_per_epoch_;
  if (k == 0) {
    std::iota(perm_.begin(), perm_.end(), std::int64_t{0});
    order_rng_.shuffle(perm_);
  }
  const std::int64_t begin = k * B_, bg = std::min(B_, N_ - begin);
  const bool dropout = net_.hyper().dropout > 0;
  // Masks for the whole global batch, so that they do not depend on the number of ranks.
  if (dropout) {
    masks_.resize(static_cast<std::size_t>(hidden_ * bg * w_));
    const double p = net_.hyper().dropout;
    const float keep = keep_scale_;
    Rng rng = drop_rng_;  // a local copy, so that the generator's state stays in registers
    for (float& m : masks_) m = rng.uniform() < p ? 0.f : keep;
    drop_rng_ = rng;
  }
  micro_batch_gradients(net_, data_, perm_, begin, bg, dropout ? &masks_ : nullptr, reducer_, buffers_);
  int votes = 0;
  const float* grad = reducer_.reduce(stop_vote ? 1 : 0, &votes);
  if (votes > 0)
    throw Interrupted(label_ + ": stopped at step " + std::to_string(step) +
                      " (autoencoders keep no checkpoint; a resumed task refits from scratch)");
  const double loss = grad[P_];
  if (!std::isfinite(loss))
    throw Diverged(label_ + ": reconstruction loss is " + fmt(loss) + " at step " + std::to_string(step));
  adam_.step(net_.data(), grad);
  if (ctx_.on_progress) ctx_.on_progress(static_cast<double>(step + 1) / static_cast<double>(total_));
  if (observer_)
    observer_(AeStepTrace{step + 1, perm_.data() + begin, bg, dropout ? masks_.data() : nullptr, loss, net_.data(), P_});
  loss_acc_ += loss;
  ++loss_n_;
  step_ = step + 1;
  if (step_ % eval_every_ == 0 || step_ == total_) evaluate();
  if (step_ == total_) done_ = true;
}

void AeFitRun::evaluate() {
  double val = kNaN;
  if (data_.n_val() > 0) {
    val = net_.reconstruction_sum(data_.val_x.data(), data_.n_val(), data_.val_labels.data()) /
          static_cast<double>(data_.n_val());
    if (!std::isfinite(val)) throw Diverged(label_ + ": validation loss is " + fmt(val) + " at step " + std::to_string(step_));
    const bool improved = val < best_val_;
    if (improved) {
      best_val_ = val;
      best_ = net_.params();
      best_step_ = step_;
    }
    stop_early_ = early_.record(step_, true, improved) && step_ < total_;
  }
  result_.curves.rows.push_back({static_cast<double>(step_),
                                 static_cast<double>(step_) / static_cast<double>(steps_per_epoch_),
                                 loss_acc_ / static_cast<double>(loss_n_), val});
  progress_->update(step_, "train " + fmt(loss_acc_ / static_cast<double>(loss_n_)) + " val " + fmt(val));
  loss_acc_ = 0;
  loss_n_ = 0;
  if (stop_early_) {
    // The validation loss is computed identically on every rank, so all stop here.
    result_.steps = step_;
    done_ = true;
  }
}

AeFitResult AeFitRun::finish() {
  if (data_.n_val() > 0 && total_ > 0) {
    net_.params() = best_;
    result_.best_step = static_cast<double>(best_step_);
    result_.best_val_loss = best_val_;
  } else {
    result_.best_step = static_cast<double>(total_);
    result_.best_val_loss = kNaN;
  }
  progress_->finish("best step " + fmt(result_.best_step) + " val " + fmt(result_.best_val_loss) +
                    (stop_early_ ? " (stopped early at step " + std::to_string(result_.steps) + ")" : ""));
  return std::move(result_);
}

}  // namespace

AeFitResult fit_ae_net(AeNet& net, const AeFitSettings& s, const AeData& data, const TrainContext& ctx,
                       const std::string& label, const AeStepObserver& observer) {
  AeFitRun run(net, s, data, ctx, label, observer);
  while (!run.done()) run.step(ctx.should_stop && ctx.should_stop());
  return run.finish();
}

double AutoencoderModel::score_on_validation(const TrainInput& input, const TrainContext& ctx) const {
  double score = kNaN;
  if (input.source_val.rows > 0 && input.target_val.rows > 0) {
    const Matrix pred = predict(input.source_val);
    if (ctx.validation_metric) {
      score = ctx.validation_metric(pred, input.target_val);
    } else {
      // The evaluation's MMD (collective over the group), with the configured gammas.
      const std::vector<double> gammas =
          ctx.config ? parse_double_list(ctx.config->metrics.mmd_gammas, "config", "metrics.mmd_gammas")
                     : std::vector<double>{2, 1, 0.5, 0.1, 0.01, 0.005};
      score = metrics::mmd_rbf(pred, input.target_val, gammas, ctx.comm);
    }
  }
  // The group acts on rank 0's value so that a selection can never differ across ranks.
  // Bound: lockstep: every rank of the group makes this call at the same step; a rank that throws instead
  // reaches the task's outcome agreement, which aborts the job after screen.wait_timeout (task_runner.cpp),
  // and any other command aborts the job on an error (cli/commands.cpp fail()).
  MPI_Bcast(&score, 1, MPI_DOUBLE, 0, ctx.comm);
  return score;
}

// One model's train(), step by step: the single fit, or the grid's candidates one after another,
// each an AeFitRun. train() runs it to the end; train_pack interleaves the steps of several.
class AutoencoderModel::Training {
 public:
  // Checks the input (InputError) and starts the first fit (collective over ctx.comm).
  Training(AutoencoderModel& m, const TrainInput& input, const TrainContext& ctx);
  bool done() const { return done_; }
  // One optimiser step of the current fit; a fit that ends is scored and the next one started.
  void step(bool stop_vote);

 private:
  void start();
  void settle();
  void fitted(AeFitResult r);
  void record(double score, const AeFitResult& r);
  void next();

  AutoencoderModel& m_;
  const TrainInput& input_;
  const TrainContext& ctx_;
  AeData data_;
  AeFitSettings settings_;
  std::vector<AeHyper> candidates_;  // the grid, or the one configured network
  std::size_t current_ = 0;
  std::string label_;
  std::unique_ptr<AeFitRun> run_;
  std::vector<NamedTensor> best_params_;
  Curves best_curves_;
  double best_score_ = std::numeric_limits<double>::infinity();
  std::vector<float> table_;
  bool done_ = false;
};

AutoencoderModel::Training::Training(AutoencoderModel& m, const TrainInput& input, const TrainContext& ctx)
    : m_(m), input_(input), ctx_(ctx) {
  for (const Matrix* x : {&input.source_train, &input.target_train, &input.source_val, &input.target_val})
    if (x->rows > 0 && x->cols != m.n_features_)
      throw InputError("data", "n_features", std::to_string(x->cols),
                       m.name() + " was built for " + std::to_string(m.n_features_) + " features");
  if (input.source_train.rows == 0 || input.target_train.rows == 0)
    throw InputError("data", "perturbation", input.perturbation,
                     m.name() + " needs control and perturbed cells in the training split");
  if (m.grid_ && (input.source_val.rows == 0 || input.target_val.rows == 0))
    throw InputError("config", "model.grid", "true",
                     "the grid search scores candidates on the validation split, which lacks control or perturbed "
                     "cells (data.val_fraction)");
  data_ = make_ae_data(input);
  m.grid_table_.clear();
  settings_.batch_size = m.batch_size_;
  settings_.epochs = m.epochs_;
  settings_.iters = m.iters_;
  settings_.eval_every = m.eval_every_;
  settings_.micro_batches = m.micro_batches_;
  settings_.early = m.early_;
  candidates_ = m.grid_ ? autoencoder_grid() : std::vector<AeHyper>{m.hyper_};
  start();
  settle();
}

void AutoencoderModel::Training::start() {
  const AeHyper& h = candidates_[current_];
  m_.net_ = AeNet(m_.n_features_, m_.n_conditions_, h);
  label_ = m_.grid_ ? m_.name() + " grid " + std::to_string(current_ + 1) + "/" + std::to_string(candidates_.size())
                    : m_.name();
  run_ = std::make_unique<AeFitRun>(m_.net_, settings_, data_, ctx_, label_, m_.observer_);
}

void AutoencoderModel::Training::step(bool stop_vote) {
  try {
    run_->step(stop_vote);
  } catch (const Diverged& e) {
    if (!m_.grid_) throw;
    if (ctx_.progress) log::info(std::string(e.what()) + " (candidate skipped)");
    run_.reset();
    record(std::numeric_limits<double>::infinity(), AeFitResult{});
    next();
  }
  settle();
}

// Completes the fits that have no step left (one that ended, or one of no steps at all).
void AutoencoderModel::Training::settle() {
  while (!done_ && run_->done()) {
    AeFitResult r = run_->finish();
    run_.reset();
    fitted(std::move(r));
  }
}

void AutoencoderModel::Training::fitted(AeFitResult r) {
  if (!m_.grid_) {
    m_.trained_ = true;
    m_.finish_fit(input_);
    m_.curves_ = std::move(r.curves);
    const double metric = ctx_.validation_metric ? m_.score_on_validation(input_, ctx_) : kNaN;
    m_.selection_ = {static_cast<float>(r.best_step), static_cast<float>(r.best_val_loss), static_cast<float>(metric)};
    done_ = true;
    return;
  }
  double score = std::numeric_limits<double>::infinity();
  try {
    m_.hyper_ = candidates_[current_];
    m_.trained_ = true;
    m_.finish_fit(input_);
    score = m_.score_on_validation(input_, ctx_);
    if (!std::isfinite(score)) score = std::numeric_limits<double>::infinity();
  } catch (const Diverged& e) {
    if (ctx_.progress) log::info(std::string(e.what()) + " (candidate skipped)");
  }
  record(score, r);
  next();
}

// The grid candidate's row of the score table, and the best so far.
void AutoencoderModel::Training::record(double score, const AeFitResult& r) {
  const AeHyper& h = candidates_[current_];
  table_.insert(table_.end(), {static_cast<float>(h.width), static_cast<float>(h.depth), static_cast<float>(h.latent),
                               static_cast<float>(h.dropout), static_cast<float>(h.lr), static_cast<float>(score)});
  if (ctx_.progress)
    log::info(label_ + ": width " + std::to_string(h.width) + " depth " + std::to_string(h.depth) + " latent " +
              std::to_string(h.latent) + " dropout " + fmt(h.dropout) + " lr " + fmt(h.lr) + " -> validation " +
              fmt(score));
  if (score < best_score_) {
    best_score_ = score;
    m_.selection_ = {static_cast<float>(r.best_step), static_cast<float>(r.best_val_loss), static_cast<float>(score)};
    best_params_ = m_.parameters();
    best_curves_ = r.curves;
  }
}

// The next grid candidate, or the grid's choice after the last.
void AutoencoderModel::Training::next() {
  if (++current_ < candidates_.size()) {
    start();
    return;
  }
  done_ = true;
  if (best_params_.empty()) throw Diverged(m_.name() + ": every grid candidate diverged");
  m_.set_parameters(best_params_);
  m_.grid_table_ = std::move(table_);
  m_.curves_ = std::move(best_curves_);
  const AeHyper& h = m_.hyper_;
  if (ctx_.progress)
    log::info(m_.name() + " grid: chose width " + std::to_string(h.width) + " depth " + std::to_string(h.depth) +
              " latent " + std::to_string(h.latent) + " dropout " + fmt(h.dropout) + " lr " + fmt(h.lr) +
              " (validation " + fmt(best_score_) + ")");
}

void AutoencoderModel::train(const TrainInput& input, const TrainContext& ctx) {
  Training training(*this, input, ctx);
  while (!training.done()) training.step(ctx.should_stop && ctx.should_stop());
}

std::vector<std::exception_ptr> AutoencoderModel::train_pack(const std::vector<Model*>& models,
                                                             const std::vector<const TrainInput*>& inputs,
                                                             const std::vector<TrainContext>& ctxs) {
  const std::size_t k = models.size();
  std::vector<std::exception_ptr> errors(k);
  std::vector<std::unique_ptr<Training>> runs(k);
  // A member's own failure (the same on every rank of the group: decided on its data, or on the
  // reduced loss) ends only that member, with the error train() would have thrown alone.
  auto guarded = [&](std::size_t i, const std::function<void()>& f) {
    errors[i] = member_error(f);
    if (errors[i]) runs[i].reset();
  };
  for (std::size_t i = 0; i < k; ++i) {
    auto* m = dynamic_cast<AutoencoderModel*>(models[i]);
    CELLOT_CHECK(m != nullptr && inputs[i] != nullptr, "autoencoder pack member without model or input");
    guarded(i, [&] { runs[i] = std::make_unique<Training>(*m, *inputs[i], ctxs[i]); });
  }
  // One optimiser step of every running member in turn; the preemption vote is asked once per
  // round, from the first running member's hook, and carried by each member's step.
  while (true) {
    std::size_t first = k;
    for (std::size_t i = 0; i < k && first == k; ++i)
      if (runs[i] && !runs[i]->done()) first = i;
    if (first == k) break;
    const auto& hook = ctxs[first].should_stop;
    const bool vote = hook && hook();
    for (std::size_t i = first; i < k; ++i)
      if (runs[i] && !runs[i]->done()) guarded(i, [&] { runs[i]->step(vote); });
  }
  return errors;
}

Matrix AutoencoderModel::predict(const Matrix& source, double t) const {
  if (!trained_) throw RuntimeError(name() + ": predict before train() or set_parameters()");
  if (source.rows > 0 && source.cols != n_features_)
    throw InputError("data", "n_features", std::to_string(source.cols),
                     name() + " was trained on " + std::to_string(n_features_) + " features");
  Matrix out(source.rows, n_features_);
  std::vector<float> x;
  for (std::int64_t b = 0; b < source.rows; b += kPredictChunk) {
    const std::int64_t m = std::min(kPredictChunk, source.rows - b);
    x.resize(static_cast<std::size_t>(m * n_features_));
    const double* src = source.row(b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(src[i]);
    const std::vector<float> y = transport(x.data(), m);
    double* dst = out.row(b);
    for (std::size_t i = 0; i < y.size(); ++i)
      dst[i] = t == 1.0 ? static_cast<double>(y[i]) : (1.0 - t) * src[i] + t * static_cast<double>(y[i]);
  }
  return out;
}

std::vector<NamedTensor> AutoencoderModel::parameters() const {
  std::vector<NamedTensor> out;
  const AeHyper& h = net_.hyper();
  out.push_back({"hparams",
                 {8},
                 {static_cast<float>(n_features_), static_cast<float>(n_conditions_), static_cast<float>(h.width),
                  static_cast<float>(h.depth), static_cast<float>(h.latent), static_cast<float>(h.dropout),
                  static_cast<float>(h.lr), static_cast<float>(batch_size_)}});
  net_.export_to(out);
  std::vector<float> sel = selection_;
  sel.resize(3, static_cast<float>(kNaN));
  out.push_back({"selection", {3}, sel});
  if (!grid_table_.empty())
    out.push_back({"grid", {static_cast<std::int64_t>(grid_table_.size() / 6), 6}, grid_table_});
  export_extra(out);
  return out;
}

void AutoencoderModel::set_parameters(const std::vector<NamedTensor>& params) {
  const NamedTensor& hp = require_tensor(params, "hparams", {8});
  const auto& v = hp.values;
  if (static_cast<std::int64_t>(v[0]) != n_features_)
    throw InputError("model parameters", "hparams.n_features", std::to_string(static_cast<std::int64_t>(v[0])),
                     name() + " was built for " + std::to_string(n_features_) + " features");
  if (static_cast<int>(v[1]) != n_conditions_)
    throw InputError("model parameters", "hparams.n_conditions", std::to_string(static_cast<int>(v[1])),
                     "not a " + name() + " model");
  AeHyper h{static_cast<int>(v[2]), static_cast<int>(v[3]), static_cast<int>(v[4]), v[5], v[6]};
  if (h.width <= 0 || h.depth <= 0 || h.latent <= 0)
    throw InputError("model parameters", "hparams", "", "width, depth and latent must be > 0");
  AeNet net(n_features_, n_conditions_, h);
  net.import_from(params);
  net_ = std::move(net);
  hyper_ = h;
  batch_size_ = static_cast<int>(v[7]);
  selection_ = require_tensor(params, "selection", {3}).values;
  const NamedTensor* g = find_tensor(params, "grid");
  grid_table_ = g ? g->values : std::vector<float>{};
  import_extra(params);
  trained_ = true;
}

}  // namespace cellot::models
