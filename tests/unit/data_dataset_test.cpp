// The dataset layer on small files: conditions and perturbation selection, load_pair, 4i
// preprocessing, feature checks, and every InputError it raises.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "cellot/core/error.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/io/h5ad.hpp"

using namespace cellot;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl =
        (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) + "/cellot_data_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

const std::string& tmp() {
  static TempDir d;
  return d.path;
}

// Cells interleaved by condition: i % 4 = 0, 1 -> control, 2 -> drugA, 3 -> drugB; "drugC" is a
// category without cells. X(i, j) = i + j / 10 (positive).
std::string write_file(const std::string& name, std::int64_t n = 40) {
  io::AnnData a;
  a.X = Matrix(n, 3);
  std::vector<std::string> cond, line;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) a.X(i, j) = static_cast<double>(i) + static_cast<double>(j) / 10.0;
    const char* c[] = {"control", "control", "drugA", "drugB"};
    cond.push_back(c[i % 4]);
    line.push_back(i % 8 < 4 ? "L1" : "L2");
    a.obs.index.push_back("c" + std::to_string(i));
  }
  a.obs.columns.push_back(io::Column::make_categorical("condition", cond, {"control", "drugB", "drugA", "drugC"}));
  a.obs.columns.push_back(io::Column::make_categorical("line", line));
  a.obs.columns.push_back(io::Column::make_strings("treatment", cond));
  a.var.index = {"f0", "f1", "f2"};
  a.x_float64 = true;
  const std::string path = tmp() + "/" + name;
  io::write_h5ad(path, a);
  return path;
}

DataConfig cfg_for(const std::string& path) {
  DataConfig c;
  c.path = path;
  return c;
}

template <class Fn>
InputError input_error(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError";
  return InputError("none");
}

}  // namespace

TEST(Dataset, ConditionsAndPerturbationsInFileOrder) {
  const auto path = write_file("basic.h5ad");
  data::Dataset ds(cfg_for(path));
  EXPECT_EQ(ds.n_obs(), 40);
  EXPECT_EQ(ds.n_vars(), 3);
  EXPECT_EQ(ds.features(), (std::vector<std::string>{"f0", "f1", "f2"}));
  // File order of first appearance (drugA before drugB), not category order.
  EXPECT_EQ(ds.perturbations(), (std::vector<std::string>{"drugA", "drugB"}));
  const auto conds = ds.conditions();
  ASSERT_EQ(conds.size(), 4u);
  EXPECT_EQ(conds[0].name, "control");
  EXPECT_EQ(conds[0].cells, 20);
  EXPECT_EQ(conds[3].name, "drugC");
  EXPECT_EQ(conds[3].cells, 0);
  EXPECT_EQ(ds.count("drugB"), 10);
  EXPECT_EQ(ds.count("nope"), 0);
  EXPECT_EQ(ds.rows_of("drugB"), (std::vector<std::int64_t>{3, 7, 11, 15, 19, 23, 27, 31, 35, 39}));

  auto c = cfg_for(path);
  c.perturbations = "drugB, drugA";
  EXPECT_EQ(data::Dataset(c).perturbations(), (std::vector<std::string>{"drugB", "drugA"}));
  // A string condition column works the same.
  c = cfg_for(path);
  c.condition_key = "treatment";
  EXPECT_EQ(data::Dataset(c).perturbations(), (std::vector<std::string>{"drugA", "drugB"}));
}

TEST(Dataset, LoadPairReadsBothConditionsAndSplitsThem) {
  const auto path = write_file("pair.h5ad");
  auto c = cfg_for(path);
  c.stratify_key = "line";
  data::Dataset ds(c);
  const auto p = ds.load_pair("drugA", 3);
  EXPECT_EQ(p.perturbation, "drugA");
  ASSERT_EQ(p.control.rows, 20);
  ASSERT_EQ(p.treated.rows, 10);
  EXPECT_EQ(p.treated_rows[0], 2);
  EXPECT_DOUBLE_EQ(p.treated(0, 1), 2.1);
  EXPECT_DOUBLE_EQ(p.control(3, 2), 5.2);  // control rows 0, 1, 4, 5 -> row 5
  EXPECT_EQ(p.control_obs.index[3], "c5");
  EXPECT_EQ(p.treated_obs.find("line")->value(1), "L2");  // row 6
  EXPECT_EQ(p.control_split.test.size(), 4u);
  EXPECT_EQ(p.treated_split.test.size(), 2u);
  // The control split is the same for every perturbation (its key is the control label).
  const auto q = ds.load_pair("drugB", 3);
  EXPECT_EQ(p.control_split.test, q.control_split.test);
  EXPECT_EQ(p.control_split.train, ds.split_of("control", 3).train);
}

