// Model directories: save / load round trips for CellOT and a baseline, and malformed
// directories are InputErrors naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot.hpp"
#include "cellot/models/model_dir.hpp"

using cellot::Config;
using cellot::Matrix;
namespace models = cellot::models;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cellot_model_dir_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

Matrix cells(std::int64_t n, std::int64_t d, std::uint64_t seed, double shift) {
  cellot::Rng rng(seed);
  Matrix m(n, d);
  for (auto& v : m.data) v = rng.normal() + shift;
  return m;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(ModelDir, CellotRoundTrip) {
  Config cfg;
  cfg.model.hidden = "8,8";
  cfg.training.iters = 6;
  cfg.training.batch_size = 16;
  cfg.training.inner_iters = 2;
  cfg.training.eval_every = 3;
  cfg.data.path = "some/data.h5ad";
  models::TrainInput in;
  in.perturbation = "drug A";
  in.source_train = cells(50, 3, 1, 0);
  in.target_train = cells(40, 3, 2, 1);
  in.source_val = cells(10, 3, 3, 0);
  in.target_val = cells(10, 3, 4, 1);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 99;
  ctx.validation_metric = [](const Matrix& p, const Matrix&) { return std::abs(p(0, 0)); };
  auto model = models::make_model(cfg, 3);
  model->train(in, ctx);

  models::ModelInfo info;
  info.perturbation = in.perturbation;
  info.features = {"f1", "f2", "f3"};
  info.data_path = cfg.data.path;
  info.split_seed = 18446744073709551615ULL;  // seeds are full 64-bit values
  info.task_seed = 12345678901234567890ULL;
  info.steps = 6;
  info.best_step = dynamic_cast<models::CellotModel&>(*model).best_step();
  info.best_metric = dynamic_cast<models::CellotModel&>(*model).best_metric();
  const std::string dir = temp_dir("cellot");
  models::save_model_dir(dir, *model, cfg, info);
  for (const char* f : {"model.h5", "config.ini", "curves.csv"}) EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;
  EXPECT_EQ(read(dir + "/config.ini"), cfg.to_ini());
  const std::string csv = read(dir + "/curves.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "step,g_loss,f_loss,w2,val_energy");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + steps 3 and 6

  const auto loaded = models::load_model_dir(dir);
  EXPECT_EQ(loaded.info.model, "cellot");
  EXPECT_EQ(loaded.info.perturbation, "drug A");
  EXPECT_EQ(loaded.info.features, info.features);
  EXPECT_EQ(loaded.info.split_seed, info.split_seed);
  EXPECT_EQ(loaded.info.task_seed, info.task_seed);
  EXPECT_EQ(loaded.info.best_step, info.best_step);
  EXPECT_EQ(loaded.info.steps, 6);
  EXPECT_EQ(loaded.config.to_ini(), cfg.to_ini());
  const Matrix x = cells(20, 3, 5, 0);
  EXPECT_EQ(loaded.model->predict(x).data, model->predict(x).data);
  EXPECT_EQ(loaded.model->predict(x, 0.3).data, model->predict(x, 0.3).data);
  fs::remove_all(dir);
}

TEST(ModelDir, BaselineRoundTrip) {
  Config cfg;
  cfg.model.name = "mean_shift";
  models::TrainInput in;
  in.source_train = cells(30, 4, 6, 0);
  in.target_train = cells(30, 4, 7, 2);
  in.source_val = cells(5, 4, 8, 0);
  in.target_val = cells(5, 4, 9, 2);
  models::TrainContext ctx;
  ctx.config = &cfg;
  auto model = models::make_model(cfg, 4);
  model->train(in, ctx);
  models::ModelInfo info;
  info.features = {"a", "b", "c", "d"};
  const std::string dir = temp_dir("mean_shift");
  models::save_model_dir(dir, *model, cfg, info);
  const auto loaded = models::load_model_dir(dir);
  EXPECT_EQ(loaded.info.model, "mean_shift");
  const Matrix x = cells(7, 4, 10, 0);
  EXPECT_EQ(loaded.model->predict(x).data, model->predict(x).data);
  fs::remove_all(dir);
}

TEST(ModelDir, MalformedDirectoriesAreInputErrors) {
  EXPECT_THROW(models::load_model_dir(temp_dir("missing")), cellot::InputError);
  const std::string empty = temp_dir("empty");
  fs::create_directories(empty);
  try {
    models::load_model_dir(empty);
    FAIL() << "no error";
  } catch (const cellot::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.h5"), std::string::npos) << e.what();
  }
  // A config that names another model than the weights.
  Config cfg;
  cfg.model.hidden = "4";
  auto model = models::make_model(cfg, 2);
  models::ModelInfo info;
  info.features = {"x", "y"};
  const std::string dir = temp_dir("mismatch");
  models::save_model_dir(dir, *model, cfg, info);
  Config other = cfg;
  other.model.name = "identity";
  std::ofstream(dir + "/config.ini") << other.to_ini();
  EXPECT_THROW(models::load_model_dir(dir), cellot::InputError);
  // Weights of another shape than the config describes.
  other = cfg;
  other.model.hidden = "5";
  std::ofstream(dir + "/config.ini") << other.to_ini();
  EXPECT_THROW(models::load_model_dir(dir), cellot::InputError);
  fs::remove_all(dir);
  fs::remove_all(empty);
}
