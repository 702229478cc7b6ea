// Report tables from an in-memory store summary with known values.
#include "cellot/report/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "cellot/core/error.hpp"

using namespace cellot;

namespace {

// 2 perturbations x 3 models x 2 seeds; metric values chosen so the best is known.
io::StoreSummary summary() {
  io::StoreSummary s;
  s.path = "mem.h5";
  s.spec.plan_hash = "00000000000000aa";
  s.spec.metric_names = {"mmd", "r_means", "knn_mix@50"};
  s.spec.perturbations = {"p1", "p2"};
  s.spec.models = {"cellot", "identity", "observed"};
  s.spec.folds = {"0"};
  s.spec.seeds = {"0", "1"};
  // mmd (lower), r_means (higher), knn_mix (closest to 0.5)
  const std::map<std::string, std::vector<double>> base = {
      {"cellot", {0.10, 0.90, 0.45}}, {"identity", {0.50, 0.20, 0.05}}, {"observed", {0.01, 0.99, 0.50}}};
  for (const std::string p : {"p1", "p2"})
    for (const std::string m : {"cellot", "identity", "observed"})
      for (int seed : {0, 1}) {
        io::PlanRow r;
        r.perturbation = p;
        r.model = m;
        r.seed = static_cast<std::uint64_t>(seed);
        r.key = p + "|" + m + "|fold0|seed" + std::to_string(seed);
        s.spec.tasks.push_back(r);
        std::vector<double> v = base.at(m);
        for (auto& x : v) x += (seed == 0 ? -0.01 : 0.01);  // sd over seeds = 0.01 * sqrt(2)
        if (p == "p2" && m == "identity") v[1] = 0.95;      // identity wins r_means on p2
        s.value.push_back(v);
        s.sd.push_back({0, 0, 0});
        s.state.push_back(io::TaskState::done);
        s.trusted.push_back(true);
      }
  s.spec.owned.assign(s.spec.tasks.size(), 1);
  return s;
}

}  // namespace

TEST(Report, MeanSdAndBestMarks) {
  const auto s = summary();
  const auto t = report::summarize(s, s.spec.metric_names);
  ASSERT_EQ(t.rows.size(), 6u);
  const auto& cellot_p1 = t.rows[0];
  EXPECT_EQ(cellot_p1.model, "cellot");
  EXPECT_EQ(cellot_p1.stats[0].n, 2);
  EXPECT_NEAR(cellot_p1.stats[0].mean, 0.10, 1e-12);
  EXPECT_NEAR(cellot_p1.stats[0].sd, 0.01 * std::sqrt(2.0), 1e-12);
  // observed is better everywhere but is the reference: cellot gets the marks.
  EXPECT_TRUE(cellot_p1.best[0]);
  EXPECT_TRUE(cellot_p1.best[1]);
  EXPECT_TRUE(cellot_p1.best[2]);
  EXPECT_FALSE(t.rows[2].best[0]);  // observed p1
  const auto& identity_p2 = t.rows[4];
  EXPECT_EQ(identity_p2.model, "identity");
  EXPECT_EQ(identity_p2.perturbation, "p2");
  EXPECT_TRUE(identity_p2.best[1]);
  EXPECT_FALSE(t.rows[3].best[1]);  // cellot p2 loses r_means
  ASSERT_EQ(t.model_means.size(), 3u);
  EXPECT_NEAR(t.model_means[0].stats[0].mean, 0.10, 1e-12);
}

TEST(Report, UnfinishedAndCorruptTasksAreLeftOut) {
  auto s = summary();
  s.state[0] = io::TaskState::failed;  // p1 cellot seed 0
  s.trusted[1] = false;                // p1 cellot seed 1: checksum mismatch
  const auto t = report::summarize(s, {"mmd"});
  EXPECT_EQ(t.rows[0].stats[0].n, 0);
  EXPECT_TRUE(std::isnan(t.rows[0].stats[0].mean));
  EXPECT_FALSE(t.rows[0].best[0]);
  EXPECT_TRUE(t.rows[1].best[0]);  // identity is now the best ranked model on p1
}

