// The results store on one rank: layout round trip, rows, checksums, crash states, merge.
#include "cellot/io/store.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/dist/merge.hpp"
#include "cellot/io/h5.hpp"
#include "store_fixture.hpp"

namespace fs = std::filesystem;
using namespace cellot;

namespace {

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cellot_store_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Overwrites one float64 of a 2-D dataset in place, as a file system that lost a write would.
void poke_double(const std::string& path, const std::string& dset, hsize_t row, hsize_t col, double v) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t d = H5Dopen2(f, dset.c_str(), H5P_DEFAULT);
  hid_t fs_ = H5Dget_space(d);
  hsize_t start[2] = {row, col}, count[2] = {1, 1};
  H5Sselect_hyperslab(fs_, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t ms = H5Screate_simple(2, count, nullptr);
  ASSERT_GE(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs_, H5P_DEFAULT, &v), 0);
  H5Sclose(ms);
  H5Sclose(fs_);
  H5Dclose(d);
  H5Fclose(f);
}

}  // namespace

TEST(Store, CreateOpenRoundTripsTheSpec) {
  const auto path = temp_path("spec.h5");
  const auto spec = test::small_spec();
  {
    auto s = io::Store::create(path, spec, MPI_COMM_NULL);
    s.close();
  }
  auto s = io::Store::open(path, MPI_COMM_NULL, false);
  const auto& r = s.spec();
  ASSERT_EQ(r.size(), spec.size());
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    EXPECT_EQ(r.tasks[t].key, spec.tasks[t].key);
    EXPECT_EQ(r.tasks[t].perturbation, spec.tasks[t].perturbation);
    EXPECT_EQ(r.tasks[t].model, spec.tasks[t].model);
    EXPECT_EQ(r.tasks[t].seed, spec.tasks[t].seed);
    EXPECT_EQ(r.tasks[t].task_seed, spec.tasks[t].task_seed);
    EXPECT_EQ(r.tasks[t].cost, spec.tasks[t].cost);
    EXPECT_EQ(r.tasks[t].n_treated, spec.tasks[t].n_treated);
    EXPECT_EQ(r.tasks[t].prediction_capacity, spec.tasks[t].prediction_capacity);
  }
  EXPECT_EQ(r.plan_hash, spec.plan_hash);
  EXPECT_EQ(r.config_ini, spec.config_ini);
  EXPECT_EQ(r.metric_names, spec.metric_names);
  EXPECT_EQ(r.features, spec.features);
  EXPECT_EQ(r.models, spec.models);
  ASSERT_EQ(r.params.size(), 1u);
  EXPECT_EQ(r.params[0].shapes, spec.params[0].shapes);
  EXPECT_EQ(r.params[0].max_size, 8);
  EXPECT_TRUE(r.save_predictions);
  EXPECT_EQ(r.owned, std::vector<std::uint8_t>(spec.tasks.size(), 1));
  for (auto st : s.read_states()) EXPECT_EQ(st, io::TaskState::pending);
  for (bool b : s.trusted_done()) EXPECT_FALSE(b);
}

TEST(Store, RowRoundTripAndChecksum) {
  const auto path = temp_path("rows.h5");
  const auto spec = test::small_spec();
  {
    auto s = io::Store::create(path, spec, MPI_COMM_SELF);  // the MPI-IO driver on one rank
    for (std::int64_t t = 0; t < spec.size(); t += 2) s.write_row(t, test::small_row(t, spec));
    s.write_state(1, io::TaskState::running);
    s.close();
  }
  auto s = io::Store::open(path, MPI_COMM_NULL, false);
  const auto states = s.read_states();
  const auto trusted = s.trusted_done();
  for (std::int64_t t = 0; t < spec.size(); ++t) {
    const bool written = t % 2 == 0;
    EXPECT_EQ(states[static_cast<std::size_t>(t)],
              written ? io::TaskState::done : (t == 1 ? io::TaskState::running : io::TaskState::pending));
    EXPECT_EQ(trusted[static_cast<std::size_t>(t)], written);
  }
  for (std::int64_t t = 0; t < spec.size(); t += 2) {
    const auto want = test::small_row(t, spec);
    const auto got = s.read_row(t);
    ASSERT_EQ(got.value.size(), want.value.size());
    for (std::size_t k = 0; k < want.value.size(); ++k) EXPECT_TRUE(same_double(got.value[k], want.value[k])) << k;
    EXPECT_EQ(got.iterations, want.iterations);
    EXPECT_EQ(got.curve_columns, want.curve_columns);
    EXPECT_EQ(got.curve_rows, want.curve_rows);
    EXPECT_EQ(got.params, want.params);
    EXPECT_EQ(got.param_layout, want.param_layout);
    EXPECT_EQ(got.predictions, want.predictions);
    EXPECT_EQ(got.prediction_cells, want.prediction_cells);
    EXPECT_EQ(got.host, want.host);
    EXPECT_EQ(got.finished_at, want.finished_at);
    EXPECT_EQ(got.group, want.group);
    EXPECT_DOUBLE_EQ(got.wall_time, want.wall_time);
    EXPECT_EQ(got.phase_time, want.phase_time);
    EXPECT_NE(got.checksum, 0u);
  }
  s.close();
  // A done flag whose row did not reach the disk (simulated by changing one metric) is not trusted.
  poke_double(path, "/metrics/value", 2, 1, 42.0);
  auto s2 = io::Store::open(path, MPI_COMM_NULL, false);
  const auto trusted2 = s2.trusted_done();
  EXPECT_TRUE(trusted2[0]);
  EXPECT_FALSE(trusted2[2]);
  EXPECT_TRUE(trusted2[4]);
}

