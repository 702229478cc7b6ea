// The dataset layer: conditions of one h5ad file, per-perturbation loading and splits.
#include "cellot/data/dataset.hpp"

#include <set>
#include <unordered_map>
#include <unordered_set>

#include "cellot/core/error.hpp"
#include "cellot/data/embedding.hpp"

namespace cellot::data {

namespace {

std::string join(const std::vector<std::string>& v, std::size_t max_items = 10) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < max_items; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > max_items) out += ", ... (" + std::to_string(v.size()) + " in all)";
  return out;
}

const io::Column& obs_column(const io::H5adReader& r, const std::string& name, const std::string& cfg_key) {
  return r.obs().require(name, r.path(), cfg_key);
}

// Models, stores and predictions name their input columns by var name: two features of one
// name could not be told apart (scanpy files of gene symbols often have some).
void check_unique_features(const io::H5adReader& r) {
  std::unordered_set<std::string> seen;
  for (const auto& name : r.var().index)
    if (!seen.insert(name).second) {
      const bool raw = r.layer() == "raw";
      const std::string fix = raw ? "r = a.raw.to_adata(); r.var_names_make_unique(); a.raw = r; "
                                  : "a.var_names_make_unique(); ";
      throw InputError(r.path(), raw ? "raw/var_names" : "var_names", name,
                       "duplicated feature name; make the names unique with python3 -c \"import anndata; a = "
                       "anndata.read_h5ad('" + r.path() + "'); " + fix + "a.write_h5ad('" + r.path() +
                           ".unique.h5ad')\"");
    }
}

}  // namespace

Dataset::Dataset(const DataConfig& cfg, MPI_Comm comm) : cfg_(cfg) {
  if (cfg_.path.empty()) throw InputError("command line", "data.path", "", "no data file given");
  reader_ = std::make_shared<io::H5adReader>(cfg_.path, comm, cfg_.layer);
  const std::string matrix = cfg_.layer == "X" ? "X" : reader_->layer_element();
  if (reader_->n_obs() == 0) throw InputError(cfg_.path, matrix, "0 cells", "empty matrix: no cells");
  if (reader_->n_vars() == 0) throw InputError(cfg_.path, matrix, "0 features", "empty matrix: no features");
  check_unique_features(*reader_);
  const io::Column& cond = obs_column(*reader_, cfg_.condition_key, "data.condition_key");
  const std::int64_t n = reader_->n_obs();
  conditions_.reserve(static_cast<std::size_t>(n));
  std::unordered_map<std::string, std::size_t> slot;
  for (std::int64_t i = 0; i < n; ++i) {
    conditions_.push_back(cond.value(i));
    const std::string& c = conditions_.back();
    if (c.empty()) continue;  // a missing value is no condition
    auto it = slot.emplace(c, counts_.size()).first;
    if (it->second == counts_.size()) counts_.push_back({c, 0});
    ++counts_[it->second].cells;
  }
  if (cond.kind == io::Column::Kind::categorical)
    for (const auto& cat : cond.categories)
      if (!slot.count(cat)) {
        slot.emplace(cat, counts_.size());
        counts_.push_back({cat, 0});
      }

  check_condition(cfg_.control, "data.control");
  (void)perturbations();  // validates the list

  if (!cfg_.stratify_key.empty()) (void)obs_column(*reader_, cfg_.stratify_key, "data.stratify_key");
  if (cfg_.split == "holdout") {
    if (cfg_.holdout_key.empty())
      throw InputError("config", "data.holdout_key", "",
                       "split = holdout needs data.holdout_key and data.holdout_value");
    const io::Column& h = obs_column(*reader_, cfg_.holdout_key, "data.holdout_key");
    bool found = cfg_.holdout_value == kHoldoutEach;  // a screen resolves it to one value per fold
    for (std::int64_t i = 0; i < n && !found; ++i) found = h.value(i) == cfg_.holdout_value;
    if (!found)
      throw InputError(cfg_.path, "data.holdout_value", cfg_.holdout_value,
                       "no cell has this value in obs/" + cfg_.holdout_key);
  }

  if (cfg_.preprocess == "4i") {
    // The scale comes from ALL control cells (train, validation and test), as CellOT does.
    control_scale_ = percentile75(reader_->read_rows(rows_of(cfg_.control)));
  } else if (cfg_.preprocess != "none") {
    throw InputError("config", "data.preprocess", cfg_.preprocess, "unknown preprocessing (none | 4i)");
  }
}

void Dataset::check_condition(const std::string& condition, const std::string& key) const {
  for (const auto& c : counts_)
    if (c.name == condition) {
      if (c.cells == 0)
        throw InputError(cfg_.path, key, condition, "condition has zero cells in obs/" + cfg_.condition_key);
      return;
    }
  std::vector<std::string> names;
  for (const auto& c : counts_) names.push_back(c.name);
  throw InputError(cfg_.path, key, condition,
                   "unknown condition in obs/" + cfg_.condition_key + " (have: " + join(names) + ")");
}

namespace {

// Perturbations name tasks ("<perturbation>|<model>|fold<k>|seed<s>") and lines of logs and
// stores: a '|' would make a key ambiguous, a line break would split a record.
void check_task_name(const std::string& name, const DataConfig& cfg) {
  const auto bad = name.find_first_of("|\n\r");
  if (bad == std::string::npos) return;
  const std::string what = name[bad] == '|' ? "a '|'" : "a line break";
  throw InputError(cfg.path, "obs/" + cfg.condition_key, name,
                   "perturbation name contains " + what + " (task keys are perturbation|model|fold|seed); rename it, "
                   "e.g. python3 -c \"import anndata; a = anndata.read_h5ad('" + cfg.path + "'); a.obs['" +
                       cfg.condition_key + "'] = a.obs['" + cfg.condition_key +
                       "'].astype(str).str.replace('|', '+', regex=False).str.replace('\\n', ' ', regex=False); "
                       "a.write_h5ad('" + cfg.path + ".renamed.h5ad')\"");
}

}  // namespace

