// Marker features by |standardised mean difference| (per-feature moments are Kokkos kernels).
#include "cellot/metrics/markers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "cellot/core/error.hpp"
#include "detail/distributed.hpp"
#include "detail/moments.hpp"

namespace cellot::metrics {

namespace {

std::vector<double> smd_of(const detail::Moments& mc, const detail::Moments& mt) {
  if (mc.mean.size() != mt.mean.size())
    throw InputError("metrics", "markers", std::to_string(mc.mean.size()) + " vs " + std::to_string(mt.mean.size()),
                     "control and treated cells have different features");
  std::vector<double> smd(mc.mean.size());
  for (std::size_t k = 0; k < smd.size(); ++k) {
    const double diff = mt.mean[k] - mc.mean[k];
    const double pooled = std::sqrt(0.5 * (mt.sd[k] * mt.sd[k] + mc.sd[k] * mc.sd[k]));
    if (pooled > 0) smd[k] = diff / pooled;
    else smd[k] = diff == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
  }
  return smd;
}

std::vector<std::int64_t> by_abs_smd(const std::vector<double>& smd) {
  std::vector<std::int64_t> order(smd.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return std::fabs(smd[static_cast<std::size_t>(a)]) > std::fabs(smd[static_cast<std::size_t>(b)]);
  });
  return order;
}

}  // namespace

std::vector<double> standardised_mean_difference(const Matrix& control, const Matrix& treated, MPI_Comm comm,
                                                 Layout layout) {
  const Matrix c = detail::arrange(control, comm, layout, "markers: control");
  const Matrix t = detail::arrange(treated, comm, layout, "markers: treated");
  if (c.rows == 0 || t.rows == 0)
    throw InputError("metrics", "markers", std::to_string(c.rows) + " control, " + std::to_string(t.rows) + " treated",
                     "markers need training cells of both conditions");
  if (c.cols != t.cols)
    throw InputError("metrics", "markers", std::to_string(c.cols) + " vs " + std::to_string(t.cols),
                     "control and treated cells have different features");
  return smd_of(detail::feature_moments(c), detail::feature_moments(t));
}

std::vector<std::int64_t> rank_markers(const Matrix& control, const Matrix& treated, MPI_Comm comm, Layout layout) {
  return by_abs_smd(standardised_mean_difference(control, treated, comm, layout));
}

FeatureMoments feature_moments(const Matrix& cells) {
  auto m = detail::feature_moments(cells);
  return FeatureMoments{std::move(m.mean), std::move(m.sd)};
}

std::vector<std::int64_t> rank_markers(const FeatureMoments& control, const Matrix& treated) {
  if (control.mean.empty() || treated.rows == 0)
    throw InputError("metrics", "markers", std::to_string(control.mean.empty() ? 0 : 1) + " control moments, " +
                         std::to_string(treated.rows) + " treated",
                     "markers need training cells of both conditions");
  return by_abs_smd(smd_of(detail::Moments{control.mean, control.sd}, detail::feature_moments(treated)));
}

std::vector<double> feature_means(const Matrix& cells) { return detail::feature_moments(cells).mean; }

namespace {

// Columns `cols` of every row.
Matrix columns(const Matrix& m, const std::vector<std::int64_t>& cols) {
  Matrix out(m.rows, static_cast<std::int64_t>(cols.size()));
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < cols.size(); ++j) out(i, static_cast<std::int64_t>(j)) = m(i, cols[j]);
  return out;
}

}  // namespace

std::vector<Value> compute_on_markers(const Input& genes, const Options& opts) {
  if (genes.predicted == nullptr || genes.observed == nullptr || genes.markers == nullptr)
    throw InputError("metrics", "marker genes", "", "need predicted and observed gene-space cells and markers");
  const std::int64_t d = genes.predicted->cols;
  // The k of the names, in first-appearance order, with the compute() names of each.
  std::vector<std::string> ks;
  std::vector<std::vector<std::string>> base_names;
  for (const auto& name : opts.names) {
    const std::string g = kGenesPrefix;
    if (name.rfind(g, 0) != 0) throw InputError("metrics", "marker genes", name, "is not a genes: metric");
    const auto [base, k] = split_name(name.substr(g.size()));
    if (k.empty() || std::find(marker_metric_bases().begin(), marker_metric_bases().end(), base) ==
                         marker_metric_bases().end())
      throw InputError("metrics", "marker genes", name, "is not a genes: metric");
    auto it = std::find(ks.begin(), ks.end(), k);
    if (it == ks.end()) {
      ks.push_back(k);
      base_names.emplace_back();
      it = ks.end() - 1;
    }
    auto& bn = base_names[static_cast<std::size_t>(it - ks.begin())];
    bn.push_back(base == "direction_acc" ? base + "@" + k : base);
  }
  std::map<std::string, Value> by_name;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    const std::int64_t k = std::stoll(ks[i]);
    if (k < 1 || k > d || static_cast<std::int64_t>(genes.markers->size()) != d) {
      for (const auto& b : base_names[i]) {
        Value v;
        v.name = std::string(kGenesPrefix) + split_name(b).first + "@" + ks[i];
        v.value = v.sd = std::numeric_limits<double>::quiet_NaN();
        v.available = false;
        by_name[v.name] = v;
      }
      continue;
    }
    const std::vector<std::int64_t> top(genes.markers->begin(), genes.markers->begin() + k);
    const Matrix p = columns(*genes.predicted, top), o = columns(*genes.observed, top);
    Matrix c;
    std::vector<double> cm;
    Input sub;
    sub.predicted = &p;
    sub.observed = &o;
    sub.paired = genes.paired;
    if (genes.control != nullptr && genes.control->rows > 0) {
      c = columns(*genes.control, top);
      sub.control = &c;
    }
    if (genes.control_mean != nullptr) {
      for (const auto j : top) cm.push_back((*genes.control_mean)[static_cast<std::size_t>(j)]);
      sub.control_mean = &cm;
    }
    std::vector<std::int64_t> identity(static_cast<std::size_t>(k));
    std::iota(identity.begin(), identity.end(), 0);
    sub.markers = &identity;
    Options o_k = opts;
    o_k.names = base_names[i];
    for (auto v : compute(sub, o_k)) {
      v.name = std::string(kGenesPrefix) + split_name(v.name).first + "@" + ks[i];
      by_name[v.name] = v;
    }
  }
  std::vector<Value> out;
  for (const auto& name : opts.names) out.push_back(by_name.at(name));
  return out;
}

std::vector<double> mean_change(const Matrix& cells, const std::vector<double>& reference) {
  auto m = feature_means(cells);
  if (m.size() != reference.size())
    throw InputError("metrics", "mean change", std::to_string(reference.size()) + " reference values",
                     "needs one per feature (" + std::to_string(m.size()) + ")");
  for (std::size_t k = 0; k < m.size(); ++k) m[k] -= reference[k];
  return m;
}

}  // namespace cellot::metrics
