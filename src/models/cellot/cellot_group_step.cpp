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
  nn::parallel_items(reducer_.owned(), [&](std::int64_t item, int worker) {
    Worker& w = workers_.at(static_cast<std::size_t>(worker));
    const std::int64_t k = first + item;
    const auto [lo, hi] = nn::micro_rows(b, m, k);
    CELLOT_CHECK(hi - lo <= cap_, "batch larger than the step was built for");
    gather(x_data, rows, lo, hi, d, w.x);
    float* slot = reducer_.slot(k);
    slot[P] = static_cast<float>(w.steps->g_step(f, g, w.x.data(), hi - lo, scale, slot));
  });
  return finish(vote);
}

CellotGroupStep::Result CellotGroupStep::f_step(const float* f, const float* g, const float* y_data,
                                                const std::vector<std::int64_t>& y_rows, const float* x_data,
                                                const std::vector<std::int64_t>& x_rows, int vote) {
  const auto by = static_cast<std::int64_t>(y_rows.size()), bx = static_cast<std::int64_t>(x_rows.size());
  const float sy = 1.f / static_cast<float>(by), sx = 1.f / static_cast<float>(bx);
  const std::int64_t d = shape_.dim(), m = reducer_.n_micro(), first = reducer_.first(), P = shape_.size();
  nn::parallel_items(reducer_.owned(), [&](std::int64_t item, int worker) {
    Worker& w = workers_.at(static_cast<std::size_t>(worker));
    const std::int64_t k = first + item;
    const auto [ylo, yhi] = nn::micro_rows(by, m, k);
    const auto [xlo, xhi] = nn::micro_rows(bx, m, k);
    CELLOT_CHECK(yhi - ylo <= cap_ && xhi - xlo <= cap_, "batch larger than the step was built for");
    gather(y_data, y_rows, ylo, yhi, d, w.y);
    gather(x_data, x_rows, xlo, xhi, d, w.x);
    float* slot = reducer_.slot(k);
    slot[P] = static_cast<float>(w.steps->f_step(f, g, w.y.data(), yhi - ylo, w.x.data(), xhi - xlo, sy, sx, slot));
  });
  return finish(vote);
}

void CellotGroupStep::transport(const float* g, const float* x, std::int64_t n, float* out) {
  const std::int64_t d = shape_.dim(), chunks = (n + cap_ - 1) / cap_;
  nn::parallel_items(chunks, [&](std::int64_t c, int worker) {
    const std::int64_t begin = c * cap_, rows = std::min(cap_, n - begin);
    workers_.at(static_cast<std::size_t>(worker)).steps->transport(g, x + begin * d, rows, out + begin * d);
  });
}

void CellotGroupStep::f_values(const float* f, const float* x, std::int64_t n, float* out) {
  const std::int64_t d = shape_.dim(), chunks = (n + cap_ - 1) / cap_;
  nn::parallel_items(chunks, [&](std::int64_t c, int worker) {
    const std::int64_t begin = c * cap_, rows = std::min(cap_, n - begin);
    workers_.at(static_cast<std::size_t>(worker)).steps->f_values(f, x + begin * d, rows, out + begin);
  });
}

}  // namespace cellot::models