TEST(Store, CurvesAreThinnedKeepingFirstAndLast) {
  const auto path = temp_path("curves.h5");
  const auto spec = test::small_spec();  // 4 points
  auto s = io::Store::create(path, spec, MPI_COMM_NULL);
  auto row = test::small_row(0, spec);
  row.curve_rows.clear();
  for (int i = 0; i < 10; ++i) row.curve_rows.push_back({static_cast<double>(i), 2.0 * i});
  row.curve_columns = {"step", "loss", "a", "b"};  // one more than the 3 reserved columns
  s.write_row(0, row);
  const auto got = s.read_row(0);
  ASSERT_EQ(got.curve_rows.size(), 4u);
  EXPECT_EQ(got.curve_rows.front()[0], 0.0);
  EXPECT_EQ(got.curve_rows.back()[0], 9.0);
  EXPECT_EQ(got.curve_columns.size(), 3u);
  EXPECT_NE(got.message.find("curve columns"), std::string::npos);
}

TEST(Store, OversizedParamsAndPredictionsAreRefusedWithANote) {
  const auto path = temp_path("oversize.h5");
  const auto spec = test::small_spec();
  auto s = io::Store::create(path, spec, MPI_COMM_NULL);
  auto row = test::small_row(0, spec);
  row.params.resize(20, 1.0f);  // 8 reserved
  row.predictions.resize(100 * 3, 0.0f);
  row.prediction_cells.resize(100, 0);
  s.write_row(0, row);
  const auto got = s.read_row(0);
  EXPECT_EQ(got.params_count, -1);
  EXPECT_TRUE(got.params.empty());
  EXPECT_TRUE(got.predictions.empty());
  EXPECT_NE(got.message.find("parameters (20 floats) exceed"), std::string::npos);
  EXPECT_NE(got.message.find("predictions (100 cells) exceed"), std::string::npos);
  EXPECT_TRUE(s.trusted_done()[0]);
}

TEST(Store, ProvenanceHistoryAppendsOneLinePerRun) {
  const auto path = temp_path("prov.h5");
  const auto spec = test::small_spec(3, false);
  {
    auto s = io::Store::create(path, spec, MPI_COMM_NULL);
    io::Provenance p;
    p.version = "v1";
    p.command_line = "cellot screen first";
    p.start_time = "t0";
    p.world_size = 4;
    p.hostnames = {"a", "b"};
    s.write_provenance_start(p);
    s.write_provenance_end("t1", "stopped");
    s.close();
  }
  {
    auto s = io::Store::open(path, MPI_COMM_NULL, true);
    io::Provenance p;
    p.version = "v1";
    p.command_line = "cellot screen --resume";
    p.start_time = "t2";
    p.world_size = 2;
    s.write_provenance_start(p);
    s.write_provenance_end("t3", "complete");
    s.close();
  }
  auto s = io::Store::open(path, MPI_COMM_NULL, false);
  const auto sum = s.summary();
  ASSERT_EQ(sum.history.size(), 2u);
  EXPECT_NE(sum.history[0].find("t0 .. t1"), std::string::npos);
  EXPECT_NE(sum.history[0].find("stopped"), std::string::npos);
  EXPECT_NE(sum.history[1].find("--resume"), std::string::npos);
  EXPECT_EQ(sum.provenance.at("world_size"), "2");
  EXPECT_EQ(sum.provenance.at("end_time"), "t3");
  EXPECT_FALSE(sum.spec.save_predictions);
}

