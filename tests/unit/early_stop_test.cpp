// Early stopping (training.patience, training.min_iters): the rule itself, and in the CellOT and
// autoencoder trainers that a stopped run is exactly the prefix of the full run (same curves,
// bit for bit), stops where the rule applied to the full run's curves says, returns the best
// iterate of that prefix, and resumes from a checkpoint to the same result.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include <unistd.h>

#include "cellot_small_config.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"
#include "cellot/models/model.hpp"
#include "cellot/nn/early_stop.hpp"

using cellot::Config;
using cellot::Matrix;
using cellot::parse_ini_text;
using cellot::Rng;
namespace models = cellot::models;
using cellot::nn::EarlyStop;

namespace {

Config cellot_config(std::int64_t iters) { return cellot::test::small_cellot_config(iters); }

models::TrainInput gaussians(std::int64_t d, std::uint64_t seed) {
  Rng rng(seed);
  models::TrainInput in;
  in.perturbation = "drug";
  auto fill = [&](std::int64_t n, double shift, double scale) {
    Matrix m(n, d);
    for (auto& v : m.data) v = scale * rng.normal() + shift;
    return m;
  };
  in.source_train = fill(200, 0, 1);
  in.target_train = fill(150, 1, 1.5);
  in.source_val = fill(40, 0, 1);
  in.target_val = fill(30, 1, 1.5);
  return in;
}

// The step at which the rule stops a run whose evaluations are `rows` (column `col` holds the
// validation value); -1 when it never does.
std::int64_t rule_stop(const std::vector<std::vector<double>>& rows, std::size_t col, std::int64_t patience,
                       std::int64_t min_iters) {
  EarlyStop early(patience, min_iters);
  double best = std::numeric_limits<double>::infinity();
  for (const auto& r : rows) {
    const bool finite = std::isfinite(r[col]), improved = finite && r[col] < best;
    if (improved) best = r[col];
    if (early.record(static_cast<std::int64_t>(r[0]), finite, improved)) return static_cast<std::int64_t>(r[0]);
  }
  return -1;
}

// A validation metric that depends on the predictions only (deterministic, not monotone).
double wiggly_metric(const Matrix& pred, const Matrix&) {
  double s = 0;
  for (double v : pred.data) s += std::abs(std::sin(7 * v));
  return s / static_cast<double>(pred.data.size());
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cellot_early_stop_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST(EarlyStop, Rule) {
  EarlyStop off(0, 0);
  EXPECT_FALSE(off.enabled());
  for (int i = 1; i < 10; ++i) EXPECT_FALSE(off.record(i, true, false));

  EarlyStop two(2, 0);
  EXPECT_FALSE(two.record(1, true, true));    // best
  EXPECT_FALSE(two.record(2, true, false));   // 1 since best
  EXPECT_FALSE(two.record(3, false, false));  // no value: not counted
  EXPECT_EQ(two.since_best(), 1);
  EXPECT_TRUE(two.record(4, true, false));    // 2 since best
  EXPECT_FALSE(two.record(5, true, true));    // a new best resets the count
  EXPECT_EQ(two.since_best(), 0);

  EarlyStop late(1, 100);
  EXPECT_FALSE(late.record(10, true, true));
  EXPECT_FALSE(late.record(20, true, false));  // patience spent, but before min_iters
  EXPECT_FALSE(late.record(99, true, false));
  EXPECT_TRUE(late.record(100, true, false));
}

TEST(EarlyStop, ConfigRefusesNegativeValues) {
  Config cfg = cellot_config(10);
  cfg.training.patience = -1;
  EXPECT_THROW(cellot::validate(cfg, "test.ini"), cellot::InputError);
  cfg.training.patience = 3;
  cfg.training.min_iters = -5;
  EXPECT_THROW(cellot::validate(cfg, "test.ini"), cellot::InputError);
  cfg.training.min_iters = 50;
  EXPECT_NO_THROW(cellot::validate(cfg, "test.ini"));
  const auto hp = models::CellotHyper::from_config(cfg);
  EXPECT_EQ(hp.patience, 3);
  EXPECT_EQ(hp.min_iters, 50);
}

// Unset (auto), patience and min_iters are the model's: CellOT stops after 50,000 iterations
// without a new best (in evaluations, rounded up), never before 20,000; the autoencoders and the
// baselines train every planned step. Set values win, and `auto` survives the INI round trip.
TEST(EarlyStop, AutoIsTheModelsDefault) {
  Config cfg = cellot_config(10);
  cfg.training.patience.reset();
  cfg.training.min_iters.reset();
  cfg.training.eval_every = 1000;
  EXPECT_EQ(cfg.patience(), 50);
  EXPECT_EQ(cfg.min_iters(), 20000);
  cfg.training.eval_every = 7000;
  EXPECT_EQ(cfg.patience(), 8);  // 50,000 / 7,000 rounded up: never fewer iterations than 50,000
  cfg.training.eval_every = 0;
  EXPECT_EQ(cfg.patience(), 0);  // no evaluations: nothing to stop on
  cfg.training.eval_every = 1000;
  const auto hp = models::CellotHyper::from_config(cfg);
  EXPECT_EQ(hp.patience, 50);
  EXPECT_EQ(hp.min_iters, 20000);
  const Config back = parse_ini_text(cfg.to_ini(), "auto.ini");
  EXPECT_FALSE(back.training.patience.has_value());
  EXPECT_FALSE(back.training.min_iters.has_value());
  EXPECT_EQ(back.patience(), 50);
  for (const char* other : {"scgen", "cae", "identity"}) {
    Config o = cfg;
    o.model.name = other;
    EXPECT_EQ(o.patience(), 0) << other;
    EXPECT_EQ(o.min_iters(), 0) << other;
  }
  cfg.training.patience = 0;
  cfg.training.min_iters = 5;
  EXPECT_EQ(cfg.patience(), 0);
  EXPECT_EQ(cfg.min_iters(), 5);
  const Config set = parse_ini_text(cfg.to_ini(), "set.ini");
  EXPECT_EQ(set.training.patience, std::optional<std::int64_t>(0));
  EXPECT_EQ(set.training.min_iters, std::optional<std::int64_t>(5));
}

TEST(EarlyStop, CellotStopsAfterPatienceAndKeepsTheBest) {
  // Scripted values at steps 5, 10, ...: best at 10, then two evaluations without a new best.
  Config cfg = cellot_config(100);
  cfg.training.patience = 2;
  cfg.training.min_iters = 0;
  const auto in = gaussians(3, 2);
  const auto shape = models::IcnnShape::from_config(cfg, 3);
  const std::vector<double> values = {0.5, 0.1, 0.3, 0.2, 0.4, 0.05, 0.06, 0.07, 0.08, 0.09};
  std::size_t calls = 0;
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 3;
  ctx.validation_metric = [&](const Matrix&, const Matrix&) { return values.at(calls++); };
  const auto res = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);
  EXPECT_TRUE(res.stopped_early);
  EXPECT_EQ(res.steps, 20);
  EXPECT_EQ(calls, 4u);
  ASSERT_EQ(res.curves.rows.size(), 4u);
  EXPECT_EQ(res.best_step, 10);
  Config cfg10 = cellot_config(10);
  models::TrainContext plain;
  plain.config = &cfg10;
  plain.seed = 3;
  const auto at10 = models::train_cellot(shape, models::CellotHyper::from_config(cfg10), in, plain);
  EXPECT_EQ(res.f, at10.f);
  EXPECT_EQ(res.g, at10.g);

  // min_iters 30: the patience is spent at 20 but training goes on; 30 is a new best, and the
  // run stops two evaluations later, at 40.
  cfg.training.min_iters = 30;
  calls = 0;
  const auto later = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);
  EXPECT_TRUE(later.stopped_early);
  EXPECT_EQ(later.steps, 40);
  EXPECT_EQ(later.best_step, 30);

