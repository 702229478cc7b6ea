#pragma once
// The control cells of a screen's splits, prepared once per screen by all ranks together, so that
// no task reads control rows of the file (every task of a split pairs the same control cells with
// its perturbation):
//  - the control cells in the split's embedding (pca:K, ae:K), embedded by the ranks together
//    (data::embed_together: each rank reads and embeds fixed 1,024-row blocks of its share, the
//    ranks exchange the embedded rows);
//  - with "genes:" metrics, the gene-space statistics of the controls a task would otherwise read
//    at full gene width: the moments of the control training cells' fit sample (the marker
//    genes' SMD) and the means of the control test (and iid) cells (the change reference of the
//    genes: metrics). One rank computes them per split (split s on rank s mod ranks) and
//    broadcasts them: each gene's moment is its own column's two-pass sum over the cells in
//    order, the same bits as a task computing it.
#include <mpi.h>

#include <map>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/screen/transforms.hpp"
#include "data_cache.hpp"

namespace cellot::screen::detail {

struct SplitControls {
  // Every control cell (Dataset::rows_of(control), file order) in the split's embedding, not
  // standardised; empty when the transform does not embed X's rows (none, obsm:KEY).
  Matrix embedded;
  bool genes = false;  // the gene-space statistics below are set
  metrics::FeatureMoments marker_moments;  // of the control training cells' fit sample
  std::vector<double> test_mean, iid_mean;  // of the control test / iid cells (iid: holdout)
};

// By transform_key(fold, seed); a split is present when its transform embeds.
using SplitControlsMap = std::map<std::string, SplitControls>;

// File rows of `idx` (indices into `rows`), in that order.
std::vector<std::int64_t> pick_rows(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& idx);

// Collective over comm (every rank with the same plan and transforms). `genes`: the screen
// scores "genes:" metrics (the statistics are computed); `iid`: also the iid cells' mean.
// Rank 0 logs what it cost; every rank logs at debug level the control rows it read.
SplitControlsMap prepare_split_controls(const Config& cfg, const Plan& plan, const Transforms& transforms,
                                        DataCache& cache, bool genes, bool iid, MPI_Comm comm);

}  // namespace cellot::screen::detail
