// The results store on one rank: layout round trip, rows, checksums, crash states, merge.
#include "cellot/io/store.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/screen/merge.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/core/version.hpp"
#include "store_fixture.hpp"
#include "scratch_dir.hpp"

namespace fs = std::filesystem;
using namespace cellot;

namespace {

std::string temp_path(const std::string& name) {
  static const test::ScratchDir dir("cellot_store_test_");
  return dir.path(name);
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
  // One run of the store: start, and end unless `end` is empty (a killed run).
  auto run = [&](bool create, const std::string& version, const std::string& git, const std::string& command,
                 const std::string& start, int world, std::vector<std::string> hosts, const std::string& end,
                 const std::string& outcome) {
    auto s = create ? io::Store::create(path, spec, MPI_COMM_NULL) : io::Store::open(path, MPI_COMM_NULL, true);
    io::Provenance p;
    p.version = version;
    p.git_hash = git;
    p.command_line = command;
    p.start_time = start;
    p.world_size = world;
    p.hostnames = std::move(hosts);
    if (create) {
      p.launcher = "srun --mpi=pmix";
      p.slurm = "job 7 restart 0";
    }
    s.write_provenance_start(p);
    if (!end.empty()) s.write_provenance_end(end, outcome);
    s.close();
  };
  run(true, "v1", "aaaa111", "cellot screen first", "t0", 4, {"a", "b"}, "t1", "stopped");
  run(false, "v2", "bbbb222", "cellot screen --resume (killed)", "t2", 8, {"c"}, "", "");
  run(false, "v2", "bbbb222", "cellot screen --resume", "t3", 2, {}, "t4", "complete");
  auto s = io::Store::open(path, MPI_COMM_NULL, false);
  const auto sum = s.summary();
  ASSERT_EQ(sum.history.size(), 3u);
  const auto& first = sum.history[0];
  for (const char* part : {"t0 .. t1", "stopped", "world 4", "version v1 git aaaa111", "launcher srun --mpi=pmix",
                           "slurm job 7 restart 0", "2 hosts: a,b", "cellot screen first"})
    EXPECT_NE(first.find(part), std::string::npos) << part << " in " << first;
  EXPECT_NE(sum.history[1].find("t2 .. ? | no end recorded"), std::string::npos) << sum.history[1];
  EXPECT_NE(sum.history[1].find("world 8"), std::string::npos);
  EXPECT_NE(sum.history[1].find("git bbbb222"), std::string::npos);
  EXPECT_NE(sum.history[2].find("t3 .. t4 | complete"), std::string::npos) << sum.history[2];
  EXPECT_NE(sum.history[2].find("--resume"), std::string::npos);
  // The scalar attributes describe the latest run; git_hashes every build that wrote the store.
  EXPECT_EQ(sum.provenance.at("world_size"), "2");
  EXPECT_EQ(sum.provenance.at("end_time"), "t4");
  EXPECT_EQ(sum.provenance.at("git_hash"), "bbbb222");
  EXPECT_EQ(sum.git_hashes, (std::vector<std::string>{"aaaa111", "bbbb222"}));
  EXPECT_EQ(sum.provenance.count("mixed_git_hashes"), 1u);
  EXPECT_FALSE(sum.spec.save_predictions);
}

TEST(Store, ProvenanceKeepsThousandsOfRunsAndHosts) {
  // A merge of thousands of shard runs, a job on thousands of hosts: more than an HDF5 list
  // attribute holds in an object header (64 KB, about 4,000 entries).
  const auto path = temp_path("prov_many.h5");
  std::vector<std::string> lines, hosts;
  for (int i = 0; i < 6000; ++i) {
    lines.push_back("[shards/shard-" + std::to_string(i) + ".h5, shard " + std::to_string(i) + "/6000] run line");
    hosts.push_back("node" + std::to_string(i));
  }
  {
    auto s = io::Store::create(path, test::small_spec(3, false), MPI_COMM_NULL);
    s.append_provenance(lines, {"aaaa111"});
    io::Provenance p;
    p.hostnames = hosts;
    p.start_time = "t0";
    s.write_provenance_start(p);
    s.write_merged_from(lines);
    s.write_provenance_end("t1", "merged, complete");
    s.close();
  }
  const auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  ASSERT_EQ(sum.history.size(), 6001u);
  EXPECT_EQ(sum.history[5999], lines[5999]);
  EXPECT_NE(sum.history[6000].find("6000 hosts: node0,node1,"), std::string::npos);
  EXPECT_EQ(sum.hostnames, hosts);
  EXPECT_EQ(sum.merged_from, lines);
}

TEST(Store, LauncherAndSlurmJobComeFromTheEnvironment) {
  for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT"})
    ::unsetenv(v);
  EXPECT_EQ(io::slurm_job_text(), "");
  ::setenv("SLURM_JOB_ID", "4712", 1);
  EXPECT_EQ(io::slurm_job_text(), "job 4712 restart 0");
  ::setenv("SLURM_ARRAY_JOB_ID", "4711", 1);
  ::setenv("SLURM_ARRAY_TASK_ID", "3", 1);
  ::setenv("SLURM_RESTART_COUNT", "2", 1);
  EXPECT_EQ(io::slurm_job_text(), "job 4712 array 4711_3 restart 2");
  const auto path = temp_path("prov_env.h5");
  {
    auto s = io::Store::create(path, test::small_spec(3, false), MPI_COMM_NULL);
    io::Provenance p;  // launcher and slurm left empty: detected
    p.start_time = "t0";
    s.write_provenance_start(p);
    s.write_provenance_end("t1", "complete");
    s.close();
  }
  for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT"})
    ::unsetenv(v);
  const auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  EXPECT_EQ(sum.provenance.at("slurm"), "job 4712 array 4711_3 restart 2");
  EXPECT_EQ(sum.provenance.at("launcher"), io::detect_launcher());
  EXPECT_FALSE(io::detect_launcher().empty());
  EXPECT_NE(sum.history.at(0).find("slurm job 4712 array 4711_3 restart 2"), std::string::npos);
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

// A shard store with done rows `done` (their numbers shifted by `salt`) and, when `git` is set,
// one run in its provenance.
std::string make_shard(const std::string& name, const std::string& shard, const std::vector<std::int64_t>& done,
                       double salt = 0, const std::string& hash = "0123456789abcdef", const std::string& git = "") {
  const auto path = temp_path(name);
  auto spec = test::small_spec();
  spec.shard = shard;
  spec.plan_hash = hash;
  auto s = io::Store::create(path, spec, MPI_COMM_NULL);
  if (!git.empty()) {
    io::Provenance p;
    p.version = "v-" + git;
    p.git_hash = git;
    p.start_time = "start-" + shard;
    p.world_size = 3;
    p.command_line = "cellot screen --shard " + shard;
    s.write_provenance_start(p);
    s.write_provenance_end("end-" + shard, "complete");
  }
  for (auto t : done) s.write_row(t, test::small_row(t, spec, salt));
  s.close();
  return path;
}

// Writes one row into an existing store (a failed one, or a done one altered by `edit`).
template <class Edit>
void put_row(const std::string& path, std::int64_t t, Edit edit) {
  auto s = io::Store::open(path, MPI_COMM_NULL, true);
  auto row = test::small_row(t, test::small_spec());
  edit(row);
  s.write_row(t, row);
  s.close();
}

screen::MergeOptions allow_duplicates() {
  screen::MergeOptions o;
  o.allow_duplicates = true;
  return o;
}

}  // namespace

TEST(Merge, ShardsCombineIntoTheOneJobStore) {
  const auto a = make_shard("m_a.h5", "0/2", {0, 2, 4});
  const auto b = make_shard("m_b.h5", "1/2", {1, 3, 5});
  const auto out = temp_path("m_out.h5");
  const auto r = screen::merge_stores({a, b}, out, "test");
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
  const auto r = screen::merge_stores({a, b}, temp_path("mm_out.h5"), "test");
  EXPECT_EQ(r.done, 5);
  ASSERT_EQ(r.missing.size(), 1u);
  EXPECT_EQ(r.missing[0], test::small_spec().tasks[4].key);
}

TEST(Merge, KeepsTheInputsProvenanceAndFlagsMixedBuilds) {
  const auto a = make_shard("mp_a.h5", "0/2", {0, 2, 4}, 0, "0123456789abcdef", "1111aaa");
  const auto b = make_shard("mp_b.h5", "1/2", {1, 3, 5}, 0, "0123456789abcdef", "2222bbb");
  const auto out = temp_path("mp_out.h5");
  const auto r = screen::merge_stores({a, b}, out, "cellot merge test");
  EXPECT_EQ(r.git_hashes, (std::vector<std::string>{"1111aaa", "2222bbb"}));
  const auto sum = io::Store::open(out, MPI_COMM_NULL, false).summary();
  ASSERT_EQ(sum.history.size(), 3u);  // one run per shard, then the merge
  EXPECT_EQ(sum.history[0].rfind("[" + a + ", shard 0/2] start-0/2 .. end-0/2 | complete", 0), 0u) << sum.history[0];
  EXPECT_NE(sum.history[0].find("world 3"), std::string::npos);
  EXPECT_NE(sum.history[0].find("version v-1111aaa git 1111aaa"), std::string::npos);
  EXPECT_NE(sum.history[1].find("git 2222bbb"), std::string::npos);
  EXPECT_NE(sum.history[2].find("merged, complete"), std::string::npos) << sum.history[2];
  EXPECT_NE(sum.history[2].find("cellot merge test"), std::string::npos);
  ASSERT_GE(sum.git_hashes.size(), 2u);
  EXPECT_EQ(sum.git_hashes[0], "1111aaa");
  EXPECT_EQ(sum.git_hashes[1], "2222bbb");
  EXPECT_EQ(sum.provenance.count("mixed_git_hashes"), 1u);
  // One build throughout: not mixed.
  const auto c = make_shard("mp_c.h5", "0/2", {0, 2, 4}, 0, "0123456789abcdef", git_hash());
  const auto d = make_shard("mp_d.h5", "1/2", {1, 3, 5}, 0, "0123456789abcdef", git_hash());
  screen::merge_stores({c, d}, temp_path("mp_out2.h5"), "test");
  EXPECT_EQ(io::Store::open(temp_path("mp_out2.h5"), MPI_COMM_NULL, false).summary().provenance.count("mixed_git_hashes"),
            0u);
}

TEST(Merge, RefusesOtherPlansOtherLayoutsDuplicateShardsAndConflicts) {
  const auto a = make_shard("r_a.h5", "0/2", {0, 1});
  const auto other_plan = make_shard("r_b.h5", "1/2", {2}, 0, "fedcba9876543210");
  const auto same_shard = make_shard("r_c.h5", "0/2", {2});
  const auto conflict = make_shard("r_d.h5", "1/2", {1}, 0.5);
  const auto identical = make_shard("r_e.h5", "1/2", {1, 2, 3, 4, 5});
  try {
    screen::merge_stores({a, other_plan}, temp_path("r_out1.h5"), "test");
    FAIL() << "merged stores of different plans";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "plan_hash");
    EXPECT_EQ(e.value(), "fedcba9876543210 (" + other_plan + ") vs 0123456789abcdef (" + a + ")");
  }
  try {
    screen::merge_stores({a, same_shard}, temp_path("r_out2.h5"), "test");
    FAIL() << "merged the same shard twice";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "shard");
  }
  EXPECT_THROW(screen::merge_stores({a, a}, temp_path("r_out3.h5"), "test"), InputError);
  try {
    screen::merge_stores({a, conflict}, temp_path("r_out4.h5"), "test", allow_duplicates());
    FAIL() << "merged conflicting rows";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "task");
    EXPECT_EQ(e.value(), test::small_spec().tasks[1].key);
    EXPECT_NE(std::string(e.what()).find("different metrics"), std::string::npos) << e.what();
  }
  // Another layout (a metric more): rows of one cannot go into the other.
  {
    auto spec = test::small_spec();
    spec.shard = "1/2";
    spec.metric_names.push_back("energy");
    auto s = io::Store::create(temp_path("r_f.h5"), spec, MPI_COMM_NULL);
    s.close();
    try {
      screen::merge_stores({a, temp_path("r_f.h5")}, temp_path("r_out6.h5"), "test");
      FAIL() << "merged stores of different layouts";
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "layout");
    }
  }
  // The same task done twice with identical bits: refused by default (the inputs overlap),
  // accepted with allow_duplicates.
  try {
    screen::merge_stores({a, identical}, temp_path("r_out5.h5"), "test");
    FAIL() << "merged a task done in two shards";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "task");
    EXPECT_NE(std::string(e.what()).find("--allow-duplicates"), std::string::npos) << e.what();
  }
  const auto r = screen::merge_stores({a, identical}, temp_path("r_out5.h5"), "test", allow_duplicates());
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.done, 6);
}