  // patience 0: all iterations.
  cfg.training.patience = 0;
  cfg.training.iters = 50;
  calls = 0;
  const auto full = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);
  EXPECT_FALSE(full.stopped_early);
  EXPECT_EQ(full.steps, 50);
}

TEST(EarlyStop, CellotStoppedRunIsThePrefixOfTheFullRun) {
  Config cfg = cellot_config(80);
  const auto in = gaussians(3, 4);
  const auto shape = models::IcnnShape::from_config(cfg, 3);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 9;
  ctx.validation_metric = wiggly_metric;
  const auto full = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);
  const std::int64_t patience = 2;
  const std::int64_t want = rule_stop(full.curves.rows, 4, patience, 0);
  ASSERT_GT(want, 0) << "the rule never fires on this run: the test would prove nothing";
  ASSERT_LT(want, 80);

  Config es = cfg;
  es.training.patience = patience;
  es.training.min_iters = 0;
  ctx.config = &es;
  const auto hp = models::CellotHyper::from_config(es);
  const auto stopped = models::train_cellot(shape, hp, in, ctx);
  EXPECT_EQ(stopped.steps, want);
  ASSERT_LE(stopped.curves.rows.size(), full.curves.rows.size());
  for (std::size_t i = 0; i < stopped.curves.rows.size(); ++i) EXPECT_EQ(stopped.curves.rows[i], full.curves.rows[i]);
  EXPECT_EQ(static_cast<std::int64_t>(stopped.curves.rows.back()[0]), want);
  if (full.best_step <= want) {  // the full run's best lies in the prefix: same parameters
    EXPECT_EQ(stopped.best_step, full.best_step);
    EXPECT_EQ(stopped.f, full.f);
    EXPECT_EQ(stopped.g, full.g);
  }

  // Interrupted after iteration 7 (checkpoint), resumed: the same stop and the same result.
  const std::string ckpt = temp_path("resume.h5");
  std::filesystem::remove(ckpt);
  models::TrainContext first = ctx;
  first.checkpoint_path = ckpt;
  int calls = 0;
  first.should_stop = [&] { return ++calls == 7; };
  EXPECT_THROW(models::train_cellot(shape, hp, in, first), models::Interrupted);
  models::TrainContext second = ctx;
  second.checkpoint_path = ckpt;
  second.resume = true;
  const auto resumed = models::train_cellot(shape, hp, in, second);
  EXPECT_EQ(resumed.steps, stopped.steps);
  EXPECT_EQ(resumed.curves.rows, stopped.curves.rows);
  EXPECT_EQ(resumed.f, stopped.f);
  EXPECT_EQ(resumed.g, stopped.g);
  // A checkpoint written without early stopping belongs to another problem.
  models::TrainContext plain_ckpt = ctx;
  plain_ckpt.config = &cfg;
  plain_ckpt.checkpoint_path = ckpt;
  plain_ckpt.resume = true;
  EXPECT_THROW(models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, plain_ckpt),
               cellot::InputError);
  std::filesystem::remove(ckpt);
}

