// A store's provenance is append-only (issue 13, item 4): runs append raw records into
// preallocated slots and never rewrite HDF5 metadata; readers tolerate a torn record or a
// damaged attribute; stores whose provenance is in attributes (earlier versions) still read and
// resume.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"
#include "store_fixture.hpp"
#include "scratch_dir.hpp"

namespace fs = std::filesystem;
using namespace cellot;

namespace {

std::string temp_path(const std::string& name) {
  static const test::ScratchDir dir("cellot_prov_test_");
  return dir.path(name);
}

void run(const std::string& path, const std::string& start, const std::string& end, const std::string& git = "g1",
         std::vector<std::string> hosts = {"h0"}) {
  auto s = io::Store::open(path, MPI_COMM_NULL, true);
  io::Provenance p;
  p.version = "v";
  p.git_hash = git;
  p.command_line = "cellot screen --resume";
  p.start_time = start;
  p.hostnames = std::move(hosts);
  p.launcher = "none (singleton)";
  s.write_provenance_start(p);
  if (!end.empty()) s.write_provenance_end(end, "complete");
  s.close();
}

std::string new_store(const std::string& name) {
  const auto path = temp_path(name);
  io::Store::create(path, test::small_spec(3, false), MPI_COMM_NULL).close();
  return path;
}

// Number of attributes of /provenance and the object header's size (both change when an
// attribute is written or rewritten).
std::pair<hsize_t, hsize_t> provenance_header(const std::string& path) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5O_info_t info;
  H5Oget_info_by_name2(f, "/provenance", &info, H5O_INFO_NUM_ATTRS | H5O_INFO_HDR, H5P_DEFAULT);
  H5Fclose(f);
  return {info.num_attrs, info.hdr.space.total};
}

// Writes `text` at byte `offset` of the run-record dataset, as a write cut short would leave it.
void poke_records(const std::string& path, hsize_t offset, const std::string& text) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, "/provenance/runs", H5P_DEFAULT);
  hid_t space = H5Dget_space(d);
  hsize_t dims[2];
  H5Sget_simple_extent_dims(space, dims, nullptr);
  hsize_t start[2] = {offset / dims[1], offset % dims[1]}, count[2] = {1, text.size()};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(2, count, nullptr);
  H5Dwrite(d, H5T_NATIVE_UCHAR, mem, space, H5P_DEFAULT, text.data());
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
}

bool contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(StoreProvenance, RunsNeverRewriteMetadata) {
  const auto path = new_store("append_only.h5");
  const auto before = provenance_header(path);
  const auto size_before = fs::file_size(path);
  run(path, "t0", "t1");
  run(path, "t2", "");  // killed
  run(path, "t3", "t4", "g2");
  EXPECT_EQ(provenance_header(path), before) << "a run changed /provenance's attributes";
  EXPECT_EQ(fs::file_size(path), size_before) << "a run allocated file space (metadata growth)";
  const auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  ASSERT_EQ(sum.history.size(), 3u);
  EXPECT_EQ(sum.history[0].rfind("t0 .. t1 | complete", 0), 0u) << sum.history[0];
  EXPECT_EQ(sum.history[1].rfind("t2 .. ? | no end recorded", 0), 0u) << sum.history[1];
  EXPECT_EQ(sum.history[2].rfind("t3 .. t4 | complete", 0), 0u) << sum.history[2];
  EXPECT_EQ(sum.provenance.at("start_time"), "t3");
  EXPECT_EQ(sum.provenance.at("end_time"), "t4");
  EXPECT_EQ(sum.git_hashes, (std::vector<std::string>{"g1", "g2"}));
}