std::vector<std::string> Dataset::perturbations() const {
  std::vector<std::string> out;
  if (cfg_.perturbations == "all" || cfg_.perturbations.empty()) {
    for (const auto& c : counts_)
      if (c.cells > 0 && c.name != cfg_.control) {
        check_task_name(c.name, cfg_);
        out.push_back(c.name);
      }
    return out;
  }
  std::unordered_set<std::string> seen;
  for (const auto& p : split_list(cfg_.perturbations)) {
    if (p == cfg_.control)
      throw InputError(cfg_.path, "data.perturbations", p, "is the control label, not a perturbation");
    check_condition(p, "data.perturbations");
    check_task_name(p, cfg_);
    if (seen.insert(p).second) out.push_back(p);
  }
  return out;
}

std::vector<std::string> Dataset::features() const { return reader_->var().index; }
std::int64_t Dataset::n_obs() const { return reader_->n_obs(); }
std::int64_t Dataset::n_vars() const { return reader_->n_vars(); }
std::vector<ConditionCount> Dataset::conditions() const { return counts_; }

std::int64_t Dataset::count(const std::string& condition) const {
  for (const auto& c : counts_)
    if (c.name == condition) return c.cells;
  return 0;
}

std::vector<std::int64_t> Dataset::rows_of(const std::string& condition) const {
  check_condition(condition, condition == cfg_.control ? "data.control" : "perturbation");
  std::vector<std::int64_t> rows;
  for (std::size_t i = 0; i < conditions_.size(); ++i)
    if (conditions_[i] == condition) rows.push_back(static_cast<std::int64_t>(i));
  return rows;
}

Matrix Dataset::load_rows(const std::vector<std::int64_t>& rows) const {
  Matrix m = reader_->read_rows(rows);
  rows_read_ += static_cast<std::int64_t>(rows.size());
  for (const std::int64_t r : rows) control_rows_read_ += conditions_[static_cast<std::size_t>(r)] == cfg_.control;
  if (cfg_.preprocess == "4i") preprocess_4i(m, control_scale_, cfg_.path, reader_->var().index);
  return m;
}

Split Dataset::split_of(const std::string& condition, std::uint64_t seed) const {
  const auto rows = rows_of(condition);
  std::vector<std::string> strata;
  if (!cfg_.stratify_key.empty()) {
    const io::Column& c = obs_column(*reader_, cfg_.stratify_key, "data.stratify_key");
    for (std::int64_t r : rows) strata.push_back(c.value(r));
  }
  std::vector<char> mask;
  if (cfg_.split == "holdout") {
    if (cfg_.holdout_value == kHoldoutEach)
      throw InputError("config", "data.holdout_value", kHoldoutEach,
                       "one fold per value of data.holdout_key is run by `cellot screen`; give one value here");
    const io::Column& h = obs_column(*reader_, cfg_.holdout_key, "data.holdout_key");
    for (std::int64_t r : rows) mask.push_back(h.value(r) == cfg_.holdout_value ? 1 : 0);
  }
  return make_split(static_cast<std::int64_t>(rows.size()), cfg_, seed, condition,
                    cfg_.stratify_key.empty() ? nullptr : &strata, cfg_.split == "holdout" ? &mask : nullptr);
}

PairData Dataset::load_pair(const std::string& perturbation, std::uint64_t seed, const FeatureTransform* transform,
                            const Matrix* control_cells) const {
  if (perturbation == cfg_.control)
    throw InputError(cfg_.path, "perturbation", perturbation, "is the control label, not a perturbation");
  check_condition(perturbation, "perturbation");
  check_task_name(perturbation, cfg_);
  PairData p;
  p.perturbation = perturbation;
  p.features = transform ? transform->names(features()) : features();
  if (!control_cache_ || (!control_cells && (control_cache_->transform != transform || control_cache_->x.empty()))) {
    auto c = std::make_shared<ControlCells>();
    c->transform = transform;
    c->rows = rows_of(cfg_.control);
    if (!control_cells) c->x = transform ? load_embedded(*this, *transform, c->rows) : load_rows(c->rows);
    c->obs = reader_->obs().select_rows(c->rows);
    control_cache_ = std::move(c);
  }
  p.control_rows = control_cache_->rows;
  p.treated_rows = rows_of(perturbation);
  if (control_cells) {
    if (control_cells->rows != static_cast<std::int64_t>(p.control_rows.size()))
      throw InternalError(__FILE__, __LINE__,
                          "load_pair: " + std::to_string(control_cells->rows) + " control cells given for " +
                              std::to_string(p.control_rows.size()) + " control rows");
    p.control = *control_cells;
  } else {
    p.control = control_cache_->x;
  }
  p.treated = transform ? load_embedded(*this, *transform, p.treated_rows) : load_rows(p.treated_rows);
  p.control_obs = control_cache_->obs;
  p.treated_obs = reader_->obs().select_rows(p.treated_rows);
  p.control_split = split_of(cfg_.control, seed);
  p.treated_split = split_of(perturbation, seed);
  return p;
}

std::vector<std::string> Dataset::holdout_values() const {
  const io::Column& h = obs_column(*reader_, cfg_.holdout_key, "data.holdout_key");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::int64_t i = 0; i < n_obs(); ++i) {
    const std::string v = h.value(i);
    if (seen.insert(v).second) out.push_back(v);
  }
  return out;
}

}  // namespace cellot::data
