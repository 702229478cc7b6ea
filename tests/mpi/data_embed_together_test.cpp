// data::embed_together (data/embedding.hpp): the control cells of a split embedded by the ranks
// together, each reading only the 1,024-row blocks of its share, are the same bits on every rank
// as one process's load_embedded, at 1, 2 and 3 ranks (3 blocks of 2,400 rows: at 2 ranks the
// shares are unequal, at 3 one block each); every row is read once over all ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstring>

#include "cellot/data/dataset.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/data/synth.hpp"
#include "scratch_dir.hpp"

using namespace cellot;

TEST(EmbedTogether, SameBitsAsOneProcessEachRowReadOnce) {
  // Every rank writes the same file (bit-identical for the same options) in its own directory.
  const test::ScratchDir dir("cellot-embed-together-");
  data::SynthOptions o;
  o.preset = "scrna";
  o.cells = 3000;
  o.genes = 120;
  o.perturbations = 2;
  o.control_fraction = 0.8;
  o.shuffle = true;
  o.seed = 4;
  const std::string path = dir.path("scrna.h5ad");
  data::write_synthetic_scrna(o, path, false);
  DataConfig cfg;
  cfg.path = path;
  cfg.embedding = "pca:6";
  const data::Dataset ds(cfg);
  const data::FeatureTransform t = data::fit_on_training_split(ds, 7);
  const auto rows = ds.rows_of("control");
  ASSERT_EQ(rows.size(), 2400u);

  const Matrix one = data::load_embedded(ds, t, rows);
  const std::int64_t before = ds.control_rows_read();
  std::int64_t read = -1;
  const Matrix all = data::embed_together(ds, t, rows, MPI_COMM_WORLD, &read);
  EXPECT_EQ(ds.control_rows_read() - before, read);
  ASSERT_EQ(all.rows, one.rows);
  ASSERT_EQ(all.cols, one.cols);
  EXPECT_EQ(std::memcmp(all.data.data(), one.data.data(), one.data.size() * sizeof(double)), 0);
  std::int64_t total = read;
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, 2400);
}
