// Packed autoencoder training (AutoencoderModel::train_pack through models::train_together,
// screen.pack): every scGen / cAE member of a pack ends with the same bits (parameters with the
// selection and scGen's latent means, curves, predictions) as the same model trained alone, also
// when members differ in data size (other steps per epoch), stop early at different steps, run
// the grid search, diverge, have bad input, or are interrupted and trained again. Run on 1 and 2
// ranks (the pack over a group of two).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/models/model.hpp"

using cellot::Config;
using cellot::Matrix;
using cellot::Rng;
namespace models = cellot::models;

namespace {

constexpr std::int64_t kD = 6;

Matrix fill(Rng& rng, std::int64_t n, double shift, double scale) {
  Matrix m(n, kD);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < kD; ++j) m(i, j) = scale * rng.normal() + (j % 2 ? shift : -shift);
  return m;
}

// Member data: `n_target` perturbed training cells (so members differ in steps per epoch).
models::TrainInput cells(std::uint64_t seed, std::int64_t n_target) {
  Rng rng(seed, "ae-pack-test");
  models::TrainInput in;
  in.perturbation = "drug" + std::to_string(seed);
  in.source_train = fill(rng, 90, 0, 1);
  in.target_train = fill(rng, n_target, 1, 1.5);
  in.source_val = fill(rng, 25, 0, 1);
  in.target_val = fill(rng, 20, 1, 1.5);
  return in;
}

Config ae_config(const std::string& name) {
  Config cfg;
  cfg.model.name = name;
  cfg.model.width = 16;
  cfg.model.latent = 4;
  cfg.model.dropout = 0.1;  // the dropout stream is per member too
  cfg.training.batch_size = 32;
  cfg.training.epochs = 6;
  cfg.training.eval_every = 3;
  cfg.training.micro_batches = 3;
  return cfg;
}

// A validation metric of the predictions only (collective-free; the group root's value is used).
double scripted_metric(const Matrix& pred, const Matrix&) {
  double s = 0;
  for (double v : pred.data) s += std::abs(std::sin(3 * v));
  return s / static_cast<double>(pred.data.size());
}

struct Member {
  Config cfg;
  models::TrainInput input;
  std::uint64_t seed = 0;
  bool metric = true;
};

models::TrainContext context(const Member& m) {
  models::TrainContext c;
  c.config = &m.cfg;
  c.comm = MPI_COMM_WORLD;
  c.seed = m.seed;
  if (m.metric) c.validation_metric = scripted_metric;
  return c;
}

// Member 0 stops early (patience 1 at a large learning rate), member 2 has fewer cells (other
// steps per epoch), member 3 (when present) scores no validation metric.
std::vector<Member> problem(const std::string& name, std::size_t k) {
  std::vector<Member> out;
  for (std::size_t i = 0; i < k; ++i) {
    Member m;
    m.cfg = ae_config(name);
    m.input = cells(11 + i, i == 2 ? 40 : 80);
    m.seed = 100 + 7 * i;
    m.metric = i != 3;
    if (i == 0) {
      m.cfg.training.lr = 0.05;
      m.cfg.training.eval_every = 1;
      m.cfg.training.patience = 1;
    }
    out.push_back(std::move(m));
  }
  return out;
}

struct Outcome {
  std::unique_ptr<models::Model> model;
  std::exception_ptr error;
};

// The members trained in one pack (models::train_together, the screen's path).
std::vector<Outcome> train_packed(const std::vector<Member>& members,
                                  const std::function<bool()>& should_stop = {}) {
  std::vector<Outcome> out(members.size());
  std::vector<models::Model*> ms;
  std::vector<const models::TrainInput*> inputs;
  std::vector<models::TrainContext> ctxs;
  for (std::size_t i = 0; i < members.size(); ++i) {
    out[i].model = models::make_model(members[i].cfg, kD);
    ms.push_back(out[i].model.get());
    inputs.push_back(&members[i].input);
    ctxs.push_back(context(members[i]));
    ctxs.back().should_stop = should_stop;
  }
  const auto errors = models::train_together(ms, inputs, ctxs);
  for (std::size_t i = 0; i < members.size(); ++i) out[i].error = errors[i];
  return out;
}

std::unique_ptr<models::Model> train_alone(const Member& m) {
  auto model = models::make_model(m.cfg, kD);
  model->train(m.input, context(m));
  return model;
}

bool same_bits(double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; }
bool same_bits(float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; }

