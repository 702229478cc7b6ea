// Helper for the metrics cross-checks: reads .npy fixtures (float64, C order) written by
// metrics_crosscheck.py and prints our values as one JSON object. Usage:
//   metrics_tool mmd X Y | energy X Y | sinkhorn X Y EPS TOL MAXITER [CACHE_BYTES]
//   | div X Y EPS TOL MAXITER
//   | knn X Y K1,K2,... | spearman CONTROL PRED | compute X Y NAMES [TOL MAXITER]
// compute prints {name: value, ..., "sinkhorn": {name: {iterations, converged, error}}} (the
// Sinkhorn metrics' stopping report; TOL / MAXITER are metrics.sinkhorn_tol / _max_iter).
//   metrics_tool changes PRED OBS CONTROL TRAIN_CONTROL TRAIN_TREATED TOPK prints the
// expression-change metrics (markers ranked on the training sets, changes from CONTROL's mean)
// with the SMD vector and the marker order, and the genes: metrics of PRED on the top-k markers.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cellot/models/kinds.hpp"
#include "cellot/core/config.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"

namespace {

cellot::Matrix read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[8];
  in.read(magic, 8);
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0 || magic[6] != 1) throw std::runtime_error(path + ": need .npy v1");
  unsigned char len[2];
  in.read(reinterpret_cast<char*>(len), 2);
  std::string header(static_cast<std::size_t>(len[0] | (len[1] << 8)), ' ');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  if (header.find("'<f8'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path + ": need float64 C order");
  const auto lp = header.find('('), comma = header.find(',', lp), rp = header.find(')', lp);
  cellot::Matrix m(std::stol(header.substr(lp + 1, comma - lp - 1)), std::stol(header.substr(comma + 1, rp - comma - 1)));
  in.read(reinterpret_cast<char*>(m.data.data()), static_cast<std::streamsize>(m.data.size() * sizeof(double)));
  if (!in) throw std::runtime_error(path + ": truncated");
  return m;
}

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  cellot::Runtime rt(argc, argv);
  cellot::metrics::KokkosScope kokkos;
  if (argc < 4) {
    std::cerr << "usage: metrics_tool CMD A.npy B.npy [ARGS]\n";
    return 2;
  }
  const std::string cmd = argv[1];
  const cellot::Matrix a = read_npy(argv[2]), b = read_npy(argv[3]);
  const std::vector<double> gammas{2, 1, 0.5, 0.1, 0.01, 0.005};
  namespace m = cellot::metrics;
  std::string out;
  if (cmd == "mmd") {
    out = "{\"mmd\": " + num(m::mmd_rbf(a, b, gammas, MPI_COMM_SELF)) + "}";
  } else if (cmd == "energy") {
    out = "{\"energy\": " + num(m::energy_distance(a, b, MPI_COMM_SELF)) + "}";
  } else if (cmd == "sinkhorn" && (argc == 7 || argc == 8)) {
    const std::int64_t cache = argc == 8 ? std::stoll(argv[7]) : m::kSinkhornCacheBytes;
    const auto r = m::sinkhorn(a, b, std::stod(argv[4]), std::stod(argv[5]), std::stoi(argv[6]), MPI_COMM_SELF,
                               nullptr, nullptr, cache);
    out = "{\"cost\": " + num(r.cost) + ", \"objective\": " + num(r.objective) +
          ", \"iterations\": " + std::to_string(r.iterations) + ", \"storage\": \"" + r.storage + "\"}";
  } else if (cmd == "div" && argc == 7) {
    out = "{\"div\": " +
          num(m::sinkhorn_divergence(a, b, std::stod(argv[4]), std::stod(argv[5]), std::stoi(argv[6]), MPI_COMM_SELF)) +
          "}";
  } else if (cmd == "knn" && argc == 5) {
    const auto ks = cellot::parse_int_list(argv[4], "command line", "k");
    out = "{";
    for (std::size_t t = 0; t < ks.size(); ++t) {
      const auto per_cell = m::knn_mix_per_cell(a, b, ks[t], MPI_COMM_SELF);
      double s = 0;
      for (const double v : per_cell) s += v;
      out += (t ? ", \"" : "\"") + std::to_string(ks[t]) + "\": " + num(s / static_cast<double>(per_cell.size()));
    }
    out += "}";
  } else if (cmd == "spearman") {
    const auto rho = m::spearman_per_cell(a, b);
    out = "{\"rho\": [";
    for (std::size_t i = 0; i < rho.size(); ++i) out += (i ? ", " : "") + num(rho[i]);
    out += "]}";
  } else if (cmd == "changes" && argc == 8) {
    const cellot::Matrix ctrl = read_npy(argv[4]), train_c = read_npy(argv[5]), train_t = read_npy(argv[6]);
    const auto smd = m::standardised_mean_difference(train_c, train_t);
    const auto markers = m::rank_markers(train_c, train_t);
    cellot::MetricsConfig cfg;
    cfg.names = "pearson_delta,r2_means,direction_acc,e_distance";
    for (const int k : cellot::parse_int_list(argv[7], "command line", "top_k")) cfg.names += ",pearson_delta@" + std::to_string(k);
    cfg.top_k = argv[7];
    m::Input in;
    in.predicted = &a;
    in.observed = &b;
    in.control = &ctrl;
    in.markers = &markers;
    out = "{";
    for (const auto& v : m::compute(in, m::options_from_config(cfg, MPI_COMM_SELF, 0)))
      out += "\"" + v.name + "\": " + num(v.value) + ", ";
    // The genes: metrics (an embedding's decoded predictions on the marker genes), here on the
    // same gene-space matrices.
    auto go = m::options_from_config(cfg, MPI_COMM_SELF, 0);
    go.names = m::marker_metric_names({"pearson_delta", "direction_acc", "r2_means", "e_distance", "energy"},
                                      cellot::parse_int_list(argv[7], "command line", "top_k"));
    for (const auto& v : m::compute_on_markers(in, go)) out += "\"" + v.name + "\": " + num(v.value) + ", ";
    out += "\"smd\": [";
    for (std::size_t k = 0; k < smd.size(); ++k) out += (k ? ", " : "") + num(smd[k]);
    out += "], \"markers\": [";
    for (std::size_t k = 0; k < markers.size(); ++k) out += (k ? ", " : "") + std::to_string(markers[k]);
    out += "]}";
  } else if (cmd == "compute" && (argc == 5 || argc == 7)) {
    cellot::MetricsConfig cfg;
    cfg.names = argv[4];
    if (argc == 7) {
      cfg.sinkhorn_tol = std::stod(argv[5]);
      cfg.sinkhorn_max_iter = std::stoi(argv[6]);
    }
    const auto opts = m::options_from_config(cfg, MPI_COMM_SELF, 0);
    m::Input in;
    in.predicted = &a;
    in.observed = &b;
    out = "{";
    std::string sinkhorn;
    for (const auto& v : m::compute(in, opts)) {
      out += "\"" + v.name + "\": " + num(v.value) + ", ";
      if (m::is_sinkhorn_metric(v.name))
        sinkhorn += std::string(sinkhorn.empty() ? "" : ", ") + "\"" + v.name + "\": {\"iterations\": " +
                    std::to_string(v.iterations) + ", \"converged\": " + (v.converged ? "true" : "false") +
                    ", \"error\": " + num(v.marginal_error) + "}";
    }
    out += "\"sinkhorn\": {" + sinkhorn + "}}";
  } else {
    std::cerr << "unknown command or arguments: " << cmd << "\n";
    return 2;
  }
  std::cout << out << std::endl;
  return 0;
}
