#include "cellot/data/embedding.hpp"

#include <algorithm>
#include <climits>
#include <exception>

#include "cellot/core/error.hpp"

namespace cellot::data {

std::vector<std::int64_t> training_rows(const Dataset& ds, std::uint64_t split_seed) {
  std::vector<std::string> conditions{ds.config().control};
  for (const auto& p : ds.perturbations()) conditions.push_back(p);
  std::vector<std::int64_t> rows;
  for (const auto& c : conditions) {
    const auto all = ds.rows_of(c);
    for (std::int64_t i : ds.split_of(c, split_seed).train) rows.push_back(all[static_cast<std::size_t>(i)]);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

FeatureTransform fit_on_training_split(const Dataset& ds, std::uint64_t split_seed, MPI_Comm comm,
                                       const ParallelFor& parallel) {
  const DataConfig& cfg = ds.config();
  const auto rows = fit_sample(training_rows(ds, split_seed));
  if (cfg.embedding.rfind("pca:", 0) == 0) {
    const auto n = static_cast<std::int64_t>(rows.size());
    if (n < 2) throw InputError(cfg.path, "data.embedding", cfg.embedding, "fewer than 2 training cells to fit the transform on");
    const RowBlockLoader load = [&](std::int64_t first, std::int64_t last) {
      return ds.load_rows(std::vector<std::int64_t>(rows.begin() + first, rows.begin() + last));
    };
    return pca_transform(cfg, fit_pca_blocks(n, ds.n_vars(), std::stoi(cfg.embedding.substr(4)), load, comm, {}, parallel));
  }
  const Matrix x = ds.load_rows(rows);
  if (cfg.embedding.rfind("obsm:", 0) == 0) {
    const std::string key = cfg.embedding.substr(5);
    if (!ds.reader().has_obsm(key)) {
      std::string have;
      for (const auto& k : ds.reader().obsm_keys()) have += (have.empty() ? "" : ", ") + k;
      throw InputError(cfg.path, "data.embedding", cfg.embedding, "no such obsm key (have: " + (have.empty() ? "none" : have) + ")");
    }
    const Matrix e = ds.reader().read_obsm_rows(key, rows);
    return fit_transform(cfg, x, &e);
  }
  return fit_transform(cfg, x, nullptr);
}

Matrix load_embedded(const Dataset& ds, const FeatureTransform& t, const std::vector<std::int64_t>& rows) {
  if (t.from_obsm()) return ds.reader().read_obsm_rows(t.obsm_key(), rows);
  if (!t.embeds()) return ds.load_rows(rows);
  // Blocks of at most 2^21 values (16 MiB of dense rows): the allocator reuses one block's
  // memory for the next instead of mapping fresh pages for each.
  const std::size_t kBlock = std::max<std::size_t>(1, (std::size_t{1} << 21) / static_cast<std::size_t>(std::max<std::int64_t>(1, t.input_dim())));
  Matrix out(static_cast<std::int64_t>(rows.size()), t.dim());
  for (std::size_t b = 0; b < rows.size(); b += kBlock) {
    const std::vector<std::int64_t> block(rows.begin() + static_cast<std::ptrdiff_t>(b),
                                          rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), b + kBlock)));
    const Matrix e = t.embed(ds.load_rows(block));
    std::copy(e.data.begin(), e.data.end(), out.data.begin() + static_cast<std::ptrdiff_t>(b) * t.dim());
  }
  return out;
}

Matrix embed_together(const Dataset& ds, const FeatureTransform& t, const std::vector<std::int64_t>& rows, MPI_Comm comm,
                      std::int64_t* read_rows) {
  CELLOT_CHECK(t.embeds() && !t.from_obsm(), "embed_together: the transform must embed the file's rows");
  int rank = 0, size = 1;
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  const std::int64_t k = t.dim(), blocks = (n + kEmbedBlockRows - 1) / kEmbedBlockRows;
  // One MPI_Allgatherv counts in int: past that the exchange (and each rank's copy, 8 bytes a
  // value) is beyond what this path is built for. Every rank decides alike, before any read.
  if (n * k > INT_MAX)
    throw RuntimeError(ds.config().path + ": " + std::to_string(n) + " control cells x " + std::to_string(k) +
                       " dimensions exceed one exchange of the embedded controls (2^31 - 1 values); subsample the "
                       "control cells in the file or use a smaller embedding");
  // Rank r: blocks [blocks r / size, blocks (r + 1) / size), i.e. rows [first(r), first(r + 1)).
  auto first = [&](int r) { return std::min(n, blocks * r / size * kEmbedBlockRows); };
  Matrix out(n, k);
  const std::int64_t lo = first(rank), hi = first(rank + 1);
  std::exception_ptr failure;
  try {
    for (std::int64_t b = lo; b < hi; b += kEmbedBlockRows) {
      const std::int64_t e = std::min(hi, b + kEmbedBlockRows);
      const Matrix x = t.embed(ds.load_rows(std::vector<std::int64_t>(rows.begin() + b, rows.begin() + e)));
      std::copy(x.data.begin(), x.data.end(), out.data.begin() + b * k);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (read_rows) *read_rows = hi - lo;
  if (size == 1) {
    if (failure) std::rethrow_exception(failure);
    return out;
  }
  // The ranks agree on a failed read before the exchange, so all throw together.
  int failed = failure ? rank : size;
  // Bound: every rank reaches this right after a finite read of its share, also when it failed.
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, comm);
  if (failure) std::rethrow_exception(failure);
  if (failed < size)
    throw InputError("the cells could not be read on rank " + std::to_string(failed) + " (see its error)");
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r) {
    displs[static_cast<std::size_t>(r)] = static_cast<int>(first(r) * k);
    counts[static_cast<std::size_t>(r)] = static_cast<int>((first(r + 1) - first(r)) * k);
  }
  // Bound: every rank of comm calls this with the same rows (a screen's split, all ranks at once)
  // after a finite read of its share.
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out.data.data(), counts.data(), displs.data(), MPI_DOUBLE, comm);
  return out;
}

}  // namespace cellot::data
