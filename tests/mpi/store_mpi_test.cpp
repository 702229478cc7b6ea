// The results store with real ranks: collective creation, independent row writes by different
// ranks into the same file, and reads that see every rank's rows.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <string>

#include "../unit/store_fixture.hpp"
#include "cellot/io/store.hpp"

using namespace cellot;

TEST(StoreMpi, RanksWriteDisjointRowsIndependently) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // One path for all ranks: rank 0 picks it, everyone uses it.
  std::string path =
      (std::filesystem::temp_directory_path() / ("cellot_store_mpi_" + std::to_string(::getpid()) + ".h5")).string();
  int len = static_cast<int>(path.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  path.resize(static_cast<std::size_t>(len));
  MPI_Bcast(path.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);

  const auto spec = test::small_spec(12);
  {
    auto s = io::Store::create(path, spec, MPI_COMM_WORLD);
    io::Provenance p;
    p.world_size = size;
    p.start_time = "t0";
    s.write_provenance_start(p);
    // Rows written in different orders by different ranks (rank r owns tasks t % size == r),
    // leaving the last task pending.
    for (std::int64_t t = spec.size() - 2; t >= 0; --t)
      if (t % size == rank) s.write_row(t, test::small_row(t, spec));
    MPI_Barrier(MPI_COMM_WORLD);
    // Everyone sees everyone's rows before the store is closed (raw data is not cached).
    const auto trusted = s.trusted_done();
    for (std::int64_t t = 0; t < spec.size(); ++t) EXPECT_EQ(trusted[static_cast<std::size_t>(t)], t < spec.size() - 1);
    s.write_provenance_end("t1", "complete");
    s.close();
  }
  {
    auto s = io::Store::open(path, MPI_COMM_WORLD, false);
    const auto states = s.read_states();
    for (std::int64_t t = 0; t < spec.size() - 1; ++t) {
      EXPECT_EQ(states[static_cast<std::size_t>(t)], io::TaskState::done);
      const auto got = s.read_row(t);
      EXPECT_EQ(got.params, test::small_row(t, spec).params);
      EXPECT_EQ(got.predictions, test::small_row(t, spec).predictions);
      EXPECT_EQ(got.host, "node" + std::to_string(t));
    }
    EXPECT_EQ(states.back(), io::TaskState::pending);
    EXPECT_EQ(s.summary().provenance.at("world_size"), std::to_string(size));
    s.close();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) std::filesystem::remove(path);
}