TEST(EarlyStop, AutoencoderStoppedRunIsThePrefixOfTheFullRun) {
  for (const char* name : {"scgen", "cae"}) {
    SCOPED_TRACE(name);
    Config cfg;
    cfg.model.name = name;
    cfg.training.iters = 600;
    cfg.training.eval_every = 10;
    cfg.training.lr = 1e-2;  // noisy validation loss, so the rule fires within the run
    const auto in = gaussians(4, 7);
    models::TrainContext ctx;
    ctx.config = &cfg;
    ctx.seed = 5;
    auto full = models::make_model(cfg, 4);
    full->train(in, ctx);
    const std::int64_t patience = 3;
    const std::int64_t want = rule_stop(full->curves().rows, 3, patience, 0);
    ASSERT_GT(want, 0) << "the rule never fires on this run: the test would prove nothing";

    Config es = cfg;
    es.training.patience = patience;
    ctx.config = &es;
    auto stopped = models::make_model(es, 4);
    stopped->train(in, ctx);
    const auto& rows = stopped->curves().rows;
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(static_cast<std::int64_t>(rows.back()[0]), want);
    for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], full->curves().rows.at(i));
    // The full run's best lies in the prefix (a stop needs `patience` evaluations after it),
    // unless the full run improved later; then the stopped run's best is the prefix's.
    double prefix_best = std::numeric_limits<double>::infinity();
    for (const auto& r : rows) prefix_best = std::min(prefix_best, r[3]);
    double full_best = std::numeric_limits<double>::infinity();
    for (const auto& r : full->curves().rows) full_best = std::min(full_best, r[3]);
    if (prefix_best == full_best) EXPECT_EQ(stopped->predict(in.source_val).data, full->predict(in.source_val).data);
    else EXPECT_NE(stopped->predict(in.source_val).data, full->predict(in.source_val).data);
  }
}
