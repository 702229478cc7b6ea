#include "cellot/nn/micro_batches.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/nn/allreduce.hpp"

namespace cellot::nn {

std::pair<std::int64_t, std::int64_t> micro_rows(std::int64_t b, std::int64_t m, std::int64_t k) {
  return share(b, static_cast<int>(k), static_cast<int>(m));
}

namespace {
void add(float* __restrict a, const float* __restrict b, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) a[i] += b[i];
}
}  // namespace

MicroBatchReducer::MicroBatchReducer(std::int64_t n_micro, std::int64_t width, MPI_Comm comm)
    : m_(n_micro), width_(width), comm_(comm) {
  CELLOT_CHECK(m_ >= 1 && width_ >= 0, "micro-batch reducer needs at least one micro-batch");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  std::tie(first_, last_) = share(m_, rank_, size_);
  slots_.assign(static_cast<std::size_t>(owned() * width_), 0.f);
  covers_.resize(static_cast<std::size_t>(size_));
  counts_.resize(static_cast<std::size_t>(size_));
  displs_.resize(static_cast<std::size_t>(size_));
  std::int64_t offset = 0;
  for (int r = 0; r < size_; ++r) {
    const auto [b, e] = share(m_, r, size_);
    covers_[static_cast<std::size_t>(r)] = tree_cover(m_, b, e);
    const std::int64_t n = 1 + static_cast<std::int64_t>(covers_[static_cast<std::size_t>(r)].size()) * width_;
    CELLOT_CHECK(offset + n <= INT_MAX, "micro-batch gradients too large for one MPI_Allgatherv");
    counts_[static_cast<std::size_t>(r)] = static_cast<int>(n);
    displs_[static_cast<std::size_t>(r)] = static_cast<int>(offset);
    for (std::size_t j = 0; j < covers_[static_cast<std::size_t>(r)].size(); ++j)
      cover_offset_.push_back(offset + 1 + static_cast<std::int64_t>(j) * width_);
    offset += n;
  }
  if (size_ > 1) {
    int depth = 1;
    for (std::int64_t span = 1; span < m_; span *= 2) ++depth;
    scratch_.assign(static_cast<std::size_t>(depth), std::vector<float>(static_cast<std::size_t>(width_)));
    send_.assign(static_cast<std::size_t>(counts_[static_cast<std::size_t>(rank_)]), 0.f);
    recv_.assign(static_cast<std::size_t>(offset), 0.f);
  }
}

float* MicroBatchReducer::slot(std::int64_t k) {
  CELLOT_CHECK(k >= first_ && k < last_, "micro-batch not owned by this rank");
  return slots_.data() + (k - first_) * width_;
}

void MicroBatchReducer::sum_local(const TreeNode& node) {
  if (node.hi - node.lo == 1) return;
  const std::int64_t mid = tree_mid(node);
  sum_local({node.lo, mid});
  sum_local({mid, node.hi});
  add(slot(node.lo), slot(mid), width_);
}

const float* MicroBatchReducer::complete(const TreeNode& node, int depth) {
  std::size_t flat = 0;
  for (const auto& c : covers_)
    for (const TreeNode& n : c) {
      if (n == node) return recv_.data() + cover_offset_[flat];
      ++flat;
    }
  // Not one rank's subtree: it spans ranks, so it has two children. (scratch_ holds a buffer per
  // depth, sized in the constructor: deeper calls must not move this one.)
  std::vector<float>& out = scratch_.at(static_cast<std::size_t>(depth));
  const std::int64_t mid = tree_mid(node);
  const float* left = complete({node.lo, mid}, depth + 1);
  std::copy(left, left + width_, out.begin());
  add(out.data(), complete({mid, node.hi}, depth + 1), width_);
  return out.data();
}

const float* MicroBatchReducer::reduce(int vote, int* votes) {
  const auto& mine = covers_[static_cast<std::size_t>(rank_)];
  for (const TreeNode& node : mine) sum_local(node);
  if (size_ == 1) {
    if (votes) *votes = vote;
    return slots_.data();  // the root [0, m) is this rank's one subtree
  }
  send_[0] = static_cast<float>(vote);
  for (std::size_t j = 0; j < mine.size(); ++j) {
    const float* s = slot(mine[j].lo);
    std::copy(s, s + width_, send_.begin() + 1 + static_cast<std::ptrdiff_t>(j) * width_);
  }
  // Bound: once per step on every rank of the group, in lockstep; a rank that throws instead reaches the
  // task's outcome agreement, bounded by screen.wait_timeout (task_runner.cpp).
  if (MPI_Allgatherv(send_.data(), counts_[static_cast<std::size_t>(rank_)], MPI_FLOAT, recv_.data(), counts_.data(),
                     displs_.data(), MPI_FLOAT, comm_) != MPI_SUCCESS)
    throw RuntimeError("MPI_Allgatherv of micro-batch gradients failed");
  if (votes) {
    *votes = 0;
    for (int r = 0; r < size_; ++r) *votes += static_cast<int>(recv_[static_cast<std::size_t>(displs_[static_cast<std::size_t>(r)])]);
  }
  return complete({0, m_}, 0);
}

}  // namespace cellot::nn
