#include "cellot/core/model_kinds.hpp"
#include "cellot/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/metrics/names.hpp"
#include "cellot/report/discrimination.hpp"
#include "cellot/report/statistics.hpp"
#include "cellot/io/plan_text.hpp"

namespace cellot::report {

Better better(const std::string& metric) {
  switch (metrics::direction(metric)) {
    case metrics::Direction::higher:
      return Better::higher;
    case metrics::Direction::half:
      return Better::half;
    case metrics::Direction::lower:
      break;
  }
  return Better::lower;
}

const char* better_text(Better b) {
  switch (b) {
    case Better::lower:
      return "lower is better";
    case Better::higher:
      return "higher is better";
    case Better::half:
      return "best at 0.5";
  }
  return "";
}

bool is_reference_model(const std::string& model) {
  const ModelKind* k = find_model_kind(model);
  return k && k->floor;
}

namespace {

Stat stat_of(const std::vector<double>& v) {
  Stat s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) return s;  // no sd from a single value
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));  // sample sd over seeds x folds
  return s;
}

double badness(Better b, double mean) {
  switch (b) {
    case Better::lower:
      return mean;
    case Better::higher:
      return -mean;
    case Better::half:
      return std::fabs(mean - 0.5);
  }
  return mean;
}

// Marks the best (and tied best) of `rows` per metric, ignoring reference models and NaN.
void mark_best(std::vector<Row*>& rows, const std::vector<std::string>& metrics) {
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    const Better b = better(metrics[k]);
    double best = INFINITY;
    for (Row* r : rows) {
      if (is_reference_model(r->model) || !std::isfinite(r->stats[k].mean)) continue;
      best = std::min(best, badness(b, r->stats[k].mean));
    }
    for (Row* r : rows)
      r->best[k] = !is_reference_model(r->model) && std::isfinite(r->stats[k].mean) && std::isfinite(best) &&
                   badness(b, r->stats[k].mean) == best;
  }
}

constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

// Column of each metric in the store; kAbsent for a metric this build knows that an older store
// lacks (shown as "–"). Names nobody knows are InputErrors.
std::vector<std::size_t> metric_columns(const io::StoreSummary& s, const std::vector<std::string>& metrics) {
  std::vector<std::size_t> cols;
  for (const auto& m : metrics) {
    const auto it = std::find(s.spec.metric_names.begin(), s.spec.metric_names.end(), m);
    if (it != s.spec.metric_names.end()) {
      cols.push_back(static_cast<std::size_t>(it - s.spec.metric_names.begin()));
      continue;
    }
    const auto base = m.rfind("iid:", 0) == 0 ? m.substr(4) : m;
    if (metrics::find_metric(base) == nullptr || base == metrics::kDiscrimination)
      throw InputError(s.path, "--metrics", m, "metric not in the store");
    cols.push_back(kAbsent);
  }
  return cols;
}

double value_at(const io::StoreSummary& s, std::size_t t, std::size_t col) {
  return col == kAbsent ? NAN : s.value[t][col];
}
double sd_at(const io::StoreSummary& s, std::size_t t, std::size_t col) {
  return col == kAbsent ? NAN : s.sd[t][col];
}

bool usable(const io::StoreSummary& s, std::size_t t) { return s.state[t] == io::TaskState::done && s.trusted[t]; }

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string tex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '_':
        out += "\\_";
        break;
      case '&':
        out += "\\&";
        break;
      case '%':
        out += "\\%";
        break;
      case '#':
        out += "\\#";
        break;
      case '$':
        out += "\\$";
        break;
      case '{':
        out += "\\{";
        break;
      case '}':
        out += "\\}";
        break;
      case '|':
        out += "\\textbar{}";
        break;
      case '@':
        out += "@";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> select_metrics(const io::StoreSummary& s, const std::vector<std::string>& wanted) {
  if (wanted.empty()) {
    // A holdout store's "iid:" columns are shown beside the test split's (ood) in their own
    // section, not as columns of their own.
    std::vector<std::string> out;
    for (const auto& m : s.spec.metric_names)
      if (m.rfind("iid:", 0) != 0) out.push_back(m);
    return out;
  }
  metric_columns(s, wanted);  // validates
  return wanted;
}

