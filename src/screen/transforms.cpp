#include "cellot/screen/transforms.hpp"

#include <chrono>
#include <ctime>

#include <cstring>
#include <exception>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/embedding.hpp"
#include "cellot/models/embedding_ae.hpp"
#include "cellot/nn/threads.hpp"

namespace cellot::screen {

namespace {

void put_bytes(std::vector<char>& b, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  b.insert(b.end(), c, c + n);
}
void put_i64(std::vector<char>& b, std::int64_t v) { put_bytes(b, &v, sizeof v); }
void put_str(std::vector<char>& b, const std::string& s) {
  put_i64(b, static_cast<std::int64_t>(s.size()));
  put_bytes(b, s.data(), s.size());
}

struct Reader {
  const std::vector<char>& b;
  std::size_t pos = 0;
  std::int64_t i64() {
    std::int64_t v;
    std::memcpy(&v, b.data() + pos, sizeof v);
    pos += sizeof v;
    return v;
  }
  std::string str() {
    const auto n = static_cast<std::size_t>(i64());
    std::string s(b.data() + pos, n);
    pos += n;
    return s;
  }
};

std::vector<char> pack(const Transforms& t) {
  std::vector<char> b;
  put_i64(b, static_cast<std::int64_t>(t.size()));
  for (const auto& [key, tf] : t) {
    put_str(b, key);
    const io::ArrayGroup g = tf.to_group();
    put_str(b, g.spec);
    put_i64(b, static_cast<std::int64_t>(g.arrays.size()));
    for (const auto& a : g.arrays) {
      put_str(b, a.name);
      put_i64(b, static_cast<std::int64_t>(a.shape.size()));
      for (auto s : a.shape) put_i64(b, s);
      put_i64(b, static_cast<std::int64_t>(a.values.size()));
      put_bytes(b, a.values.data(), a.values.size() * sizeof(double));
    }
  }
  return b;
}

Transforms unpack(const std::vector<char>& bytes) {
  Reader r{bytes};
  Transforms out;
  for (auto n = r.i64(); n > 0; --n) {
    const std::string key = r.str();
    io::ArrayGroup g;
    g.spec = r.str();
    for (auto m = r.i64(); m > 0; --m) {
      io::NamedArray a;
      a.name = r.str();
      for (auto k = r.i64(); k > 0; --k) a.shape.push_back(r.i64());
      a.values.resize(static_cast<std::size_t>(r.i64()));
      std::memcpy(a.values.data(), bytes.data() + r.pos, a.values.size() * sizeof(double));
      r.pos += a.values.size() * sizeof(double);
      g.arrays.push_back(std::move(a));
    }
    out.emplace(key, data::FeatureTransform::from_group(g, "broadcast transform"));
  }
  return out;
}

}  // namespace

std::string transform_key(int fold, std::uint64_t seed) {
  return "fold" + std::to_string(fold) + "_seed" + std::to_string(seed);
}

namespace {

void log_fit(const std::string& key, const data::FeatureTransform& t, double secs, const std::string& more = "") {
  if (t.embeds() || t.scaling() != data::FeatureTransform::Scaling::none)
    log::info("screen: " + key + ": " + t.describe() + "; fitted in " + log::format_duration(secs) + more);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// pca:K: every rank fits every split together (data::fit_on_training_split with comm); an error
// is agreed on before any collective, so all ranks throw together.
Transforms fit_together(const Config& cfg, const Plan& plan, const std::function<const data::Dataset&(int fold)>& dataset,
                        MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  Transforms out;
  for (int fold : plan.folds)
    for (auto seed : plan.seeds) {
      const data::Dataset* ds = nullptr;
      std::exception_ptr failure;
      try {
        ds = &dataset(fold);
      } catch (...) {
        failure = std::current_exception();
      }
      int failed = failure ? rank : size;
      // Bound: every rank reaches this agreement right after opening the fold's data (finite work), also when it failed.
      MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, comm);
      if (failure) std::rethrow_exception(failure);
      if (failed < size) throw InputError("the data could not be opened on rank " + std::to_string(failed) + " (see its error)");
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      data::FeatureTransform t = data::fit_on_training_split(*ds, split_seed(cfg, fold, seed), comm, nn::parallel_for);
      double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      // Bound: every rank is past the agreed fit above; one double each.
      MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPI_DOUBLE, MPI_SUM, comm);
      if (rank == 0)
        log_fit(transform_key(fold, seed), t, since(t0),
                " (CPU " + log::format_duration(cpu) + " over " + std::to_string(size) + " rank(s))");
      out.emplace(transform_key(fold, seed), std::move(t));
    }
  return out;
}

}  // namespace

Transforms fit_screen_transforms(const Config& cfg, const Plan& plan,
                                 const std::function<const data::Dataset&(int fold)>& dataset, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  Transforms out;
  std::vector<char> bytes;
  if (cfg.data.embedding.rfind("pca:", 0) == 0) {
    out = fit_together(cfg, plan, dataset, comm);
    if (rank == 0) bytes = pack(out);
  } else {
    int ok = 1;
    if (rank == 0) {
      try {
        for (int fold : plan.folds)
          for (auto seed : plan.seeds) {
            const data::Dataset& ds = dataset(fold);
            const auto t0 = std::chrono::steady_clock::now();
            const data::FeatureTransform t = models::fit_split_transform(ds, split_seed(cfg, fold, seed));
            log_fit(transform_key(fold, seed), t, since(t0));
            out.emplace(transform_key(fold, seed), t);
          }
        bytes = pack(out);
      } catch (...) {
        ok = 0;
        // Bound: rank 0 fits the transforms (finite work) and always broadcasts the flag, also when it fails.
        MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
        throw;
      }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    if (!ok) throw InputError("the feature transform could not be fitted (see the error on rank 0)");
  }
  // Rank 0's transforms on every rank (a pca fit is the same bits on every rank already; one
  // source keeps it so on a job of unlike nodes too).
  // Bound: every rank is past the fits above (agreed or flagged); the sizes and bytes follow at once.
  std::int64_t n = static_cast<std::int64_t>(bytes.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  bytes.resize(static_cast<std::size_t>(n));
  constexpr std::int64_t kChunk = 1 << 30;
  for (std::int64_t off = 0; off < n; off += kChunk)
    MPI_Bcast(bytes.data() + off, static_cast<int>(std::min(kChunk, n - off)), MPI_CHAR, 0, comm);
  if (rank != 0) out = unpack(bytes);
  return out;
}

std::vector<std::pair<std::string, io::ArrayGroup>> to_store(const Transforms& t) {
  std::vector<std::pair<std::string, io::ArrayGroup>> out;
  for (const auto& [key, tf] : t) out.emplace_back(key, tf.to_group());
  return out;
}

data::FeatureTransform stored_transform(const io::StoreSpec& spec, int fold, std::uint64_t seed,
                                        std::int64_t n_features, const std::string& store_path) {
  // Stores written before transforms existed trained on the raw features.
  if (spec.transforms.empty()) return data::FeatureTransform::identity(n_features);
  const std::string key = transform_key(fold, seed);
  const io::ArrayGroup* g = spec.transform(key);
  if (!g) throw InputError(store_path, "/transform/" + key, "", "the store has no feature transform for this split");
  return data::FeatureTransform::from_group(*g, store_path + ":/transform/" + key);
}

}  // namespace cellot::screen
