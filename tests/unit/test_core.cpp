#include <gtest/gtest.h>

#include <boost/program_options.hpp>

#include "cellot/core/config.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"

using namespace cellot;

TEST(Rng, DeterministicAndIndependentStreams) {
  Rng a(42), b(42), c(42, "task:Imatinib");
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  Rng a2(42);
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a2.next_u64() == c.next_u64();
  EXPECT_EQ(same, 0);
}

TEST(Rng, NormalMomentsAndBelowRange) {
  Rng r(7);
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.below(7), 7u);
}

TEST(Rng, StateRoundTrip) {
  Rng r(3);
  r.normal();  // leaves a spare normal in the state
  const auto st = r.state();
  const double expect1 = r.normal(), expect2 = r.uniform();
  Rng q(99);
  q.set_state(st);
  EXPECT_EQ(q.normal(), expect1);
  EXPECT_EQ(q.uniform(), expect2);
}

TEST(Config, IniRoundTripKeepsEveryValue) {
  Config c;
  c.data.path = "x.h5ad";
  c.training.lr = 3e-4;
  c.training.iters = 17;
  c.screen.models = "cellot,scgen";
  const Config d = parse_ini_text(c.to_ini(), "test");
  EXPECT_EQ(d.data.path, "x.h5ad");
  EXPECT_DOUBLE_EQ(d.lr(), 3e-4);
  EXPECT_EQ(d.training.iters, 17);
  EXPECT_EQ(d.screen.models, "cellot,scgen");
  EXPECT_EQ(d.to_ini(), c.to_ini());
}

TEST(Config, ModelDependentDefaults) {
  Config c;
  EXPECT_EQ(c.batch_size(), 256);
  EXPECT_DOUBLE_EQ(c.lr(), 1e-4);
  c.model.name = "scgen";
  EXPECT_EQ(c.batch_size(), 128);
  EXPECT_DOUBLE_EQ(c.lr(), 1e-3);
  c.model.name = "cae";
  EXPECT_DOUBLE_EQ(c.lr(), 1e-4);
}

TEST(Config, UnknownKeyAndBadValueAreInputErrors) {
  try {
    parse_ini_text("[training]\nitters = 5\n", "bad.ini");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.ini"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("training.itters"), std::string::npos);
  }
  EXPECT_THROW(parse_ini_text("[data]\nsplit = random\n", "bad.ini"), InputError);
  EXPECT_THROW(parse_ini_text("[training]\nlr = fast\n", "bad.ini"), InputError);
}

TEST(Config, Lists) {
  EXPECT_EQ(split_list(" a, b ,c,,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parse_int_list("1,2, 3", "x", "k"), (std::vector<int>{1, 2, 3}));
  EXPECT_THROW(parse_int_list("1,x", "x", "k"), InputError);
  EXPECT_EQ(hash_hex("abc"), hash_hex("abc"));
  EXPECT_NE(hash_hex("abc"), hash_hex("abd"));
}

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

// Every shipped config parses and validates (no unknown keys, no bad values).
TEST(Config, EveryShippedConfigParses) {
  const char* src = std::getenv("CELLOT_SOURCE_DIR");
  const std::filesystem::path dir = std::filesystem::path(src ? src : CELLOT_SOURCE_DIR_DEFAULT) / "configs";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".ini") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NO_THROW(parse_ini_text(text.str(), entry.path().string())) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(Config, PaperScreenConfigKeepsModelDefaults) {
  const char* src = std::getenv("CELLOT_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(src ? src : CELLOT_SOURCE_DIR_DEFAULT) / "configs" / "4i.ini");
  std::stringstream text;
  text << in.rdbuf();
  Config c = parse_ini_text(text.str(), "4i.ini");
  EXPECT_EQ(c.training.iters, 100000);
  EXPECT_EQ(c.training.epochs, 4096);  // autoencoders to convergence (the comment in 4i.ini)
  c.model.name = "cellot";
  EXPECT_DOUBLE_EQ(c.lr(), 1e-4);
  EXPECT_EQ(c.batch_size(), 256);
  EXPECT_EQ(c.patience(), 50);  // CellOT's early stopping (auto) at eval_every 1,000
  EXPECT_EQ(c.min_iters(), 20000);
  c.model.name = "scgen";
  EXPECT_EQ(c.patience(), 0);  // the autoencoders train every epoch
  EXPECT_DOUBLE_EQ(c.lr(), 1e-3);
  EXPECT_EQ(c.batch_size(), 128);
  c.model.name = "cae";
  EXPECT_DOUBLE_EQ(c.lr(), 1e-4);
}

#include <chrono>
#include <thread>

#include "cellot/core/log.hpp"

TEST(Progress, EtaFollowsTheWorkFractionAndKeepaliveRepeatsTheLine) {
  using namespace cellot;
  log::Progress p("screen", 10, true, 0.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  testing::internal::CaptureStderr();
  p.update(1, 0.5, "");  // 1 of 10 tasks, but half the work: ETA ~ elapsed, not 9x elapsed
  const std::string by_work = testing::internal::GetCapturedStderr();
  const auto eta = by_work.find("ETA ");
  ASSERT_NE(eta, std::string::npos) << by_work;
  const double s = std::stod(by_work.substr(eta + 4));
  EXPECT_GE(s, 0.2) << by_work;
  EXPECT_LT(s, 1.5) << by_work;  // count-based would be >= 2.7 s
  testing::internal::CaptureStderr();
  p.keepalive();  // printed just now: nothing
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  testing::internal::CaptureStderr();
  p.update(2, "");  // count-based: 2 of 10 after ~0.3 s -> ETA ~ 4 x elapsed
  const std::string by_count = testing::internal::GetCapturedStderr();
  EXPECT_NE(by_count.find("screen 2/10"), std::string::npos) << by_count;
  EXPECT_GE(std::stod(by_count.substr(by_count.find("ETA ") + 4)), 1.0) << by_count;
}