TEST(Dataset, Preprocess4iUsesAllControlCells) {
  const auto path = write_file("pre.h5ad");
  auto c = cfg_for(path);
  c.preprocess = "4i";
  data::Dataset ds(c);
  // Control rows i = 0,1,4,5,...,36,37: feature 0 values; numpy percentile(…, 75) of them.
  std::vector<double> ctrl;
  for (std::int64_t i = 0; i < 40; ++i)
    if (i % 4 < 2) ctrl.push_back(static_cast<double>(i));
  const double q = data::percentile(ctrl, 0.75);
  EXPECT_DOUBLE_EQ(q, 28.25);  // np.percentile([0,1,4,5,...,36,37], 75)
  ASSERT_EQ(ds.control_scale().size(), 3u);
  EXPECT_DOUBLE_EQ(ds.control_scale()[0], q);
  const auto p = ds.load_pair("drugA", 0);
  EXPECT_DOUBLE_EQ(p.treated(1, 0), std::log1p(6.0 / q));
}

TEST(Dataset, PercentileMatchesNumpy) {
  // Values from numpy 1.24: np.percentile(v, 75) with the default method.
  const std::vector<double> v = {3.0, -1.5, 7.25, 0.1, 2.2, 9.0, 4.4};
  EXPECT_EQ(data::percentile(v, 0.75), 5.825);
  EXPECT_EQ(data::percentile({3.0, -1.5, 7.25, 0.1, 2.2, 9.0}, 0.75), 6.1875);
  EXPECT_EQ(data::percentile({3.0, -1.5}, 0.75), 1.875);
  EXPECT_EQ(data::percentile({5.0}, 0.75), 5.0);
  std::vector<double> x;
  for (int i = 1; i <= 10; ++i) x.push_back(i / 7.0);
  EXPECT_EQ(data::percentile(x, 0.75), 1.1071428571428572);
  Matrix m(3, 2);
  m.data = {1, 10, 2, 20, 3, 30};
  EXPECT_EQ(data::percentile75(m), (std::vector<double>{2.5, 25.0}));
}

TEST(Dataset, Preprocess4iRejectsValuesBelowMinusScale) {
  Matrix m(1, 2);
  m.data = {1.0, -3.0};
  const auto e = input_error([&] { data::preprocess_4i(m, {2.0, 2.0}, "f.h5ad", {"a", "b"}); });
  EXPECT_EQ(e.where(), "f.h5ad");
  EXPECT_EQ(e.key(), "data.preprocess");
  EXPECT_NE(std::string(e.what()).find("feature b"), std::string::npos);
  Matrix ok(1, 2);
  ok.data = {1.0, 4.0};
  data::preprocess_4i(ok, {2.0, 0.0});  // non-positive scale: divided by 1
  EXPECT_DOUBLE_EQ(ok(0, 0), std::log1p(0.5));
  EXPECT_DOUBLE_EQ(ok(0, 1), std::log1p(4.0));
}