TEST(Merge, ConflictsCompareParametersCurvesAndPredictionsToo) {
  const auto a = make_shard("c_a.h5", "0/2", {0});
  struct Case {
    const char* name;
    void (*edit)(io::TaskRow&);
    const char* what;
  };
  const Case cases[] = {
      {"c_params.h5", [](io::TaskRow& r) { r.params[3] += 1.0f; }, "different parameters"},
      {"c_curves.h5", [](io::TaskRow& r) { r.curve_rows[1][1] += 1e-9; }, "different curves"},
      {"c_pred.h5", [](io::TaskRow& r) { r.predictions[0] += 0.5f; }, "different predictions"},
  };
  for (const auto& c : cases) {
    const auto b = make_shard(c.name, "1/2", {});
    put_row(b, 0, c.edit);
    try {
      screen::merge_stores({a, b}, temp_path("c_out.h5"), "test", allow_duplicates());
      FAIL() << c.name;
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), "task") << c.name;
      const std::string what = e.what();
      EXPECT_NE(what.find(c.what), std::string::npos) << what;
      EXPECT_EQ(what.find("different metrics"), std::string::npos) << what;  // metrics are equal
    }
  }
}

TEST(Merge, DoneOverFailedIsKeptAndReported) {
  const auto a = make_shard("f_a.h5", "0/2", {0, 1, 2, 3, 4, 5});
  const auto b = make_shard("f_b.h5", "1/2", {});
  auto fail_row = [](io::TaskRow& r) {
    r = io::TaskRow();
    r.state = io::TaskState::failed;
    r.message = "boom";
  };
  put_row(b, 1, fail_row);
  const auto r = screen::merge_stores({b, a}, temp_path("f_out.h5"), "test");
  EXPECT_EQ(r.done, 6);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(r.done_over_failed, (std::vector<std::string>{test::small_spec().tasks[1].key}));
  EXPECT_EQ(r.duplicates, 0);
  auto m = io::Store::open(temp_path("f_out.h5"), MPI_COMM_NULL, false);
  EXPECT_EQ(m.read_row(1).state, io::TaskState::done);
}