Table summarize(const io::StoreSummary& s, const std::vector<std::string>& metrics) {
  const auto cols = metric_columns(s, metrics);
  Table table;
  table.metrics = metrics;
  // Per perturbation x model, in plan order.
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<double>>> values;
  std::vector<std::pair<std::string, std::string>> order;
  // The stored sd of each task (over bootstrap resamples of cells when metrics.bootstrap > 0).
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<double>>> boot_sd;
  for (std::size_t t = 0; t < s.spec.tasks.size(); ++t) {
    const auto key = std::make_pair(s.spec.tasks[t].perturbation, s.spec.tasks[t].model);
    auto it = values.find(key);
    if (it == values.end()) {
      order.push_back(key);
      it = values.emplace(key, std::vector<std::vector<double>>(metrics.size())).first;
    }
    if (!usable(s, t)) continue;
    auto& bsd = boot_sd[key];
    bsd.resize(metrics.size());
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const double v = value_at(s, t, cols[k]);
      if (!std::isfinite(v)) continue;
      it->second[k].push_back(v);
      bsd[k].push_back(sd_at(s, t, cols[k]));
    }
  }
  for (const auto& key : order) {
    Row r;
    r.perturbation = key.first;
    r.model = key.second;
    for (std::size_t k = 0; k < metrics.size(); ++k) {
      Stat st = stat_of(values[key][k]);
      const auto b = boot_sd.find(key);
      if (st.n == 1 && b != boot_sd.end() && b->second[k].size() == 1) st.boot_sd = b->second[k][0];
      r.stats.push_back(st);
    }
    r.best.assign(metrics.size(), false);
    table.rows.push_back(std::move(r));
  }
  std::map<std::string, std::vector<Row*>> by_pert;
  for (auto& r : table.rows) by_pert[r.perturbation].push_back(&r);
  for (auto& [p, rows] : by_pert) mark_best(rows, metrics);

  // Mean over perturbations of the per-perturbation means (each perturbation weighs the same).
  std::vector<std::string> models;
  for (const auto& r : table.rows)
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
  for (const auto& m : models) {
    Row mr;
    mr.perturbation = "(all)";
    mr.model = m;
    for (std::size_t k = 0; k < metrics.size(); ++k) {
      std::vector<double> means;
      for (const auto& r : table.rows)
        if (r.model == m && r.stats[k].n > 0 && std::isfinite(r.stats[k].mean)) means.push_back(r.stats[k].mean);
      mr.stats.push_back(stat_of(means));
    }
    mr.best.assign(metrics.size(), false);
    table.model_means.push_back(std::move(mr));
  }
  std::vector<Row*> all;
  for (auto& r : table.model_means) all.push_back(&r);
  mark_best(all, metrics);
  return table;
}

