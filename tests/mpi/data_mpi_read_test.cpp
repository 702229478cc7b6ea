// Parallel reads of one .h5ad through the MPI-IO driver: every rank reads its own disjoint rows
// (independently, different numbers of calls per rank) and gets exactly what a serial read gives.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/h5ad.hpp"

using namespace cellot;

namespace {

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// A directory made by rank 0 and known to all ranks.
std::string shared_dir() {
  std::string dir;
  if (rank() == 0) {
    std::string tmpl =
        (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) + "/cellot_mpi_read_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data())) dir = buf.data();
  }
  int len = static_cast<int>(dir.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  dir.resize(static_cast<std::size_t>(len));
  MPI_Bcast(dir.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  return dir;
}

bool all_ranks(bool ok) {
  int local = ok ? 1 : 0, global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return global == 1;
}

class MpiRead : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = shared_dir();
    if (rank() == 0) {
      data::SynthOptions o;
      o.preset = "screen";
      o.perturbations = 6;
      o.features = 12;
      o.cells_scale = 0.25;
      auto a = data::make_synthetic(o);
      io::write_h5ad(dir_ + "/dense.h5ad", a);
      // Make it sparse-ish so CSR exercises real index ranges.
      for (auto& v : a.X.data)
        if (v < 0) v = 0;
      a.x_encoding = "csr_matrix";
      io::write_h5ad(dir_ + "/csr.h5ad", a);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  static void TearDownTestSuite() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  static std::string dir_;
};
std::string MpiRead::dir_;

}  // namespace

TEST_F(MpiRead, DisjointRowsPerRankMatchTheSerialRead) {
  ASSERT_FALSE(dir_.empty());
  for (const char* name : {"dense.h5ad", "csr.h5ad"}) {
    const std::string path = dir_ + "/" + name;
    Matrix all;
    std::int64_t n = 0;
    std::vector<std::string> names;
    {
      io::H5adReader serial(path);
      n = serial.n_obs();
      names = serial.obs().index;
      std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
      std::iota(rows.begin(), rows.end(), 0);
      all = serial.read_rows(rows);
    }
    MPI_Barrier(MPI_COMM_WORLD);  // every serial handle closed before the collective open
    io::H5adReader par(path, MPI_COMM_WORLD);
    EXPECT_EQ(par.n_obs(), n);
    EXPECT_EQ(par.x_encoding(), std::string(name) == "csr.h5ad" ? "csr_matrix" : "array");
    // Rank r takes rows r, r + size, ... in a shuffled order, read in (rank + 1) independent calls.
    std::vector<std::int64_t> mine;
    for (std::int64_t i = rank(); i < n; i += size()) mine.push_back(i);
    Rng rng(static_cast<std::uint64_t>(rank()));
    rng.shuffle(mine);
    const std::size_t calls = static_cast<std::size_t>(rank()) + 1;
    bool ok = true;
    std::int64_t got_rows = 0;
    for (std::size_t c = 0; c < calls; ++c) {
      const std::size_t lo = mine.size() * c / calls, hi = mine.size() * (c + 1) / calls;
      const std::vector<std::int64_t> part(mine.begin() + static_cast<std::ptrdiff_t>(lo),
                                           mine.begin() + static_cast<std::ptrdiff_t>(hi));
      const Matrix got = par.read_rows(part);
      ok = ok && got.data == all.select_rows(part).data;
      got_rows += got.rows;
    }
    EXPECT_TRUE(ok) << name << " on rank " << rank();
    EXPECT_TRUE(all_ranks(ok)) << name;
    // Together the ranks read every row exactly once.
    std::int64_t total = 0;
    MPI_Allreduce(&got_rows, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT_EQ(total, n);
    EXPECT_EQ(par.obs().index, names);
  }
}

TEST_F(MpiRead, DatasetOverACommunicatorLoadsTheSamePair) {
  DataConfig cfg;
  cfg.path = dir_ + "/dense.h5ad";
  data::PairData serial;
  {
    data::Dataset ds(cfg);
    serial = ds.load_pair(ds.perturbations()[static_cast<std::size_t>(rank()) % 6], 4);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  data::Dataset par(cfg, MPI_COMM_WORLD);
  const auto p = par.load_pair(par.perturbations()[static_cast<std::size_t>(rank()) % 6], 4);
  EXPECT_EQ(p.treated.data, serial.treated.data);
  EXPECT_EQ(p.control.data, serial.control.data);
  EXPECT_EQ(p.treated_split.test, serial.treated_split.test);
  EXPECT_TRUE(all_ranks(p.treated.data == serial.treated.data));
}
