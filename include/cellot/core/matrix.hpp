#pragma once
// A dense row-major matrix of cells × features in float64: the exchange type between the h5ad
// layer, the dataset layer, the models (which convert to float32 tensors) and the metrics.
#include <cstdint>
#include <vector>

namespace cellot {

struct Matrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(std::int64_t r, std::int64_t c) : rows(r), cols(c), data(static_cast<std::size_t>(r * c), 0.0) {}

  double* row(std::int64_t i) { return data.data() + i * cols; }
  const double* row(std::int64_t i) const { return data.data() + i * cols; }
  double& operator()(std::int64_t i, std::int64_t j) { return data[static_cast<std::size_t>(i * cols + j)]; }
  double operator()(std::int64_t i, std::int64_t j) const { return data[static_cast<std::size_t>(i * cols + j)]; }
  bool empty() const { return rows == 0; }

  // Rows `idx` of this matrix, in that order.
  Matrix select_rows(const std::vector<std::int64_t>& idx) const;
};

}  // namespace cellot