std::vector<CvRow> reproducibility(const io::StoreSummary& s, const std::vector<std::string>& metrics) {
  const auto cols = metric_columns(s, metrics);
  // (perturbation, model, fold) -> per metric, values over seeds.
  std::map<std::tuple<std::string, std::string, int>, std::vector<std::vector<double>>> groups;
  std::vector<std::string> models;
  for (std::size_t t = 0; t < s.spec.tasks.size(); ++t) {
    const auto& task = s.spec.tasks[t];
    if (std::find(models.begin(), models.end(), task.model) == models.end()) models.push_back(task.model);
    if (!usable(s, t)) continue;
    auto& g = groups[{task.perturbation, task.model, task.fold}];
    g.resize(metrics.size());
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const double v = value_at(s, t, cols[k]);
      if (std::isfinite(v)) g[k].push_back(v);
    }
  }
  std::vector<CvRow> out;
  for (const auto& m : models) {
    CvRow row;
    row.model = m;
    row.cv.assign(metrics.size(), NAN);
    row.n.assign(metrics.size(), 0);
    std::vector<double> sum(metrics.size(), 0.0);
    for (const auto& [key, g] : groups) {
      if (std::get<1>(key) != m) continue;
      for (std::size_t k = 0; k < metrics.size(); ++k) {
        if (g[k].size() < 2) continue;
        const Stat st = stat_of(g[k]);
        if (st.mean == 0) continue;  // CV undefined
        sum[k] += st.sd / std::fabs(st.mean);
        ++row.n[k];
      }
    }
    for (std::size_t k = 0; k < metrics.size(); ++k)
      if (row.n[k] > 0) row.cv[k] = sum[k] / row.n[k];
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<CompareRow> compare(const io::StoreSummary& a, const io::StoreSummary& b,
                                const std::vector<std::string>& metrics) {
  const auto ca = metric_columns(a, metrics);
  const auto cb = metric_columns(b, metrics);
  std::map<std::string, std::size_t> index_b;
  for (std::size_t t = 0; t < b.spec.tasks.size(); ++t) index_b[b.spec.tasks[t].key] = t;
  std::vector<CompareRow> out(metrics.size());
  for (std::size_t k = 0; k < metrics.size(); ++k) out[k].metric = metrics[k];
  for (std::size_t t = 0; t < a.spec.tasks.size(); ++t) {
    if (!usable(a, t)) continue;
    const auto it = index_b.find(a.spec.tasks[t].key);
    if (it == index_b.end() || !usable(b, it->second)) continue;
    for (std::size_t k = 0; k < metrics.size(); ++k) {
      const double x = value_at(a, t, ca[k]), y = value_at(b, it->second, cb[k]);
      if (std::isnan(x) && std::isnan(y)) continue;
      CompareRow& r = out[k];
      ++r.n;
      const double diff = (std::isnan(x) || std::isnan(y)) ? INFINITY : std::fabs(x - y);
      const double scale = std::max(std::fabs(x), std::fabs(y));
      const double rel = diff == 0 ? 0.0 : (scale > 0 ? diff / scale : INFINITY);
      if (diff > r.max_abs || r.worst_abs_key.empty()) {
        r.max_abs = diff;
        r.worst_abs_key = a.spec.tasks[t].key;
      }
      if (rel > r.max_rel || r.worst_rel_key.empty()) {
        r.max_rel = rel;
        r.worst_rel_key = a.spec.tasks[t].key;
      }
    }
  }
  return out;
}

Coverage coverage(const io::StoreSummary& a, const io::StoreSummary& b) {
  Coverage c;
  c.hash_a = a.spec.plan_hash;
  c.hash_b = b.spec.plan_hash;
  c.data_a = io::plan_text_fingerprint(a.spec.plan_text);
  c.data_b = io::plan_text_fingerprint(b.spec.plan_text);
  c.same_plan = c.hash_a == c.hash_b;
  c.same_data = !c.data_a.empty() && c.data_a == c.data_b;
  if (a.spec.hash != b.spec.hash)
    c.data_hashes = std::string(hash_scheme_name(a.spec.hash)) + " vs " + hash_scheme_name(b.spec.hash);
  std::map<std::string, std::size_t> index_b;
  for (std::size_t t = 0; t < b.spec.tasks.size(); ++t) index_b[b.spec.tasks[t].key] = t;
  std::set<std::string> keys_a;
  for (std::size_t t = 0; t < a.spec.tasks.size(); ++t) {
    const std::string& key = a.spec.tasks[t].key;
    keys_a.insert(key);
    const auto it = index_b.find(key);
    if (it == index_b.end()) {
      c.only_a.push_back(key);
      continue;
    }
    const bool da = usable(a, t), db = usable(b, it->second);
    if (da && db) ++c.compared;
    if (da && !db) c.done_a.push_back(key);
    if (db && !da) c.done_b.push_back(key);
  }
  for (const auto& t : b.spec.tasks)
    if (!keys_a.count(t.key)) c.only_b.push_back(t.key);
  return c;
}

std::vector<Unfinished> unfinished(const io::StoreSummary& s) {
  std::vector<Unfinished> out;
  for (std::size_t t = 0; t < s.spec.tasks.size(); ++t) {
    if (!s.spec.owned.empty() && !s.spec.owned[t]) continue;  // another shard's task
    if (usable(s, t)) continue;
    Unfinished u;
    u.key = s.spec.tasks[t].key;
    u.perturbation = s.spec.tasks[t].perturbation;
    u.model = s.spec.tasks[t].model;
    const bool final_row = s.trusted[t] && (s.state[t] == io::TaskState::failed || s.state[t] == io::TaskState::diverged);
    if (final_row) {
      u.state = io::state_name(s.state[t]);
      if (t < s.message.size()) u.message = s.message[t];
    } else if (s.state[t] == io::TaskState::done || s.state[t] == io::TaskState::failed ||
               s.state[t] == io::TaskState::diverged) {
      u.state = "not finished";
      u.message = "corrupt row (checksum mismatch)";
    } else {
      u.state = "not finished";
      u.message = s.state[t] == io::TaskState::running ? "running when the store was last written" : "never ran";
    }
    out.push_back(std::move(u));
  }
  return out;
}

namespace {

struct Counts {
  std::int64_t done = 0, failed = 0, diverged = 0, pending = 0, owned = 0;
};

Counts count(const io::StoreSummary& s) {
  Counts c;
  for (std::size_t t = 0; t < s.state.size(); ++t) {
    if (!s.spec.owned.empty() && !s.spec.owned[t]) continue;  // another shard's task
    ++c.owned;
    if (usable(s, t))
      ++c.done;
    else if (s.state[t] == io::TaskState::failed && s.trusted[t])
      ++c.failed;
    else if (s.state[t] == io::TaskState::diverged && s.trusted[t])
      ++c.diverged;
    else
      ++c.pending;
  }
  return c;
}

// A mean with what can honestly be said about its spread: the sd over seeds and folds when
// there are at least two, else a bootstrap interval over cells when the task has one, else
// nothing.
std::string spread_text(const Stat& st, const char* pm) {
  if (st.n >= 2) return fmt(st.mean) + pm + fmt(st.sd);
  if (std::isfinite(st.boot_sd) && st.boot_sd > 0)
    return fmt(st.mean) + " [" + fmt(st.mean - 1.96 * st.boot_sd) + ", " + fmt(st.mean + 1.96 * st.boot_sd) + "]";
  return fmt(st.mean);
}

std::string md_cell(const Stat& st, bool best) {
  if (st.n == 0) return "–";
  const std::string v = spread_text(st, " ± ");
  return best ? "**" + v + "**" : v;
}

std::string tex_cell(const Stat& st, bool best) {
  if (st.n == 0) return "--";
  const std::string v = spread_text(st, " $\\pm$ ");
  return best ? "\\textbf{" + v + "}" : v;
}

// Everything a report shows, computed once for every format.
struct Parts {
  const io::StoreSummary* s = nullptr;
  Table table;
  std::vector<CvRow> cv;
  Counts counts;
  std::vector<Unfinished> unfinished;
  const io::StoreSummary* other = nullptr;  // --compare
  std::vector<CompareRow> cmp;
  Coverage cov;
  bool any_cv = false;          // some (perturbation, fold) has two finished seeds
  Discrimination disc;          // on the test split (the held-out group of a holdout screen)
  Discrimination disc_iid;      // holdout screens: on the in-distribution test cells
  std::vector<PairedRow> paired;  // each model against cellot, per metric
  bool iid = false;             // holdout screen: iid columns beside the (ood) test split
  Table iid_table;              // the "iid:" columns, same metric order as `table`
};

// md: the in- and out-of-distribution means of every model side by side, per metric.
void md_iid_ood(std::ostringstream& os, const Parts& p) {
  os << "\n## In and out of distribution\n\nA holdout screen trains each fold without the cells of one value of "
        "data.holdout_key. **ood**: scored on that held-out group (the test split); **iid**: scored on cells of the "
        "groups it trained on that it never saw (data.test_fraction of them). Means over perturbations of the "
        "per-perturbation means (folds and seeds pooled).";
  const auto values = io::plan_text_holdout_values(p.s->spec.plan_text);
  if (!values.empty()) {
    os << " Leave-one-group-out folds:";
    for (std::size_t f = 0; f < values.size(); ++f) os << (f ? "," : "") << " fold " << f << " = " << values[f];
    os << ".";
  }
  os << "\n\n| model |";
  for (const auto& m : p.table.metrics) os << " " << m << " iid | " << m << " ood |";
  os << "\n|---|";
  for (std::size_t k = 0; k < p.table.metrics.size(); ++k) os << "---|---|";
  os << "\n";
  for (std::size_t r = 0; r < p.table.model_means.size(); ++r) {
    const Row& ood = p.table.model_means[r];
    os << "| " << ood.model << " |";
    for (std::size_t k = 0; k < p.table.metrics.size(); ++k) {
      const Stat& iid = p.iid_table.model_means[r].stats[k];
      os << " " << (iid.n ? fmt(iid.mean) : "–") << " | " << (ood.stats[k].n ? fmt(ood.stats[k].mean) : "–") << " |";
    }
    os << "\n";
  }
}

void md_discrimination(std::ostringstream& os, const Parts& p) {
  os << "\n## Discrimination\n\n";
  if (!p.disc.available) {
    os << "Not available: the store has no /effects (written before they existed).\n";
    return;
  }
  os << "For each perturbation, the observed effects (mean change from control) of all perturbations of the same "
        "fold and seed are ranked by distance to the model's predicted effect; the score is the normalised rank "
        "of the right one (0 = nearest, 0.5 = chance; lower is better; cell-eval's discrimination score). "
        "Histogram: `analysis/figures --store` (discrimination.png).\n\n| model | n | mean |"
     << (p.iid ? " mean iid |" : "") << "\n|---|---|---|" << (p.iid ? "---|" : "") << "\n";
  for (std::size_t m = 0; m < p.disc.models.size(); ++m) {
    os << "| " << p.disc.models[m] << " | " << p.disc.n[m] << " | " << (p.disc.n[m] ? fmt(p.disc.mean[m]) : "–")
       << " |";
    if (p.iid) os << " " << (p.disc_iid.n[m] ? fmt(p.disc_iid.mean[m]) : "–") << " |";
    os << "\n";
  }
}

void md_paired(std::ostringstream& os, const Parts& p) {
  if (p.paired.empty()) return;
  os << "\n## Paired comparisons against cellot\n\nPer metric, each model's per-perturbation mean against "
        "cellot's on the same perturbations (by the metric's direction): wins / ties / losses of the model and "
        "the two-sided exact sign-test p-value (ties dropped). observed, the floor, is not compared.\n\n"
        "| metric | model | wins | ties | losses | p |\n|---|---|---|---|---|---|\n";
  for (const auto& r : p.paired)
    os << "| " << r.metric << " | " << r.model << " | " << r.wins << " | " << r.ties << " | " << r.losses << " | "
       << (std::isnan(r.p_value) ? std::string("–") : fmt(r.p_value)) << " |\n";
}

// Long key lists in md and tex stop after this many (csv lists every key).
constexpr std::size_t kListed = 50;

std::string plan_line(const Coverage& c) {
  return "plan hashes " + c.hash_a + " vs " + c.hash_b + (c.same_plan ? " (same plan)" : " (DIFFERENT plans)") +
         "; data fingerprints " + (c.data_a.empty() ? "none" : c.data_a) + " vs " +
         (c.data_b.empty() ? "none" : c.data_b) +
         (!c.data_hashes.empty() ? " (not comparable: made with different hashes, " + c.data_hashes + ")"
          : c.same_data          ? " (same data)"
          : (c.data_a.empty() || c.data_b.empty() ? " (unknown: a store without one)" : " (DIFFERENT data)"));
}

std::string unfinished_line(const Parts& p) {
  const Counts& c = p.counts;
  return std::to_string(c.owned - c.done) + " of " + std::to_string(c.owned) + " tasks are not done (failed " +
         std::to_string(c.failed) + ", diverged " + std::to_string(c.diverged) + ", not finished " +
         std::to_string(c.pending) + "): the tables leave them out";
}

std::string render_md(const Parts& p) {
  const io::StoreSummary& s = *p.s;
  const Table& table = p.table;
  std::ostringstream os;
  const Counts& c = p.counts;
  os << "# cellot report: " << s.path << "\n\n";
  os << "Plan " << s.spec.plan_hash << ": " << s.spec.size() << " tasks (" << s.spec.perturbations.size()
     << " perturbations x " << s.spec.models.size() << " models x " << s.spec.folds.size() << " folds x "
     << s.spec.seeds.size() << " seeds)" << (s.spec.shard.empty() ? "" : ", shard " + s.spec.shard + " owns " +
                                                                           std::to_string(c.owned))
     << "; done " << c.done << ", failed " << c.failed << ", diverged " << c.diverged << ", not finished "
     << c.pending << ".\n\n";
  if (!p.unfinished.empty())
    os << "> **WARNING: " << unfinished_line(p) << ". They are listed under 'Unfinished tasks'.**\n\n";
  if (p.other && (!p.cov.same_plan || !p.cov.only_a.empty() || !p.cov.only_b.empty()))
    os << "> **WARNING: compared with " << p.other->path << ": " << plan_line(p.cov) << "; "
       << p.cov.only_a.size() << " tasks only here, " << p.cov.only_b.size() << " only there.**\n\n";
  auto header = [&](const char* first) {
    os << "| " << first << " | model | n |";
    for (const auto& m : table.metrics) os << " " << m << " |";
    os << "\n|---|---|---|";
    for (std::size_t k = 0; k < table.metrics.size(); ++k) os << "---|";
    os << "\n";
  };
  os << "## Results\n\nMean ± sd over seeds and folds of the test-split metrics where n ≥ 2; a single value "
        "otherwise, with a 95% interval over bootstrap resamples of cells [mean ∓ 1.96 sd] when metrics.bootstrap is "
        "set; –: not available (or a metric this store predates). **bold**: best per perturbation (observed, the "
        "sampling floor, is not ranked). ";
  os << "Directions:";
  for (const auto& m : table.metrics) os << " " << m << " (" << better_text(better(m)) << ")";
  os << ".\n\n";
  header("perturbation");
  for (const auto& r : table.rows) {
    int n = 0;
    for (const auto& st : r.stats) n = std::max(n, st.n);
    os << "| " << r.perturbation << " | " << r.model << " | " << n << " |";
    for (std::size_t k = 0; k < r.stats.size(); ++k) os << " " << md_cell(r.stats[k], r.best[k]) << " |";
    os << "\n";
  }
  os << "\n## Mean over perturbations\n\nMean ± sd across perturbations of the per-perturbation means (n = "
        "perturbations); **bold**: best.\n\n";
  header("over");
  for (const auto& r : table.model_means) {
    int n = 0;
    for (const auto& st : r.stats) n = std::max(n, st.n);
    os << "| " << r.perturbation << " | " << r.model << " | " << n << " |";
    for (std::size_t k = 0; k < r.stats.size(); ++k) os << " " << md_cell(r.stats[k], r.best[k]) << " |";
    os << "\n";
  }
  if (p.iid) md_iid_ood(os, p);
  md_discrimination(os, p);
  md_paired(os, p);
  if (p.any_cv) {  // a one-seed screen has nothing to show here
    os << "\n## Reproducibility\n\nCoefficient of variation (sd / |mean|) of each metric across seeds, averaged "
          "over (perturbation, fold) pairs with at least two finished seeds (n = such pairs).\n\n";
    os << "| model | n |";
    for (const auto& m : table.metrics) os << " " << m << " |";
    os << "\n|---|---|";
    for (std::size_t k = 0; k < table.metrics.size(); ++k) os << "---|";
    os << "\n";
    for (const auto& r : p.cv) {
      int n = 0;
      for (int x : r.n) n = std::max(n, x);
      os << "| " << r.model << " | " << n << " |";
      for (double v : r.cv) os << " " << (std::isnan(v) ? std::string("–") : fmt(v)) << " |";
      os << "\n";
    }
  }
  if (!p.unfinished.empty()) {
    os << "\n## Unfinished tasks\n\n" << unfinished_line(p) << ". `cellot screen --resume` (or the shard's job) "
       << "runs them again.\n\n| task | state | message |\n|---|---|---|\n";
    for (const auto& u : p.unfinished) os << "| " << u.key << " | " << u.state << " | " << u.message << " |\n";
  }
  if (p.other) {
    const Coverage& cov = p.cov;
    os << "\n## Comparison with " << p.other->path << "\n\n" << plan_line(cov) << ". " << cov.compared
       << " tasks done in both stores, matched by key; " << cov.only_a.size() << " tasks only in " << s.path << ", "
       << cov.only_b.size() << " only in " << p.other->path << "; " << cov.done_a.size() << " done only in "
       << s.path << ", " << cov.done_b.size() << " done only in " << p.other->path << ".\n\n";
    os << "| metric | tasks | max abs diff | max rel diff | task (abs) |\n|---|---|---|---|---|\n";
    for (const auto& r : p.cmp)
      os << "| " << r.metric << " | " << r.n << " | " << fmt(r.max_abs) << " | " << fmt(r.max_rel) << " | "
         << (r.worst_abs_key.empty() ? "–" : r.worst_abs_key) << " |\n";
    auto list = [&](const std::string& title, const std::vector<std::string>& keys) {
      if (keys.empty()) return;
      os << "\n" << title << " (" << keys.size() << "):\n";
      for (std::size_t i = 0; i < std::min(keys.size(), kListed); ++i) os << "- " << keys[i] << "\n";
      if (keys.size() > kListed) os << "- ... and " << keys.size() - kListed << " more (csv lists all)\n";
    };
    list("Tasks only in " + s.path, cov.only_a);
    list("Tasks only in " + p.other->path, cov.only_b);
    list("Tasks done only in " + s.path, cov.done_a);
    list("Tasks done only in " + p.other->path, cov.done_b);
  }
  return os.str();
}

std::string render_csv(const Parts& p) {
  const Table& table = p.table;
  std::ostringstream os;
  os << "table,perturbation,model,metric,mean,sd,n,best,cv,max_abs_diff,max_rel_diff,worst_task,note\n";
  auto emit = [&](const char* name, const std::vector<Row>& rows) {
    for (const auto& r : rows)
      for (std::size_t k = 0; k < table.metrics.size(); ++k) {
        const Stat& st = r.stats[k];
        os << name << "," << csv_field(r.perturbation) << "," << csv_field(r.model) << ","
           << csv_field(table.metrics[k]) << "," << (st.n ? fmt(st.mean) : "") << "," << (st.n ? fmt(st.sd) : "") << ","
           << st.n << "," << (r.best[k] ? 1 : 0) << ",,,,,\n";
      }
  };
  emit("results", table.rows);
  emit("mean_over_perturbations", table.model_means);
  if (p.iid) emit("iid_mean_over_perturbations", p.iid_table.model_means);
  for (const auto& d : p.disc.scores)
    os << "discrimination," << csv_field(d.perturbation) << "," << csv_field(d.model) << ",discrimination,"
       << fmt(d.score) << ",," << d.candidates << ",,,,," << csv_field(d.perturbation + "|" + d.model + "|fold" +
                                                                       std::to_string(d.fold) + "|seed" +
                                                                       std::to_string(d.seed))
       << ",\n";
  for (std::size_t m = 0; m < p.disc.models.size(); ++m)
    if (p.disc.n[m] > 0)
      os << "discrimination_mean,," << csv_field(p.disc.models[m]) << ",discrimination," << fmt(p.disc.mean[m])
         << ",," << p.disc.n[m] << ",,,,,,\n";
  for (std::size_t m = 0; p.iid && m < p.disc_iid.models.size(); ++m)
    if (p.disc_iid.n[m] > 0)
      os << "iid_discrimination_mean,," << csv_field(p.disc_iid.models[m]) << ",discrimination,"
         << fmt(p.disc_iid.mean[m]) << ",," << p.disc_iid.n[m] << ",,,,,,\n";
  for (const auto& r : p.paired)
    os << "paired_vs_cellot,," << csv_field(r.model) << "," << csv_field(r.metric) << ",,,"
       << r.wins + r.ties + r.losses << ",,,,,," << csv_field("wins " + std::to_string(r.wins) + " ties " +
                                                              std::to_string(r.ties) + " losses " +
                                                              std::to_string(r.losses) + " sign-test p " +
                                                              fmt(r.p_value))
       << "\n";
  for (const auto& r : p.any_cv ? p.cv : std::vector<CvRow>{})
    for (std::size_t k = 0; k < table.metrics.size(); ++k)
      os << "cv,," << csv_field(r.model) << "," << csv_field(table.metrics[k]) << ",,," << r.n[k] << ",,"
         << (std::isnan(r.cv[k]) ? "" : fmt(r.cv[k])) << ",,,,\n";
  // Every task left out of the tables, with its state and message.
  for (const auto& u : p.unfinished)
    os << "unfinished," << csv_field(u.perturbation) << "," << csv_field(u.model) << ",,,,,,,,,"
       << csv_field(u.key) << "," << csv_field(u.state + (u.message.empty() ? "" : ": " + u.message)) << "\n";
  if (p.other) {
    const Coverage& cov = p.cov;
    os << "compare_plan,,,,,,,,,,,," << csv_field(plan_line(cov)) << "\n";
    for (const auto& r : p.cmp)
      os << "compare,,," << csv_field(r.metric) << ",,," << r.n << ",,," << fmt(r.max_abs) << "," << fmt(r.max_rel)
         << "," << csv_field(r.worst_abs_key) << ",\n";
    auto keys = [&](const std::vector<std::string>& v, const std::string& note) {
      for (const auto& k : v) os << "compare_unmatched,,,,,,,,,,,," << csv_field(k) << "," << csv_field(note) << "\n";
    };
    keys(cov.only_a, "only in " + p.s->path);
    keys(cov.only_b, "only in " + p.other->path);
    keys(cov.done_a, "done only in " + p.s->path);
    keys(cov.done_b, "done only in " + p.other->path);
  }
  return os.str();
}

std::string render_tex(const Parts& p) {
  const io::StoreSummary& s = *p.s;
  const Table& table = p.table;
  std::ostringstream os;
  const std::size_t M = table.metrics.size();
  auto begin_table = [&](const std::string& caption, const char* first, bool with_pert) {
    os << "\\begin{table}[ht]\n\\centering\n\\caption{" << caption << "}\n\\begin{tabular}{" << (with_pert ? "ll" : "l")
       << "r" << std::string(M, 'r') << "}\n\\toprule\n";
    os << first;
    if (with_pert) os << " & model";
    os << " & n";
    for (const auto& m : table.metrics) os << " & " << tex_escape(m);
    os << " \\\\\n\\midrule\n";
  };
  auto end_table = [&] { os << "\\bottomrule\n\\end{tabular}\n\\end{table}\n\n"; };
  auto rows_out = [&](const std::vector<Row>& rows) {
    std::string last;
    for (const auto& r : rows) {
      int n = 0;
      for (const auto& st : r.stats) n = std::max(n, st.n);
      os << (r.perturbation == last ? std::string() : tex_escape(r.perturbation)) << " & " << tex_escape(r.model)
         << " & " << n;
      for (std::size_t k = 0; k < M; ++k) os << " & " << tex_cell(r.stats[k], r.best[k]);
      os << " \\\\\n";
      last = r.perturbation;
    }
  };
  auto key_table = [&](const std::string& caption, const std::vector<std::pair<std::string, std::string>>& rows) {
    os << "\\begin{table}[ht]\n\\centering\n\\caption{" << caption << "}\n\\begin{tabular}{ll}\n\\toprule\n"
       << "task & note \\\\\n\\midrule\n";
    for (std::size_t i = 0; i < std::min(rows.size(), kListed); ++i)
      os << tex_escape(rows[i].first) << " & " << tex_escape(rows[i].second) << " \\\\\n";
    if (rows.size() > kListed) os << "\\multicolumn{2}{l}{... and " << rows.size() - kListed << " more} \\\\\n";
    end_table();
  };
  os << "% cellot report: " << tex_escape(s.path) << ", plan " << s.spec.plan_hash << "\n";
  if (!p.unfinished.empty()) os << "% WARNING: " << unfinished_line(p) << "\n";
  if (p.other) os << "% compared with " << tex_escape(p.other->path) << ": " << plan_line(p.cov) << "\n";
  os << "% requires \\usepackage{booktabs}\n";
  begin_table("Mean $\\pm$ sd over seeds and folds where n $\\geq$ 2, else one value ([lo, hi]: 95\\% bootstrap "
              "interval over cells); bold: best per perturbation (observed not ranked).",
              "perturbation",
              true);
  rows_out(table.rows);
  end_table();
  begin_table("Mean over perturbations; bold: best.", "over", true);
  rows_out(table.model_means);
  end_table();
  if (p.any_cv) {
    os << "\\begin{table}[ht]\n\\centering\n\\caption{Coefficient of variation across seeds.}\n\\begin{tabular}{lr"
       << std::string(M, 'r') << "}\n\\toprule\nmodel & n";
    for (const auto& m : table.metrics) os << " & " << tex_escape(m);
    os << " \\\\\n\\midrule\n";
    for (const auto& r : p.cv) {
      int n = 0;
      for (int x : r.n) n = std::max(n, x);
      os << tex_escape(r.model) << " & " << n;
      for (double v : r.cv) os << " & " << (std::isnan(v) ? std::string("--") : fmt(v));
      os << " \\\\\n";
    }
    end_table();
  }
  if (p.disc.available) {
    os << "\\begin{table}[ht]\n\\centering\n\\caption{Discrimination: normalised rank of the right perturbation "
          "by distance of effects (0 = nearest, 0.5 = chance).}\n\\begin{tabular}{lrr}\n\\toprule\nmodel & n & mean "
          "\\\\\n\\midrule\n";
    for (std::size_t m = 0; m < p.disc.models.size(); ++m)
      os << tex_escape(p.disc.models[m]) << " & " << p.disc.n[m] << " & "
         << (p.disc.n[m] ? fmt(p.disc.mean[m]) : std::string("--")) << " \\\\\n";
    end_table();
  }
  if (!p.paired.empty()) {
    os << "\\begin{table}[ht]\n\\centering\n\\caption{Paired comparisons against cellot across perturbations "
          "(two-sided exact sign test, ties dropped).}\n\\begin{tabular}{llrrrr}\n\\toprule\nmetric & model & wins & "
          "ties & losses & p \\\\\n\\midrule\n";
    for (const auto& r : p.paired)
      os << tex_escape(r.metric) << " & " << tex_escape(r.model) << " & " << r.wins << " & " << r.ties << " & "
         << r.losses << " & " << (std::isnan(r.p_value) ? std::string("--") : fmt(r.p_value)) << " \\\\\n";
    end_table();
  }
  if (!p.unfinished.empty()) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& u : p.unfinished) rows.emplace_back(u.key, u.state + (u.message.empty() ? "" : ": " + u.message));
    key_table("Unfinished tasks: " + unfinished_line(p) + ".", rows);
  }
  if (p.other) {
    const Coverage& cov = p.cov;
    os << "\\begin{table}[ht]\n\\centering\n\\caption{Largest differences between matching tasks of two stores ("
       << tex_escape(plan_line(cov)) << "; " << cov.compared << " tasks done in both).}\n"
       << "\\begin{tabular}{lrrr}\n\\toprule\nmetric & tasks & max abs & max rel \\\\\n\\midrule\n";
    for (const auto& r : p.cmp)
      os << tex_escape(r.metric) << " & " << r.n << " & " << fmt(r.max_abs) << " & " << fmt(r.max_rel) << " \\\\\n";
    end_table();
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& k : cov.only_a) rows.emplace_back(k, "only in " + s.path);
    for (const auto& k : cov.only_b) rows.emplace_back(k, "only in " + p.other->path);
    for (const auto& k : cov.done_a) rows.emplace_back(k, "done only in " + s.path);
    for (const auto& k : cov.done_b) rows.emplace_back(k, "done only in " + p.other->path);
    if (!rows.empty()) key_table("Tasks the comparison could not match.", rows);
  }
  return os.str();
}

}  // namespace

