// Helper for the PCA cross-check (pca_crosscheck.sh): fits data::fit_pca_blocks on every row of X
// of an .h5ad over the ranks it is started with (each rank reading only its blocks, with the
// rank's threads), and rank 0 prints the fit as text for numpy/scikit-learn to compare:
//   n d k / total_variance / mean (d values) / variance (k values) / k rows of components.
// Usage: [mpiexec -n R] pca_tool DATA.h5ad K [THREADS [POWER_ITERS]]
#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/runtime.hpp"
#include "cellot/data/pca.hpp"
#include "cellot/io/h5ad.hpp"
#include "cellot/nn/threads.hpp"

using namespace cellot;

int main(int argc, char** argv) {
  Runtime rt(argc, argv);
  if (argc < 3) {
    std::cerr << "usage: pca_tool DATA.h5ad K [THREADS]\n";
    return 2;
  }
  try {
    nn::set_threads(argc > 3 ? std::stoi(argv[3]) : 1);
    const io::H5adReader reader(argv[1]);
    const int k = std::stoi(argv[2]);
    const data::RowBlockLoader load = [&](std::int64_t first, std::int64_t last) {
      std::vector<std::int64_t> rows;
      for (std::int64_t i = first; i < last; ++i) rows.push_back(i);
      return reader.read_rows(rows);
    };
    data::PcaOptions options;
    if (argc > 4) options.power_iters = std::stoi(argv[4]);
    const data::Pca p =
        data::fit_pca_blocks(reader.n_obs(), reader.n_vars(), k, load, MPI_COMM_WORLD, options, nn::parallel_for);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0) return 0;
    std::printf("%lld %lld %d\n%.17g\n", static_cast<long long>(p.cells), static_cast<long long>(p.mean.size()), k,
                p.total_variance);
    const auto line = [](const double* v, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i) std::printf(i ? " %.17g" : "%.17g", v[i]);
      std::printf("\n");
    };
    line(p.mean.data(), static_cast<std::int64_t>(p.mean.size()));
    line(p.variance.data(), k);
    for (std::int64_t c = 0; c < k; ++c) line(p.components.row(c), p.components.cols);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  return 0;
}