TEST(Report, CoefficientOfVariationAcrossSeeds) {
  const auto s = summary();
  const auto cv = report::reproducibility(s, {"mmd"});
  ASSERT_EQ(cv.size(), 3u);
  EXPECT_EQ(cv[0].model, "cellot");
  EXPECT_EQ(cv[0].n[0], 2);
  EXPECT_NEAR(cv[0].cv[0], 0.01 * std::sqrt(2.0) / 0.10, 1e-9);
}

TEST(Report, CompareFindsTheLargestDifference) {
  const auto a = summary();
  auto b = summary();
  b.value[3][0] += 0.5;  // p1|identity|fold0|seed1
  const auto c = report::compare(a, b, {"mmd", "r_means"});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].n, 12);
  EXPECT_NEAR(c[0].max_abs, 0.5, 1e-12);
  EXPECT_EQ(c[0].worst_abs_key, "p1|identity|fold0|seed1");
  EXPECT_NEAR(c[0].max_rel, 0.5 / 1.01, 1e-12);
  EXPECT_EQ(c[1].max_abs, 0.0);
}

TEST(Report, FormatsCarryRowsAndMarks) {
  const auto s = summary();
  const auto md = report::render("md", s, {"mmd", "r_means"});
  EXPECT_NE(md.find("| p1 | cellot | 2 | **0.1 ± 0.01414** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| p2 | identity | 2 | 0.5 ± 0.01414 | **0.95 ± 0** |"), std::string::npos) << md;
  EXPECT_NE(md.find("## Reproducibility"), std::string::npos);
  const auto csv = report::render("csv", s, {"mmd"});
  EXPECT_EQ(csv.rfind("table,perturbation,model,metric,mean,sd,n,best", 0), 0u);
  EXPECT_NE(csv.find("results,p1,cellot,mmd,0.1,0.01414,2,1,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("results,p1,identity,mmd,0.5,0.01414,2,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("cv,,cellot,mmd,,,2,,"), std::string::npos) << csv;
  const auto tex = report::render("tex", s, {"mmd", "knn_mix@50"});
  EXPECT_NE(tex.find("\\textbf{0.1 $\\pm$ 0.01414}"), std::string::npos) << tex;
  EXPECT_NE(tex.find("knn\\_mix@50"), std::string::npos);
  EXPECT_NE(tex.find("\\toprule"), std::string::npos);
  const auto cmp = report::render("md", s, {"mmd"}, &s);
  EXPECT_NE(cmp.find("(same plan)"), std::string::npos);
  EXPECT_THROW(report::render("html", s, {"mmd"}), InputError);
  EXPECT_THROW(report::select_metrics(s, {"nope"}), InputError);
  EXPECT_EQ(report::select_metrics(s, {}), s.spec.metric_names);
}

TEST(Report, UnfinishedTasksAreListedInEveryFormat) {
  auto s = summary();
  s.message.assign(s.spec.tasks.size(), "");
  s.state[0] = io::TaskState::failed;  // p1|cellot|fold0|seed0
  s.message[0] = "boom: out of memory";
  s.state[5] = io::TaskState::pending;  // p1|observed|fold0|seed1
  s.state[7] = io::TaskState::done;     // p2|cellot|fold0|seed1, corrupt row
  s.trusted[7] = false;
  const auto u = report::unfinished(s);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].key, "p1|cellot|fold0|seed0");
  EXPECT_EQ(u[0].state, "failed");
  EXPECT_EQ(u[0].message, "boom: out of memory");
  EXPECT_EQ(u[1].state, "not finished");
  EXPECT_EQ(u[1].message, "never ran");
  EXPECT_EQ(u[2].message, "corrupt row (checksum mismatch)");
  const auto md = report::render("md", s, {"mmd"});
  EXPECT_NE(md.find("**WARNING: 3 of 12 tasks are not done (failed 1, diverged 0, not finished 2)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| p1|cellot|fold0|seed0 | failed | boom: out of memory |"), std::string::npos) << md;
  const auto csv = report::render("csv", s, {"mmd"});
  EXPECT_NE(csv.find("unfinished,p1,cellot,,,,,,,,,p1|cellot|fold0|seed0,failed: boom: out of memory\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("unfinished,p1,observed,,,,,,,,,p1|observed|fold0|seed1,not finished: never ran\n"),
            std::string::npos)
      << csv;
  const auto tex = report::render("tex", s, {"mmd"});
  EXPECT_NE(tex.find("% WARNING: 3 of 12 tasks are not done"), std::string::npos) << tex;
  EXPECT_NE(tex.find("p1\\textbar{}cellot\\textbar{}fold0\\textbar{}seed0 & failed: boom: out of memory"),
            std::string::npos)
      << tex;
  // A complete store has no such section; a shard's store counts only its own tasks.
  EXPECT_EQ(report::render("md", summary(), {"mmd"}).find("Unfinished"), std::string::npos);
  auto shard = summary();
  shard.spec.shard = "0/2";
  for (std::size_t t = 6; t < shard.state.size(); ++t) {
    shard.spec.owned[t] = 0;
    shard.state[t] = io::TaskState::pending;
  }
  EXPECT_TRUE(report::unfinished(shard).empty());
  EXPECT_EQ(report::render("md", shard, {"mmd"}).find("WARNING"), std::string::npos);
}