std::string render(const std::string& format, const io::StoreSummary& s, const std::vector<std::string>& metrics,
                   const io::StoreSummary* other) {
  if (format != "md" && format != "csv" && format != "tex")
    throw InputError("command line", "--format", format, "must be one of md|csv|tex");
  Parts p;
  p.s = &s;
  p.table = summarize(s, metrics);
  p.cv = reproducibility(s, metrics);
  p.counts = count(s);
  p.unfinished = unfinished(s);
  p.other = other;
  for (const auto& r : p.cv)
    for (const int n : r.n) p.any_cv = p.any_cv || n > 0;
  p.disc = discrimination(s);
  p.paired = paired_comparisons(p.table);
  p.iid = s.spec.iid;
  if (p.iid) {
    std::vector<std::string> iid_names;
    for (const auto& m : metrics) iid_names.push_back(m.rfind("iid:", 0) == 0 ? m : "iid:" + m);
    p.iid_table = summarize(s, iid_names);
    p.disc_iid = discrimination(s, true);
  }
  if (other) {
    p.cmp = compare(s, *other, metrics);
    p.cov = coverage(s, *other);
  }
  if (format == "md") return render_md(p);
  if (format == "csv") return render_csv(p);
  return render_tex(p);
}

}  // namespace cellot::report
