// Report statistics: the exact sign test, the normalised rank of discrimination, and paired
// comparisons by each metric's direction.
#include <gtest/gtest.h>

#include <cmath>

#include "cellot/report/discrimination.hpp"
#include "cellot/report/statistics.hpp"

namespace report = cellot::report;

TEST(ReportStats, SignTestMatchesBinomialTails) {
  EXPECT_DOUBLE_EQ(report::sign_test(0, 0), 1.0);
  EXPECT_NEAR(report::sign_test(4, 0), 0.125, 1e-15);      // 2 * 0.5^4
  EXPECT_NEAR(report::sign_test(3, 1), 0.625, 1e-15);      // 2 * 5/16
  EXPECT_NEAR(report::sign_test(10, 0), 2.0 / 1024, 1e-15);
  EXPECT_NEAR(report::sign_test(5, 5), 1.0, 1e-15);        // capped at 1
  EXPECT_NEAR(report::sign_test(1, 9), report::sign_test(9, 1), 1e-15);
  EXPECT_NEAR(report::sign_test(60, 40), 0.05688793364, 1e-9);  // scipy.stats.binomtest(60, 100).pvalue
}

TEST(ReportStats, NormalisedRankCountsTiesHalf) {
  EXPECT_DOUBLE_EQ(report::normalised_rank({0.1, 0.5, 0.9}, 0), 0.0);
  EXPECT_DOUBLE_EQ(report::normalised_rank({0.1, 0.5, 0.9}, 2), 1.0);
  EXPECT_DOUBLE_EQ(report::normalised_rank({0.5, 0.5, 0.1}, 0), 0.75);  // one closer, one tie
  EXPECT_TRUE(std::isnan(report::normalised_rank({0.3}, 0)));
}

TEST(ReportStats, PairedComparisonsFollowTheDirection) {
  report::Table t;
  t.metrics = {"mmd", "r2_means", "knn_mix@50"};
  auto row = [](const std::string& p, const std::string& m, double a, double b, double c) {
    report::Row r;
    r.perturbation = p;
    r.model = m;
    for (double v : {a, b, c}) {
      report::Stat s;
      s.mean = v;
      s.n = 1;
      r.stats.push_back(s);
    }
    r.best.assign(3, false);
    return r;
  };
  t.rows = {row("a", "cellot", 0.2, 0.5, 0.6), row("a", "identity", 0.1, 0.4, 0.45), row("a", "observed", 0, 1, 0.5),
            row("b", "cellot", 0.2, 0.5, 0.5), row("b", "identity", 0.3, 0.5, 0.5)};
  const auto pr = report::paired_comparisons(t);
  ASSERT_EQ(pr.size(), 3u);  // identity per metric; observed (the floor) is not compared
  EXPECT_EQ(pr[0].metric, "mmd");
  EXPECT_EQ(pr[0].wins, 1);   // a: 0.1 < 0.2
  EXPECT_EQ(pr[0].losses, 1); // b: 0.3 > 0.2
  EXPECT_EQ(pr[1].losses, 1); // r2: higher is better, 0.4 < 0.5
  EXPECT_EQ(pr[1].ties, 1);
  EXPECT_EQ(pr[2].wins, 1);   // knn_mix: 0.45 is closer to 0.5 than 0.6
  EXPECT_EQ(pr[2].ties, 1);
  EXPECT_NEAR(pr[2].p_value, 1.0, 1e-15);
}
