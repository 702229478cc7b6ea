#pragma once
// The feature transforms of a screen (data/transform.hpp): one per (fold, seed) split of the
// plan, fitted once per screen on that split's training cells -- a pca:K embedding by every rank
// together (each reads and accumulates its share of the sample's row blocks, data/pca.hpp), the
// others on rank 0 -- and broadcast from rank 0, written
// into the store's /transform/<key> and read back from there by `predict --store`.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "cellot/core/config.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/io/store.hpp"
#include "cellot/screen/plan.hpp"

namespace cellot::screen {

// "fold<f>_seed<s>".
std::string transform_key(int fold, std::uint64_t seed);

using Transforms = std::map<std::string, data::FeatureTransform>;

// Collective over comm: the ranks fit every split's transform (dataset(fold) opens the data of a
// fold) as above and all return rank 0's. An error of one rank is thrown there and, as an
// InputError pointing at that rank's message, on the others.
Transforms fit_screen_transforms(const Config& cfg, const Plan& plan,
                                 const std::function<const data::Dataset&(int fold)>& dataset, MPI_Comm comm);

// The store's form of the transforms, and back (InputError naming the store when a split of the
// plan has none).
std::vector<std::pair<std::string, io::ArrayGroup>> to_store(const Transforms& t);
data::FeatureTransform stored_transform(const io::StoreSpec& spec, int fold, std::uint64_t seed,
                                        std::int64_t n_features, const std::string& store_path);

}  // namespace cellot::screen
