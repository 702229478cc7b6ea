// The model registry: every model's traits are declared once (models::kinds) and have a factory;
// the layers outside models/ get their answers from these traits.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cellot/core/config.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/models/kinds.hpp"
#include "cellot/models/model.hpp"
#include "cellot/screen/plan.hpp"

namespace cellot {
namespace {

TEST(ModelRegistry, EveryKindHasAFactoryAndNoFactoryLacksAKind) {
  std::set<std::string> kinds, factories;
  for (const auto& k : models::kinds()) EXPECT_TRUE(kinds.insert(k.name).second) << "duplicate " << k.name;
  for (const auto& n : models::registered_factories()) factories.insert(n);
  EXPECT_EQ(kinds, factories);
}

TEST(ModelRegistry, PacksTraitMatchesThePackTrainers) {
  std::size_t packing = 0;
  for (const auto& k : models::kinds()) {
    EXPECT_EQ(k.packs, models::has_pack_trainer(k.name)) << k.name;
    packing += k.packs ? 1 : 0;
  }
  EXPECT_EQ(packing, 3u);  // CellOT, scGen and cAE pack
}

TEST(ModelRegistry, OnePrimaryOneFloorAndSummaries) {
  int primary = 0, floor = 0;
  for (const auto& k : model_kinds()) {
    primary += k.primary;
    floor += k.floor;
    EXPECT_FALSE(k.summary.empty()) << k.name;
    EXPECT_GT(k.default_batch_size, 0) << k.name;
    EXPECT_GT(k.default_lr, 0.0) << k.name;
  }
  EXPECT_EQ(primary, 1);
  EXPECT_EQ(floor, 1);
  EXPECT_EQ(primary_model_kind().name, ModelConfig{}.name) << "the default model is the method under test";
}

TEST(ModelRegistry, ConfigDefaultsAndValidationComeFromTheTraits) {
  for (const auto& k : model_kinds()) {
    Config c;
    c.model.name = k.name;
    EXPECT_EQ(c.batch_size(), k.default_batch_size) << k.name;
    EXPECT_EQ(c.lr(), k.default_lr) << k.name;
    EXPECT_NO_THROW(validate(c, "test")) << k.name;
  }
  Config c;
  c.model.name = "not_a_model";
  try {
    validate(c, "test");
    ADD_FAILURE() << "an unregistered model validated";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(model_names_text("|")), std::string::npos) << e.what();
  }
}

TEST(ModelRegistry, CostFollowsTheTrait) {
  Config c;
  c.training.iters = 10;
  c.training.inner_iters = 3;
  for (const auto& k : model_kinds()) {
    const double cost = screen::model_iterations(c, k.name, 1000);
    switch (k.cost) {
      case ModelCost::cellot_updates: EXPECT_EQ(cost, 40.0) << k.name; break;
      case ModelCost::autoencoder_batches: EXPECT_DOUBLE_EQ(cost, 10.0 * k.step_cost) << k.name; break;
      case ModelCost::none: EXPECT_EQ(cost, 1.0) << k.name; break;
    }
  }
}

TEST(ModelRegistry, AnAutoencoderStepCostsLessThanACellotUpdate) {
  // The plan's unit is one CellOT network update; an autoencoder step (batch 128, width 32) is
  // a fraction of one, so a screen hands out, balances and predicts the two alike.
  for (const auto& k : model_kinds()) {
    if (k.cost == ModelCost::autoencoder_batches) {
      EXPECT_GT(k.step_cost, 0.0) << k.name;
      EXPECT_LT(k.step_cost, 1.0) << k.name;
    } else {
      EXPECT_EQ(k.step_cost, 1.0) << k.name;
    }
  }
}

TEST(ModelRegistry, StoredParameterBoundCoversTheModel) {
  const std::int64_t d = 5, treated_test = 40;
  for (const auto& k : model_kinds()) {
    Config c;
    c.model.name = k.name;
    std::int64_t own = 0;
    for (const auto& t : models::make_model(c, d)->parameters()) {
      std::int64_t n = 1;
      for (const auto v : t.shape) n *= v;
      own += n;
    }
    const std::int64_t bound = models::max_stored_params(c, d, treated_test);
    if (k.floor) EXPECT_EQ(bound, treated_test / 2 * d) << k.name;
    else EXPECT_GE(bound, own) << k.name;
    if (k.has_grid) {
      c.model.grid = true;
      EXPECT_GT(models::max_stored_params(c, d, treated_test), own) << k.name << " with its grid";
    }
  }
}

}  // namespace
}  // namespace cellot