TEST(Report, CompareReportsUnmatchedTasksAndPlanAndDataInEveryFormat) {
  auto a = summary();
  a.spec.plan_text = "cellot-plan 2\n[config]\n[data] fingerprint 00000000000000aa\n";
  auto b = summary();
  b.path = "other.h5";
  b.spec.plan_hash = "00000000000000bb";
  b.spec.plan_text = "cellot-plan 2\n[config]\n[data] fingerprint 00000000000000cc\n";
  b.spec.tasks[11].key = "p3|observed|fold0|seed1";  // replaces p2|observed|fold0|seed1
  b.state[2] = io::TaskState::failed;               // p1|identity|fold0|seed0 done only in a
  const auto cov = report::coverage(a, b);
  EXPECT_FALSE(cov.same_plan);
  EXPECT_FALSE(cov.same_data);
  EXPECT_EQ(cov.data_a, "00000000000000aa");
  EXPECT_EQ(cov.only_a, (std::vector<std::string>{"p2|observed|fold0|seed1"}));
  EXPECT_EQ(cov.only_b, (std::vector<std::string>{"p3|observed|fold0|seed1"}));
  EXPECT_EQ(cov.done_a, (std::vector<std::string>{"p1|identity|fold0|seed0"}));
  EXPECT_TRUE(cov.done_b.empty());
  EXPECT_EQ(cov.compared, 10);
  const auto md = report::render("md", a, {"mmd"}, &b);
  for (const char* part : {"(DIFFERENT plans)", "(DIFFERENT data)", "1 tasks only in mem.h5", "1 only in other.h5",
                           "- p3|observed|fold0|seed1", "- p1|identity|fold0|seed0", "**WARNING: compared with other.h5"})
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n" << md;
  const auto csv = report::render("csv", a, {"mmd"}, &b);
  EXPECT_NE(csv.find("compare_plan,,,,,,,,,,,,plan hashes 00000000000000aa vs 00000000000000bb (DIFFERENT plans)"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("compare_unmatched,,,,,,,,,,,,p2|observed|fold0|seed1,only in mem.h5"), std::string::npos) << csv;
  EXPECT_NE(csv.find("compare_unmatched,,,,,,,,,,,,p3|observed|fold0|seed1,only in other.h5"), std::string::npos);
  EXPECT_NE(csv.find("compare_unmatched,,,,,,,,,,,,p1|identity|fold0|seed0,done only in mem.h5"), std::string::npos);
  const auto tex = report::render("tex", a, {"mmd"}, &b);
  EXPECT_NE(tex.find("(DIFFERENT plans)"), std::string::npos) << tex;
  EXPECT_NE(tex.find("(DIFFERENT data)"), std::string::npos);
  EXPECT_NE(tex.find("p3\\textbar{}observed\\textbar{}fold0\\textbar{}seed1 & only in other.h5"), std::string::npos)
      << tex;
  // The same store: same plan and data, nothing unmatched, no warning.
  const auto self = report::render("md", a, {"mmd"}, &a);
  EXPECT_NE(self.find("(same plan)"), std::string::npos);
  EXPECT_NE(self.find("(same data)"), std::string::npos);
  EXPECT_EQ(self.find("WARNING"), std::string::npos);
}