TEST(StoreProvenance, TornRecordsAreSkippedNotFatal) {
  const auto path = new_store("torn.h5");
  run(path, "t0", "t1");
  run(path, "t2", "t3");
  // The first run's start record loses its tail (a write cut short), and garbage lands where a
  // later record would go.
  poke_records(path, 40, std::string(200, '\0'));
  poke_records(path, 2048 * 7, "cellot-run 1 99999999");
  poke_records(path, 2048 * 9, "cellot-run 1 99999999999999999999999999 0123456789abcdef\n");
  const auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  EXPECT_TRUE(contains(sum.history, "slot 0: run record fails its checksum")) << sum.history.at(0);
  EXPECT_TRUE(contains(sum.history, "slot 7: not a run record"));
  EXPECT_TRUE(contains(sum.history, "slot 9: not a run record"));  // a length no stoull holds
  EXPECT_TRUE(contains(sum.history, "t2 .. t3 | complete"));
  EXPECT_EQ(sum.provenance.at("start_time"), "t2");
  // A resume appends after the damage and never reuses a damaged slot.
  run(path, "t5", "t6");
  const auto again = io::Store::open(path, MPI_COMM_NULL, false).summary();
  EXPECT_TRUE(contains(again.history, "slot 9: not a run record"));
  EXPECT_EQ(again.history.back().rfind("t5 .. t6 | complete", 0), 0u) << again.history.back();
}

TEST(StoreProvenance, FullSlotsLeaveTheRunUnrecordedNotFailed) {
  const auto path = new_store("full.h5");
  // A run on more hosts than a record holds: the first hosts that fit are kept, and their number.
  std::vector<std::string> hosts;
  for (int i = 0; i < 200000; ++i) hosts.push_back("node-with-a-long-name-" + std::to_string(i));
  run(path, "t0", "t1", "g1", hosts);
  auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  ASSERT_EQ(sum.history.size(), 1u);
  EXPECT_NE(sum.history[0].find("200000 hosts: node-with-a-long-name-0,"), std::string::npos) << sum.history[0];
  EXPECT_GT(sum.hostnames.size(), 1000u);
  EXPECT_LT(sum.hostnames.size(), hosts.size());
  EXPECT_EQ(sum.hostnames.back(), hosts[sum.hostnames.size() - 1]);
  // Slots in use up to 1000 of 1024 (damage counts as in use): room for 12 more runs.
  poke_records(path, 2048 * 1000, "x");
  for (int r = 0; r < 20; ++r) run(path, "r" + std::to_string(r), "e" + std::to_string(r));
  sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  ASSERT_EQ(sum.history.size(), 1u + 1u + 11u);  // the hosts run, the damage line, 11 runs
  EXPECT_EQ(sum.history.back().rfind("r10 .. e10 | complete", 0), 0u) << sum.history.back();
  for (const auto& line : sum.history) EXPECT_EQ(line.find("no end recorded"), std::string::npos) << line;
}

TEST(StoreProvenance, EarlierAttributeProvenanceIsReadAndResumed) {
  const auto path = new_store("old_layout.h5");
  {
    // The layout of earlier versions: no run records, the provenance in attributes.
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "/provenance/runs", H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/provenance", H5P_DEFAULT);
    auto attr = [&](const char* name, const std::string& value) {
      hid_t t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, H5T_VARIABLE);
      hid_t sp = H5Screate(H5S_SCALAR);
      hid_t a = H5Acreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
      const char* p = value.c_str();
      H5Awrite(a, t, &p);
      H5Aclose(a);
      H5Sclose(sp);
      H5Tclose(t);
    };
    attr("history", "old0 .. old1 | complete | world 2\nold2 .. ? | no end recorded");
    attr("git_hash", "oldgit");
    attr("version", "0.9");
    // A damaged attribute: a number where text is expected.
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(g, "hostnames", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    const int v = 7;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
  }
  auto sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  ASSERT_GE(sum.history.size(), 2u);
  EXPECT_EQ(sum.history[0], "old0 .. old1 | complete | world 2");
  EXPECT_EQ(sum.provenance.at("version"), "0.9");
  EXPECT_TRUE(contains(sum.history, "unreadable provenance attribute hostnames"));
  run(path, "t0", "t1", "newgit");
  sum = io::Store::open(path, MPI_COMM_NULL, false).summary();
  EXPECT_EQ(sum.history[0], "old0 .. old1 | complete | world 2");
  EXPECT_EQ(sum.history.back().rfind("t0 .. t1 | complete", 0), 0u) << sum.history.back();
  EXPECT_EQ(sum.provenance.at("version"), "v");
  EXPECT_EQ(sum.git_hashes, (std::vector<std::string>{"oldgit", "newgit"}));
}
