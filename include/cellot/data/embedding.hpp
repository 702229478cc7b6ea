#pragma once
// The feature transform of a screen split (data/transform.hpp) fitted on a Dataset: which cells
// it is fitted on, and loading cells through it.
#include <cstdint>
#include <vector>

#include "cellot/core/matrix.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/pca.hpp"
#include "cellot/data/transform.hpp"

namespace cellot::data {

// File rows of the training split (control and every selected perturbation) under `split_seed`,
// sorted. Validation and test cells are never in it.
std::vector<std::int64_t> training_rows(const Dataset& ds, std::uint64_t split_seed);

// Fits the dataset config's transform on the training rows of `split_seed` (an evenly spaced
// subsample of at most kTransformFitCells of them): one transform per (fold, seed) split, shared
// by every perturbation and model of it. A pca:K embedding is fitted from the sample's row blocks
// (data/pca.hpp): with `comm` collectively, each rank reading and accumulating only its share of
// the blocks, every rank returning the same transform (the same bits as one process); `parallel`
// splits each rank's work over its threads. The other embeddings are fitted by the caller alone.
FeatureTransform fit_on_training_split(const Dataset& ds, std::uint64_t split_seed, MPI_Comm comm = MPI_COMM_NULL,
                                       const ParallelFor& parallel = {});

// Rows of the file in the transform's embedding space (not standardised): obsm rows for an obsm
// embedding, else preprocessed X rows embedded block by block (memory ~ one block of X).
Matrix load_embedded(const Dataset& ds, const FeatureTransform& t, const std::vector<std::int64_t>& rows);

// Rows per block of embed_together: the cut depends on the number of rows only.
inline constexpr std::int64_t kEmbedBlockRows = 1024;

// load_embedded by the ranks of `comm` together (collective; every rank passes the same rows and
// transform): the rows are cut into blocks of kEmbedBlockRows, each rank reads and embeds the
// blocks of its contiguous share, and every rank gets all rows (MPI_Allgatherv). A row's
// embedding depends on that row alone, so the result is the same bits as load_embedded on one
// process, at any number of ranks. The transform must embed (t.embeds()) and not be read from
// obsm. `read_rows`, when given, counts the rows this rank read from the file.
Matrix embed_together(const Dataset& ds, const FeatureTransform& t, const std::vector<std::int64_t>& rows, MPI_Comm comm,
                      std::int64_t* read_rows = nullptr);

}  // namespace cellot::data
