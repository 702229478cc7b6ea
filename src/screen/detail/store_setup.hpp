#pragma once
// The screen's store: its spec from the plan, then created (fresh) or opened and checked
// (--resume), with this run's provenance line.
#include <optional>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"
#include "cellot/screen/groups.hpp"
#include "cellot/screen/screen.hpp"
#include "cellot/screen/transforms.hpp"

namespace cellot::screen::detail {

// The store's structure for this plan (shard ownership included). Identical on every rank.
io::StoreSpec store_spec(const ScreenOptions& opt, const Plan& plan, const std::vector<std::string>& metric_names,
                         const Transforms& transforms);

// Parameter layouts of every model of the plan, from untrained models, with the documented
// upper bounds where a model's size depends on training (docs/STORE.md '/params').
// `d`: the models' input features (the transform's dimension).
std::vector<io::ParamLayout> param_layouts(const Config& cfg, const Plan& plan, std::int64_t d);

struct OpenedStore {
  io::Store store;
  std::vector<bool> finished;  // rank 0: tasks with a trusted done row
};

// Collective over the world: creates the store, or opens it with --resume after checking it
// belongs to this plan, shard and layout (InputError otherwise); creates the checkpoint
// directory and writes this run's provenance.
OpenedStore open_screen_store(const ScreenOptions& opt, const io::StoreSpec& spec, const Groups& groups);

// The checkpoint directory of a store.
inline std::string checkpoint_dir(const std::string& store_path) { return store_path + ".ckpt"; }

}  // namespace cellot::screen::detail
