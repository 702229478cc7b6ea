#pragma once
// A task's trained model rebuilt from a results store (DESIGN.md 'Store': "/params/<model>
// (weights, so any prediction can be remade)"): the task's config is the store's /plan config
// with screen::task_config applied, the model is models::make_model of it with the row's
// parameters set, and the cells it predicted are the test-split controls of
// screen::split_seed(config, fold, seed), exactly as `cellot screen` chose them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/io/store.hpp"
#include "cellot/models/model.hpp"

namespace cellot::cli {

struct StoredTask {
  std::int64_t index = -1;  // row in /plan
  io::PlanRow task;
  Config config;                      // the task's resolved config (model.name, data.fold set)
  std::uint64_t split_seed = 0;       // seed of the task's data split
  std::vector<std::string> features;  // var names of the screen's data
  std::string data_fingerprint;       // of the screen's data ("" or "none" when not recorded)
  HashScheme fingerprint_hash = kCurrentHashScheme;  // the store's hash scheme
  data::FeatureTransform transform;   // the split's transform (/transform/<split>): features -> model inputs
  std::unique_ptr<models::Model> model;
};

// Rebuilds task `key` of `store` (opened by the caller). InputError naming the store and the key
// when the key is unknown, the task is not done (or its row fails its checksum), or its
// parameters were not kept (count -1) or do not match the model the config builds.
StoredTask load_stored_task(const io::Store& store, const std::string& key);

// "name:d0xd1;name:d0" (io::format_layout) -> names and shapes; InputError naming `where`.
void parse_param_layout(const std::string& text, const std::string& where, std::vector<std::string>& names,
                        std::vector<std::vector<std::int64_t>>& shapes);

}  // namespace cellot::cli
