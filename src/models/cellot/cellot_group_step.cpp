#include "cellot/models/cellot/cellot_group_step.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"
#include "cellot/nn/threads.hpp"

namespace cellot::models {

namespace {
void gather(const float* data, const std::vector<std::int64_t>& rows, std::int64_t begin, std::int64_t end,
            std::int64_t d, std::vector<float>& out) {
  for (std::int64_t i = begin; i < end; ++i) {
    const float* row = data + rows[static_cast<std::size_t>(i)] * d;
    std::copy(row, row + d, out.data() + (i - begin) * d);
  }
}
}  // namespace

CellotGroupStep::CellotGroupStep(const IcnnShape& shape, std::int64_t max_batch, std::int64_t micro_batches,
                                 MPI_Comm comm)
    : shape_(shape),
      cap_(std::max<std::int64_t>(1, (max_batch + micro_batches - 1) / micro_batches)),
      reducer_(micro_batches, shape.size() + 1, comm) {
  const auto n = static_cast<std::size_t>(std::max(1, nn::workers()));
  workers_.resize(n);
  for (auto& w : workers_) {
    w.steps = std::make_unique<CellotSteps<float>>(shape_, cap_);
    w.x.resize(static_cast<std::size_t>(cap_ * shape_.dim()));
    w.y.resize(w.x.size());
  }
}

IcnnParams<float> CellotGroupStep::transposed(const float* params,
                                              std::vector<float, CacheLineAllocator<float>>& buf) const {
  buf.resize(static_cast<std::size_t>(IcnnKernels<float>::transposed_size(shape_)));
  IcnnKernels<float>::transpose_products(shape_, params, buf.data());
  return IcnnParams<float>(params, buf.data());
}

// Transposing a network's products costs about as much as its forward pass over 15 rows (24,700
// floats at the paper's shape): a step of fewer than 64 rows (the global batch, so the choice -
// which may change the last bits at some shapes - depends on the config and the data only) keeps
// the NT products.
IcnnParams<float> CellotGroupStep::prepared(const float* params, std::int64_t rows,
                                            std::vector<float, CacheLineAllocator<float>>& buf) const {
  constexpr std::int64_t kMinRows = 64;
  return rows < kMinRows ? IcnnParams<float>(params) : transposed(params, buf);
}

CellotGroupStep::Result CellotGroupStep::finish(int vote) {
  Result r;
  r.grad = reducer_.reduce(vote, &r.votes);
  r.loss = r.grad[shape_.size()];
  return r;
}

CellotGroupStep::Result CellotGroupStep::g_step(const float* f, const float* g, const float* x_data,
                                                const std::vector<std::int64_t>& rows, int vote) {
  const auto b = static_cast<std::int64_t>(rows.size());
  const float scale = 1.f / static_cast<float>(b);
  const std::int64_t d = shape_.dim(), m = reducer_.n_micro(), first = reducer_.first(), P = shape_.size();
  const IcnnParams<float> pf = prepared(f, b, tf_), pg = prepared(g, b, tg_);
  nn::parallel_items(reducer_.owned(), [&](std::int64_t item, int worker) {
    Worker& w = workers_.at(static_cast<std::size_t>(worker));
    const std::int64_t k = first + item;
    const auto [lo, hi] = nn::micro_rows(b, m, k);
    CELLOT_CHECK(hi - lo <= cap_, "batch larger than the step was built for");
    gather(x_data, rows, lo, hi, d, w.x);
    float* slot = reducer_.slot(k);
    slot[P] = static_cast<float>(w.steps->g_step(pf, pg, w.x.data(), hi - lo, scale, slot));
  });
  return finish(vote);
}

CellotGroupStep::Result CellotGroupStep::f_step(const float* f, const float* g, const float* y_data,
                                                const std::vector<std::int64_t>& y_rows, const float* x_data,
                                                const std::vector<std::int64_t>& x_rows, int vote) {
  const auto by = static_cast<std::int64_t>(y_rows.size()), bx = static_cast<std::int64_t>(x_rows.size());
  const float sy = 1.f / static_cast<float>(by), sx = 1.f / static_cast<float>(bx);
  const std::int64_t d = shape_.dim(), m = reducer_.n_micro(), first = reducer_.first(), P = shape_.size();
  const IcnnParams<float> pf = prepared(f, by + bx, tf_), pg = prepared(g, bx, tg_);
  nn::parallel_items(reducer_.owned(), [&](std::int64_t item, int worker) {
    Worker& w = workers_.at(static_cast<std::size_t>(worker));
    const std::int64_t k = first + item;
    const auto [ylo, yhi] = nn::micro_rows(by, m, k);
    const auto [xlo, xhi] = nn::micro_rows(bx, m, k);
    CELLOT_CHECK(yhi - ylo <= cap_ && xhi - xlo <= cap_, "batch larger than the step was built for");
    gather(y_data, y_rows, ylo, yhi, d, w.y);
    gather(x_data, x_rows, xlo, xhi, d, w.x);
    float* slot = reducer_.slot(k);
    slot[P] = static_cast<float>(w.steps->f_step(pf, pg, w.y.data(), yhi - ylo, w.x.data(), xhi - xlo, sy, sx, slot));
  });
  return finish(vote);
}

void CellotGroupStep::transport(const float* g, const float* x, std::int64_t n, float* out) {
  const std::int64_t d = shape_.dim(), chunks = (n + cap_ - 1) / cap_;
  const IcnnParams<float> pg = transposed(g, tg_);  // n may differ by rank: always
  nn::parallel_items(chunks, [&](std::int64_t c, int worker) {
    const std::int64_t begin = c * cap_, rows = std::min(cap_, n - begin);
    workers_.at(static_cast<std::size_t>(worker)).steps->transport(pg, x + begin * d, rows, out + begin * d);
  });
}

void CellotGroupStep::f_values(const float* f, const float* x, std::int64_t n, float* out) {
  const std::int64_t d = shape_.dim(), chunks = (n + cap_ - 1) / cap_;
  const IcnnParams<float> pf = transposed(f, tf_);
  nn::parallel_items(chunks, [&](std::int64_t c, int worker) {
    const std::int64_t begin = c * cap_, rows = std::min(cap_, n - begin);
    workers_.at(static_cast<std::size_t>(worker)).steps->f_values(pf, x + begin * d, rows, out + begin);
  });
}

}  // namespace cellot::models