TEST(Dataset, InputErrorsNameFileKeyAndValue) {
  const auto path = write_file("errors.h5ad");
  {
    auto c = cfg_for(path);
    c.condition_key = "drug";
    const auto e = input_error([&] { data::Dataset ds(c); });
    EXPECT_EQ(e.where(), path);
    EXPECT_EQ(e.key(), "data.condition_key");
    EXPECT_EQ(e.value(), "drug");
  }
  {
    auto c = cfg_for(path);
    c.control = "DMSO";
    const auto e = input_error([&] { data::Dataset ds(c); });
    EXPECT_EQ(e.key(), "data.control");
    EXPECT_EQ(e.value(), "DMSO");
    EXPECT_NE(std::string(e.what()).find("unknown condition"), std::string::npos);
  }
  {
    auto c = cfg_for(path);
    c.perturbations = "drugA,drugZ";
    const auto e = input_error([&] { data::Dataset ds(c); });
    EXPECT_EQ(e.key(), "data.perturbations");
    EXPECT_EQ(e.value(), "drugZ");
  }
  {
    auto c = cfg_for(path);
    c.perturbations = "drugC";  // a category without cells
    const auto e = input_error([&] { data::Dataset ds(c); });
    EXPECT_EQ(e.value(), "drugC");
    EXPECT_NE(std::string(e.what()).find("zero cells"), std::string::npos);
  }
  {
    auto c = cfg_for(path);
    c.perturbations = "control";
    EXPECT_EQ(input_error([&] { data::Dataset ds(c); }).key(), "data.perturbations");
  }
  data::Dataset ds(cfg_for(path));
  EXPECT_EQ(input_error([&] { ds.load_pair("drugC", 0); }).value(), "drugC");
  EXPECT_EQ(input_error([&] { ds.load_pair("nope", 0); }).key(), "perturbation");
  EXPECT_EQ(input_error([&] { ds.load_pair("control", 0); }).value(), "control");
  {
    auto c = cfg_for(path);
    c.split = "holdout";
    c.holdout_key = "line";
    c.holdout_value = "L3";
    const auto e = input_error([&] { data::Dataset d2(c); });
    EXPECT_EQ(e.key(), "data.holdout_value");
    EXPECT_EQ(e.value(), "L3");
    c.holdout_value = "L2";
    const auto p = data::Dataset(c).load_pair("drugB", 0);
    for (auto i : p.treated_split.test) EXPECT_EQ(p.treated_obs.find("line")->value(i), "L2");
    EXPECT_EQ(p.treated_split.test.size(), 5u);
  }
  {
    auto c = cfg_for(path);
    c.stratify_key = "batch";
    EXPECT_EQ(input_error([&] { data::Dataset d2(c); }).key(), "data.stratify_key");
  }
  EXPECT_EQ(input_error([&] { data::Dataset d2(cfg_for(tmp() + "/missing.h5ad")); }).value(), tmp() + "/missing.h5ad");
}

TEST(Dataset, NonFiniteValueInAPairIsInputError) {
  io::AnnData a = io::read_h5ad(write_file("nan_src.h5ad"));
  a.X(6, 1) = std::numeric_limits<double>::quiet_NaN();  // row 6 is drugA
  const std::string path = tmp() + "/nan.h5ad";
  io::write_h5ad(path, a);
  data::Dataset ds(cfg_for(path));
  EXPECT_NO_THROW(ds.load_pair("drugB", 0));
  const auto e = input_error([&] { ds.load_pair("drugA", 0); });
  EXPECT_EQ(e.where(), path);
  EXPECT_EQ(e.key(), "X");
  EXPECT_EQ(e.value(), "nan at row 6 col 1");
}

TEST(Dataset, CheckSameFeatures) {
  io::DataFrame a, b;
  a.index = {"x", "y", "z"};
  b.index = a.index;
  EXPECT_NO_THROW(data::check_same_features(a, "a.h5ad", b, "b.h5ad"));
  b.index = {"x", "q", "z"};
  auto e = input_error([&] { data::check_same_features(a, "a.h5ad", b, "b.h5ad"); });
  EXPECT_EQ(e.where(), "b.h5ad");
  EXPECT_EQ(e.key(), "var_names");
  EXPECT_EQ(e.value(), "q");
  EXPECT_NE(std::string(e.what()).find("'y'"), std::string::npos);
  b.index = {"x", "y"};
  e = input_error([&] { data::check_same_features(a, "a.h5ad", b, "b.h5ad"); });
  EXPECT_EQ(e.value(), "2 features");
}
