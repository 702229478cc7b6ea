#include "detail/split_controls.hpp"

#include <chrono>
#include <ctime>
#include <exception>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/embedding.hpp"

namespace cellot::screen::detail {

std::vector<std::int64_t> pick_rows(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& idx) {
  std::vector<std::int64_t> out;
  out.reserve(idx.size());
  for (const auto i : idx) out.push_back(rows[static_cast<std::size_t>(i)]);
  return out;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

std::string thousands(std::int64_t n) {
  std::string s = std::to_string(n);
  for (auto i = static_cast<std::ptrdiff_t>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// One split's gene-space control statistics, computed by this rank alone (as a task would: the
// fit sample of the control training cells, the control test and iid cells, in file order).
struct GeneStats {
  SplitControls values;
  std::int64_t cells = 0;
  double wall = 0;
  std::exception_ptr failure;
};

void compute_gene_stats(const data::Dataset& ds, std::uint64_t seed, bool iid, GeneStats& g) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const std::string& control = ds.config().control;
    const auto rows = ds.rows_of(control);
    const data::Split split = ds.split_of(control, seed);
    const auto sample = data::fit_sample(pick_rows(rows, split.train));
    g.values.marker_moments = metrics::feature_moments(ds.load_rows(sample));
    g.cells = static_cast<std::int64_t>(sample.size() + split.test.size());
    if (!split.test.empty()) g.values.test_mean = metrics::feature_means(ds.load_rows(pick_rows(rows, split.test)));
    if (iid && !split.iid.empty()) {
      g.values.iid_mean = metrics::feature_means(ds.load_rows(pick_rows(rows, split.iid)));
      g.cells += static_cast<std::int64_t>(split.iid.size());
    }
  } catch (...) {
    g.failure = std::current_exception();
  }
  g.wall = seconds_since(t0);
}

void bcast_vector(std::vector<double>& v, int root, MPI_Comm comm) {
  std::int64_t n = static_cast<std::int64_t>(v.size());
  // Bound: the owner broadcasts right after its agreed, finite computation.
  MPI_Bcast(&n, 1, MPI_INT64_T, root, comm);
  v.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(v.data(), static_cast<int>(n), MPI_DOUBLE, root, comm);  // Bound: as above
}

// The owner's statistics on every rank; an owner's error is thrown on every rank.
void share_gene_stats(GeneStats& g, int owner, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int failed = rank == owner && g.failure ? 1 : 0;
  // Bound: every rank reaches this per split, in plan order, after finite work (also when it failed).
  MPI_Bcast(&failed, 1, MPI_INT, owner, comm);
  if (failed) {
    if (rank == owner) std::rethrow_exception(g.failure);
    throw InputError("the control cells' gene statistics could not be computed on rank " + std::to_string(owner) +
                     " (see its error)");
  }
  bcast_vector(g.values.marker_moments.mean, owner, comm);
  bcast_vector(g.values.marker_moments.sd, owner, comm);
  bcast_vector(g.values.test_mean, owner, comm);
  bcast_vector(g.values.iid_mean, owner, comm);
  double meta[2] = {static_cast<double>(g.cells), g.wall};
  // Bound: as above.
  MPI_Bcast(meta, 2, MPI_DOUBLE, owner, comm);
  g.cells = static_cast<std::int64_t>(meta[0]);
  g.wall = meta[1];
  g.values.genes = true;
}

}  // namespace

SplitControlsMap prepare_split_controls(const Config& cfg, const Plan& plan, const Transforms& transforms,
                                        DataCache& cache, bool genes, bool iid, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  struct Item {
    int fold;
    std::uint64_t seed;
    std::string key;
  };
  std::vector<Item> items;
  for (int fold : plan.folds)
    for (auto seed : plan.seeds) {
      const std::string key = transform_key(fold, seed);
      if (transforms.at(key).embeds()) items.push_back({fold, seed, key});
    }
  // Each rank first computes the statistics of the splits it owns (no communication).
  std::vector<GeneStats> stats(items.size());
  if (genes)
    for (std::size_t s = 0; s < items.size(); ++s)
      if (static_cast<int>(s % static_cast<std::size_t>(size)) == rank)
        compute_gene_stats(cache.get(items[s].fold), split_seed(cfg, items[s].fold, items[s].seed), iid, stats[s]);
  SplitControlsMap out;
  std::int64_t read_here = 0;
  for (std::size_t s = 0; s < items.size(); ++s) {
    const Item& it = items[s];
    const data::Dataset& ds = cache.get(it.fold);
    const data::FeatureTransform& t = transforms.at(it.key);
    SplitControls sc;
    const auto t0 = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    std::int64_t mine = 0, n_control = 0;
    if (!t.from_obsm()) {
      const auto rows = ds.rows_of(cfg.data.control);
      n_control = static_cast<std::int64_t>(rows.size());
      sc.embedded = data::embed_together(ds, t, rows, comm, &mine);
      read_here += mine;
    }
    cpu = cpu_seconds() - cpu;
    // Bound: every rank is past the agreed collective embedding above; one double each.
    MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPI_DOUBLE, MPI_SUM, comm);
    const double wall = seconds_since(t0);
    const int owner = static_cast<int>(s % static_cast<std::size_t>(size));
    if (genes) {
      share_gene_stats(stats[s], owner, comm);
      sc.genes = true;
      sc.marker_moments = std::move(stats[s].values.marker_moments);
      sc.test_mean = std::move(stats[s].values.test_mean);
      sc.iid_mean = std::move(stats[s].values.iid_mean);
    }
    std::string what;
    if (n_control > 0)
      what = "the " + thousands(n_control) + " control cells embedded once for the screen by " + std::to_string(size) +
             " rank(s) in " + log::format_duration(wall) + " (CPU " + log::format_duration(cpu) + " over " +
             std::to_string(size) + " rank(s))";
    if (genes)
      what += std::string(what.empty() ? "" : "; ") + "gene statistics of " + thousands(stats[s].cells) +
              " control cells on rank " + std::to_string(owner) + " in " + log::format_duration(stats[s].wall);
    if (!what.empty()) log::root_info("screen: " + it.key + ": " + what);
    out.emplace(it.key, std::move(sc));
  }
  log::debug("screen: rank " + std::to_string(rank) + " read " + std::to_string(read_here) +
             " control rows to embed the splits' controls");
  return out;
}

}  // namespace cellot::screen::detail
