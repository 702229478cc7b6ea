#pragma once
// The small CellOT configuration of the trainer's unit tests (narrow ICNN, small batches,
// frequent evaluations), shared so that the trainer, early-stopping and packing tests train
// the same model.
#include <cstdint>

#include "cellot/core/config.hpp"

namespace cellot::test {

inline Config small_cellot_config(std::int64_t iters) {
  Config cfg;
  cfg.model.name = "cellot";
  cfg.model.hidden = "16,16,16";
  cfg.training.iters = iters;
  cfg.training.batch_size = 32;
  cfg.training.inner_iters = 3;
  cfg.training.eval_every = 5;
  cfg.training.checkpoint_every = 1000;
  return cfg;
}

}  // namespace cellot::test