TEST(Merge, CorruptRowsAreMissingAndUnreadableInputsSkippedOnlyWhenAllowed) {
  const auto a = make_shard("u_a.h5", "0/2", {0, 2, 4});
  const auto b = make_shard("u_b.h5", "1/2", {1, 3, 5});
  poke_double(b, "/metrics/value", 3, 0, 99.0);  // row 3 no longer matches its checksum
  const auto junk = temp_path("u_junk.h5");
  { std::ofstream(junk) << "not hdf5"; }
  EXPECT_THROW(screen::merge_stores({a, b, junk}, temp_path("u_out.h5"), "test"), InputError);
  screen::MergeOptions o;
  o.allow_incomplete = true;
  const auto r = screen::merge_stores({a, b, junk}, temp_path("u_out.h5"), "test", o);
  EXPECT_EQ(r.skipped, (std::vector<std::string>{junk}));
  EXPECT_EQ(r.done, 5);
  EXPECT_EQ(r.corrupt, (std::vector<std::string>{test::small_spec().tasks[3].key}));
  EXPECT_EQ(r.missing, r.corrupt);
}

TEST(Merge, PlanMismatchSaysWhatDiffers) {
  auto have = test::small_spec();
  auto want = have;
  have.plan_text = "cellot-plan 2\n[config]\n[data]\nfolds = 5\n[data] fingerprint 00000000000000aa\n";
  want.plan_text = "cellot-plan 2\n[config]\n[data]\nfolds = 5\n[data] fingerprint 00000000000000bb\n";
  want.plan_hash = "1111111111111111";
  screen::check_same_plan(have, have, "s.h5", "this config");  // same hash: fine
  try {
    screen::check_same_plan(have, want, "s.h5", "this config");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), "plan_hash");
    EXPECT_EQ(e.value(), "0123456789abcdef (s.h5) vs 1111111111111111 (this config)");
    const std::string what = e.what();
    EXPECT_NE(what.find("different plan"), std::string::npos) << what;
    EXPECT_NE(what.find("the data differ: fingerprint 00000000000000aa (s.h5) vs 00000000000000bb"),
              std::string::npos)
        << what;
  }
  want.plan_text = "cellot-plan 2\n[config]\n[data]\nfolds = 3\n[data] fingerprint 00000000000000aa\n";
  try {
    screen::check_same_plan(have, want, "s.h5", "this config");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the config differs: 'folds = 5' (s.h5) vs 'folds = 3'"), std::string::npos)
        << e.what();
  }
}