void expect_same(const models::Model& a, const models::Model& b, const models::TrainInput& input, std::size_t i) {
  SCOPED_TRACE("member " + std::to_string(i));
  const auto pa = a.parameters(), pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t t = 0; t < pa.size(); ++t) {
    EXPECT_EQ(pa[t].name, pb[t].name);
    EXPECT_EQ(pa[t].shape, pb[t].shape);
    ASSERT_EQ(pa[t].values.size(), pb[t].values.size()) << pa[t].name;
    for (std::size_t v = 0; v < pa[t].values.size(); ++v)
      ASSERT_TRUE(same_bits(pa[t].values[v], pb[t].values[v])) << pa[t].name << "[" << v << "]";
  }
  const auto& ca = a.curves().rows;
  const auto& cb = b.curves().rows;
  ASSERT_EQ(ca.size(), cb.size());
  for (std::size_t r = 0; r < ca.size(); ++r)
    for (std::size_t c = 0; c < ca[r].size(); ++c)
      EXPECT_TRUE(same_bits(ca[r][c], cb[r][c])) << "curve row " << r << " column " << c;
  const Matrix ya = a.predict(input.source_val), yb = b.predict(input.source_val);
  ASSERT_EQ(ya.data.size(), yb.data.size());
  for (std::size_t v = 0; v < ya.data.size(); ++v) ASSERT_TRUE(same_bits(ya.data[v], yb.data[v])) << "prediction " << v;
}

double last_step(const models::Model& m) { return m.curves().rows.back().front(); }

void each_member_equals_its_run_alone(const std::string& name, std::size_t k) {
  const auto members = problem(name, k);
  const auto packed = train_packed(members);
  ASSERT_EQ(packed.size(), k);
  for (std::size_t i = 0; i < k; ++i) {
    ASSERT_FALSE(packed[i].error) << "member " << i;
    expect_same(*packed[i].model, *train_alone(members[i]), members[i].input, i);
  }
  // The test proves something only if member 0 stopped early while the others went on, and
  // member 2 had other epochs than the rest: 170 cells / 32 = 6 steps, 130 / 32 = 5.
  EXPECT_LT(last_step(*packed[0].model), 36.0);
  EXPECT_EQ(last_step(*packed[1].model), 36.0);
  EXPECT_EQ(last_step(*packed[2].model), 30.0);
}

}  // namespace

TEST(AePack, ScGenMembersEqualTheirRunsAlone) { each_member_equals_its_run_alone("scgen", 4); }

TEST(AePack, CaeMembersEqualTheirRunsAlone) { each_member_equals_its_run_alone("cae", 3); }

TEST(AePack, TheRegistryPacksAutoencoders) {
  EXPECT_TRUE(models::has_pack_trainer("scgen"));
  EXPECT_TRUE(models::has_pack_trainer("cae"));
}

// A grid member (96 short fits) next to a single fit: each as alone.
TEST(AePack, AGridMemberAndASingleFit) {
  auto members = problem("scgen", 2);
  members[0].cfg = ae_config("scgen");
  members[0].cfg.model.grid = true;
  members[0].cfg.training.epochs = 0;
  members[0].cfg.training.iters = 2;
  const auto packed = train_packed(members);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_FALSE(packed[i].error) << "member " << i;
    expect_same(*packed[i].model, *train_alone(members[i]), members[i].input, i);
  }
}

// Stopped at round 12: member 0 (stopped early before) keeps its result, the others report
// Interrupted; trained again (no checkpoint: from scratch), each equals its run alone.
TEST(AePack, InterruptedAndTrainedAgainEqualsUninterrupted) {
  const auto members = problem("cae", 3);
  int rounds = 0;
  const auto cut = train_packed(members, [&] { return ++rounds == 12; });
  EXPECT_EQ(rounds, 12);  // asked once per round
  ASSERT_FALSE(cut[0].error);
  EXPECT_LT(last_step(*cut[0].model), 12.0);
  expect_same(*cut[0].model, *train_alone(members[0]), members[0].input, 0);
  for (std::size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(cut[i].error) << "member " << i;
    EXPECT_THROW(std::rethrow_exception(cut[i].error), models::Interrupted);
  }
  const std::vector<Member> rest(members.begin() + 1, members.end());
  const auto again = train_packed(rest);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_FALSE(again[i].error) << "member " << i + 1;
    expect_same(*again[i].model, *train_alone(rest[i]), rest[i].input, i + 1);
  }
}

// Member 1 diverges, member 2 has no perturbed training cells: only they fail, with the error
// they raise alone; members 0 and 3 are as alone.
TEST(AePack, ADivergedAndABadMemberLeaveTheOthersAlone) {
  auto members = problem("scgen", 4);
  members[1].cfg.training.lr = 1e30;
  members[2].input.target_train = Matrix(0, kD);
  const auto packed = train_packed(members);
  ASSERT_TRUE(packed[1].error);
  EXPECT_THROW(std::rethrow_exception(packed[1].error), models::Diverged);
  EXPECT_THROW(train_alone(members[1]), models::Diverged);
  ASSERT_TRUE(packed[2].error);
  EXPECT_THROW(std::rethrow_exception(packed[2].error), cellot::InputError);
  EXPECT_THROW(train_alone(members[2]), cellot::InputError);
  for (std::size_t i : {0u, 3u}) {
    ASSERT_FALSE(packed[i].error) << "member " << i;
    expect_same(*packed[i].model, *train_alone(members[i]), members[i].input, i);
  }
}
