// Metric kernels on cell sets read from .npy files (float64, C order, 2-D), so that the driver
// (bench/metrics.sh) can time scikit-learn and POT on exactly the same data. Prints one JSON
// object per run on stdout; "seconds" is the best of --reps runs (the driver runs the references
// best-of the same number). Usage:
//   bench_metrics --x X.npy --y Y.npy --metric mmd|w2_eps|energy [--eps E] [--tol T]
//                 [--max-iter N] [--reps R] [--cache-mb MB] [--gammas G1,G2,...]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cellot/models/kinds.hpp"
#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/metrics/kokkos_scope.hpp"
#include "cellot/metrics/metrics.hpp"

namespace {

cellot::Matrix read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[6];
  in.read(magic, 6);
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + ": not a .npy file");
  unsigned char ver[2];
  in.read(reinterpret_cast<char*>(ver), 2);
  std::uint32_t hlen = 0;
  if (ver[0] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  }
  std::string header(hlen, ' ');
  in.read(header.data(), hlen);
  if (header.find("'<f8'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path + ": need float64 C-order data, header " + header);
  const auto lp = header.find('('), comma = header.find(',', lp), rp = header.find(')', lp);
  const long rows = std::stol(header.substr(lp + 1, comma - lp - 1));
  const long cols = std::stol(header.substr(comma + 1, rp - comma - 1));
  cellot::Matrix m(rows, cols);
  in.read(reinterpret_cast<char*>(m.data.data()), static_cast<std::streamsize>(m.data.size() * sizeof(double)));
  if (!in) throw std::runtime_error(path + ": truncated");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  cellot::Runtime rt(argc, argv);
  cellot::metrics::KokkosScope kokkos;
  std::string xpath, ypath, metric = "mmd";
  double eps = 0.5, tol = 1e-9;
  int max_iter = 100000, reps = 1;
  std::int64_t cache_bytes = cellot::metrics::kSinkhornCacheBytes;
  std::vector<double> gammas{2, 1, 0.5, 0.1, 0.01, 0.005};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--x") xpath = v;
    else if (k == "--y") ypath = v;
    else if (k == "--metric") metric = v;
    else if (k == "--eps") eps = std::stod(v);
    else if (k == "--tol") tol = std::stod(v);
    else if (k == "--max-iter") max_iter = std::stoi(v);
    else if (k == "--reps") reps = std::stoi(v);
    else if (k == "--cache-mb") cache_bytes = std::stoll(v) << 20;
    else if (k == "--gammas") gammas = cellot::parse_double_list(v, "command line", "--gammas");
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  const cellot::Matrix x = read_npy(xpath), y = read_npy(ypath);
  double best = 1e300, value = 0;
  int iterations = 0;
  std::string storage = "-";
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (metric == "mmd") {
      value = cellot::metrics::mmd_rbf(x, y, gammas, MPI_COMM_WORLD);
    } else if (metric == "energy") {
      value = cellot::metrics::energy_distance(x, y, MPI_COMM_WORLD);
    } else if (metric == "w2_eps") {
      const auto res = cellot::metrics::sinkhorn(x, y, eps, tol, max_iter, MPI_COMM_WORLD, nullptr, nullptr, cache_bytes);
      storage = res.storage;
      value = res.cost;
      iterations = res.iterations;
    } else {
      std::cerr << "unknown metric " << metric << "\n";
      return 2;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best) best = s;
  }
  if (rt.world_rank() == 0)
    std::printf("{\"impl\": \"cellot\", \"metric\": \"%s\", \"n\": %lld, \"m\": %lld, \"d\": %lld, \"seconds\": %.6f, "
                "\"reps\": %d, \"value\": %.17g, \"iterations\": %d, \"storage\": \"%s\", \"ranks\": %d}\n",
                metric.c_str(), static_cast<long long>(x.rows), static_cast<long long>(y.rows),
                static_cast<long long>(x.cols), best, reps, value, iterations, storage.c_str(), rt.world_size());
  return 0;
}