TEST(Store, OpenRefusesFilesThatAreNotStores) {
  const auto path = temp_path("not_a_store.h5");
  {
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
  }
  EXPECT_THROW(io::Store::open(path, MPI_COMM_NULL, false), InputError);
  EXPECT_THROW(io::Store::open(temp_path("missing.h5"), MPI_COMM_NULL, false), InputError);
}

namespace {

std::string make_shard(const std::string& name, const std::string& shard, const std::vector<std::int64_t>& done,
                       double salt = 0, const std::string& hash = "0123456789abcdef") {
  const auto path = temp_path(name);
  auto spec = test::small_spec();
  spec.shard = shard;
  spec.plan_hash = hash;
  auto s = io::Store::create(path, spec, MPI_COMM_NULL);
  for (auto t : done) s.write_row(t, test::small_row(t, spec, salt));
  s.close();
  return path;
}

}  // namespace

TEST(Merge, ShardsCombineIntoTheOneJobStore) {
  const auto a = make_shard("m_a.h5", "0/2", {0, 2, 4});
  const auto b = make_shard("m_b.h5", "1/2", {1, 3, 5});
  const auto out = temp_path("m_out.h5");
  const auto r = dist::merge_stores({a, b}, out, "test");
  EXPECT_EQ(r.done, 6);
  EXPECT_TRUE(r.missing.empty());
  auto m = io::Store::open(out, MPI_COMM_NULL, false);
  const auto spec = test::small_spec();
  EXPECT_EQ(m.spec().shard, "");
  for (std::int64_t t = 0; t < 6; ++t) {
    EXPECT_TRUE(m.trusted_done()[static_cast<std::size_t>(t)]);
    const auto got = m.read_row(t);
    const auto want = test::small_row(t, spec);
    EXPECT_EQ(got.params, want.params);
    EXPECT_EQ(got.predictions, want.predictions);
    for (std::size_t k = 0; k + 1 < want.value.size(); ++k) EXPECT_EQ(got.value[k], want.value[k]);
  }
  EXPECT_EQ(m.summary().merged_from.size(), 2u);
}

TEST(Merge, ReportsMissingTasks) {
  const auto a = make_shard("mm_a.h5", "0/2", {0, 2});
  const auto b = make_shard("mm_b.h5", "1/2", {1, 3, 5});
  const auto r = dist::merge_stores({a, b}, temp_path("mm_out.h5"), "test");
  EXPECT_EQ(r.done, 5);
  ASSERT_EQ(r.missing.size(), 1u);
  EXPECT_EQ(r.missing[0], test::small_spec().tasks[4].key);
}

TEST(Merge, RefusesOtherPlansDuplicateShardsAndConflicts) {
  const auto a = make_shard("r_a.h5", "0/2", {0, 1});
  const auto other_plan = make_shard("r_b.h5", "1/2", {2}, 0, "fedcba9876543210");
  const auto same_shard = make_shard("r_c.h5", "0/2", {2});
  const auto conflict = make_shard("r_d.h5", "1/2", {1}, 0.5);
  const auto identical = make_shard("r_e.h5", "1/2", {1, 2, 3, 4, 5});
  try {
    dist::merge_stores({a, other_plan}, temp_path("r_out1.h5"), "test");
    FAIL() << "merged stores of different plans";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "plan_hash");
    EXPECT_EQ(e.value(), "fedcba9876543210");
  }
  try {
    dist::merge_stores({a, same_shard}, temp_path("r_out2.h5"), "test");
    FAIL() << "merged the same shard twice";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "shard");
  }
  EXPECT_THROW(dist::merge_stores({a, a}, temp_path("r_out3.h5"), "test"), InputError);
  try {
    dist::merge_stores({a, conflict}, temp_path("r_out4.h5"), "test");
    FAIL() << "merged conflicting rows";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "task");
    EXPECT_EQ(e.value(), test::small_spec().tasks[1].key);
  }
  // The same task done twice with identical bits is a duplicate, not a conflict.
  const auto r = dist::merge_stores({a, identical}, temp_path("r_out5.h5"), "test");
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.done, 6);
}
