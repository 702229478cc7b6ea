#pragma once
// The gradients of CellOT's two optimiser steps over a rank group, the same bits for any number
// of ranks and threads (nn/micro_batches.hpp): the global batch is cut into the config's
// micro-batches, each one's gradient is computed by one thread with CellotSteps (single-threaded
// BLAS), and the micro-gradients are summed in the fixed tree.
//
// A step is a function of (parameters, the batch's rows, the micro-batch count) and nothing
// else, so that several models' steps can later be batched together without changing a bit.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "cellot/models/cellot/cellot_steps.hpp"
#include "cellot/models/cellot/icnn.hpp"
#include "cellot/nn/micro_batches.hpp"

namespace cellot::models {

class CellotGroupStep {
 public:
  // max_batch: the largest global batch (rows) a step will see. Collective over comm.
  CellotGroupStep(const IcnnShape& shape, std::int64_t max_batch, std::int64_t micro_batches, MPI_Comm comm);

  struct Result {
    const float* grad = nullptr;  // the group's gradient (shape.size() floats), valid until the next step
    double loss = 0;              // the step's loss (as the gradient: a mean over the batch)
    int votes = 0;                // sum of the ranks' votes
  };
  // Gradient of mean_i [f(T_i) - <x_i, T_i>] over the rows `rows` of x_data (the whole global
  // batch, the same on every rank; n x dim, row-major), T = grad g(x).
  Result g_step(const float* f, const float* g, const float* x_data, const std::vector<std::int64_t>& rows,
                int vote = 0);
  // Gradient of mean_j f(y_j) - mean_i f(T_i) over y_rows of y_data and x_rows of x_data.
  Result f_step(const float* f, const float* g, const float* y_data, const std::vector<std::int64_t>& y_rows,
                const float* x_data, const std::vector<std::int64_t>& x_rows, int vote = 0);

  // T(x) and f values of many rows (validation), in chunks of micro-batch size spread over the
  // threads; each row's value is independent of the thread count.
  void transport(const float* g, const float* x, std::int64_t n, float* out);
  void f_values(const float* f, const float* x, std::int64_t n, float* out);

  std::int64_t micro_batches() const { return reducer_.n_micro(); }
  std::int64_t micro_rows() const { return cap_; }  // rows of the largest micro-batch

 private:
  struct Worker {
    std::unique_ptr<CellotSteps<float>> steps;
    std::vector<float> x, y;
  };
  Result finish(int vote);
  // The network's parameters with the transposes of its forward products, written into `buf`
  // from these parameters now (IcnnParams: the faster NN products); prepared() only when a step
  // of `rows` rows repays the copy.
  IcnnParams<float> transposed(const float* params, std::vector<float, CacheLineAllocator<float>>& buf) const;
  IcnnParams<float> prepared(const float* params, std::int64_t rows,
                             std::vector<float, CacheLineAllocator<float>>& buf) const;

  IcnnShape shape_;
  std::int64_t cap_;
  nn::MicroBatchReducer reducer_;
  std::vector<Worker> workers_;
  std::vector<float, CacheLineAllocator<float>> tf_, tg_;  // transposes of f's and g's products
};

}  // namespace cellot::models
