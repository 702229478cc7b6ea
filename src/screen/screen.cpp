// `cellot screen`: plan -> rank groups -> coordinator -> train / predict / metrics -> store rows.
#include "cellot/screen/screen.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/screen/coordinator.hpp"
#include "cellot/screen/merge.hpp"
#include "cellot/screen/groups.hpp"
#include "cellot/io/store.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/models/model.hpp"
#include "cellot/models/baselines/observed.hpp"
#include "cellot/version.hpp"

namespace cellot::screen {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

// Internal linkage (a C++ function in an anonymous namespace is a valid handler): no clash
// with other handlers of the program.
void screen_stop_handler(int sig) { g_stop_signal = sig; }

// Installs the preemption handlers for the lifetime of a screen and restores the old ones.
class SignalGuard {
 public:
  SignalGuard() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = screen_stop_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalGuard() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals{SIGTERM, SIGUSR1, SIGINT};
  std::array<struct sigaction, 3> old_{};
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Adds the time since construction to a phase counter.
class PhaseTimer {
 public:
  explicit PhaseTimer(Stamp& slot) : slot_(slot), t0_(Stamp::now()) {}
  ~PhaseTimer() { slot_ += Stamp::now() - t0_; }

 private:
  Stamp& slot_;
  Stamp t0_;
};

// Byte buffer for broadcasting the plan from rank 0 (the only rank that reads the data file
// to build it; thousands of ranks reading obs at start would hammer a parallel file system).
class Packer {
 public:
  void put(const std::string& s) {
    put(static_cast<std::int64_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_strings(const std::vector<std::string>& v) {
    put(static_cast<std::int64_t>(v.size()));
    for (const auto& s : v) put(s);
  }
  std::string get_string() {
    const auto n = get<std::int64_t>();
    std::string s(bytes_.data() + pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  template <class T>
  T get() {
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::vector<std::string> get_strings() {
    const auto n = get<std::int64_t>();
    std::vector<std::string> v;
    for (std::int64_t i = 0; i < n; ++i) v.push_back(get_string());
    return v;
  }
  // Collective over comm: root's bytes to everyone.
  void broadcast(MPI_Comm comm, int root) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    std::int64_t n = static_cast<std::int64_t>(bytes_.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, root, comm);
    bytes_.resize(static_cast<std::size_t>(n));
    // Chunks below 2^31 bytes (MPI counts are int).
    constexpr std::int64_t kChunk = 1 << 30;
    for (std::int64_t off = 0; off < n; off += kChunk)
      MPI_Bcast(bytes_.data() + off, static_cast<int>(std::min(kChunk, n - off)), MPI_CHAR, root, comm);
    pos_ = 0;
  }

 private:
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
};

void pack_plan(Packer& p, const Plan& plan) {
  p.put_strings(plan.perturbations);
  p.put_strings(plan.models);
  p.put_strings(plan.features);
  p.put(plan.config_ini);
  p.put(plan.plan_text);
  p.put(plan.hash);
  p.put(static_cast<std::int64_t>(plan.folds.size()));
  for (int f : plan.folds) p.put(f);
  p.put(static_cast<std::int64_t>(plan.seeds.size()));
  for (auto s : plan.seeds) p.put(s);
  p.put(static_cast<std::int64_t>(plan.tasks.size()));
  for (const auto& t : plan.tasks) {
    p.put(t.index);
    p.put(t.key);
    p.put(t.perturbation);
    p.put(t.model);
    p.put(t.fold);
    p.put(t.seed);
    p.put(t.task_seed);
    p.put(t.cost);
    p.put(t.n_control);
    p.put(t.n_treated);
    p.put(t.prediction_capacity);
    p.put(t.n_treated_test);
  }
}

Plan unpack_plan(Packer& p) {
  Plan plan;
  plan.perturbations = p.get_strings();
  plan.models = p.get_strings();
  plan.features = p.get_strings();
  plan.config_ini = p.get_string();
  plan.plan_text = p.get_string();
  plan.hash = p.get_string();
  const auto nf = p.get<std::int64_t>();
  for (std::int64_t i = 0; i < nf; ++i) plan.folds.push_back(p.get<int>());
  const auto ns = p.get<std::int64_t>();
  for (std::int64_t i = 0; i < ns; ++i) plan.seeds.push_back(p.get<std::uint64_t>());
  const auto nt = p.get<std::int64_t>();
  for (std::int64_t i = 0; i < nt; ++i) {
    Task t;
    t.index = p.get<std::int64_t>();
    t.key = p.get_string();
    t.perturbation = p.get_string();
    t.model = p.get_string();
    t.fold = p.get<int>();
    t.seed = p.get<std::uint64_t>();
    t.task_seed = p.get<std::uint64_t>();
    t.cost = p.get<double>();
    t.n_control = p.get<std::int64_t>();
    t.n_treated = p.get<std::int64_t>();
    t.prediction_capacity = p.get<std::int64_t>();
    t.n_treated_test = p.get<std::int64_t>();
    plan.tasks.push_back(std::move(t));
  }
  return plan;
}

// The data file opened once per fold value (kfold folds are different test folds of one
// shuffle; the Dataset keeps the fold in its config).
class DataCache {
 public:
  explicit DataCache(const Config& cfg) : cfg_(cfg) {}
  const data::Dataset& get(int fold) {
    const int key = cfg_.data.split == "kfold" ? fold : 0;
    auto it = by_fold_.find(key);
    if (it == by_fold_.end()) {
      DataConfig d = cfg_.data;
      if (cfg_.data.split == "kfold") d.fold = fold;
      it = by_fold_.emplace(key, std::make_unique<data::Dataset>(d)).first;
    }
    return *it->second;
  }

 private:
  const Config& cfg_;
  std::map<int, std::unique_ptr<data::Dataset>> by_fold_;
};

Plan build_plan(const Config& cfg, const std::string& origin, DataCache& cache) {
  const data::Dataset& ds = cache.get(0);
  PlanInput in;
  in.perturbations = ds.perturbations();
  in.n_control = ds.count(cfg.data.control);
  for (const auto& p : in.perturbations) in.n_treated.push_back(ds.count(p));
  in.features = ds.features();
  in.test_count = [&](const std::string& condition, std::int64_t, int fold, std::uint64_t seed) {
    return static_cast<std::int64_t>(cache.get(fold).split_of(condition, seed).test.size());
  };
  return make_plan(cfg, in, origin);
}

std::int64_t shape_size(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Parameter layouts of every model of the plan, from untrained models, with the documented
// upper bounds where a model's size depends on training (docs/STORE.md '/params').
std::vector<io::ParamLayout> param_layouts(const Config& cfg, const Plan& plan) {
  std::vector<io::ParamLayout> out;
  const auto d = static_cast<std::int64_t>(plan.features.size());
  for (const auto& model : plan.models) {
    Config c = cfg;
    c.model.name = model;
    const auto params = models::make_model(c, d)->parameters();
    io::ParamLayout p;
    p.model = model;
    for (const auto& t : params) {
      p.names.push_back(t.name);
      p.shapes.push_back(t.shape);
      p.max_size += shape_size(t.shape);
    }
    if (model == "observed") {
      // The pool is half of the perturbed test cells of the task.
      std::int64_t most = 0;
      for (const auto& t : plan.tasks)
        if (t.model == model) most = std::max(most, t.n_treated_test / 2);
      p.max_size = most * d;
    } else if ((model == "scgen" || model == "cae") && cfg.model.grid) {
      // The grid may choose any candidate: the largest network, plus the 96 x 6 score table.
      std::int64_t most = 0;
      for (const auto& h : models::autoencoder_grid()) {
        Config g = c;
        g.model.grid = false;
        g.model.width = h.width;
        g.model.depth = h.depth;
        g.model.latent = h.latent;
        std::int64_t n = 0;
        for (const auto& t : models::make_model(g, d)->parameters()) n += shape_size(t.shape);
        most = std::max(most, n);
      }
      p.max_size = most + 6 * static_cast<std::int64_t>(models::autoencoder_grid().size());
    }
    if (p.max_size > 0) out.push_back(std::move(p));
  }
  return out;
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::vector<std::string> gather_hostnames(MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  std::vector<char> all(static_cast<std::size_t>(size) * MPI_MAX_PROCESSOR_NAME, 0);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) {
    std::string h(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

io::TaskState store_state(Outcome o) {
  switch (o) {
    case Outcome::done:
      return io::TaskState::done;
    case Outcome::failed:
      return io::TaskState::failed;
    case Outcome::diverged:
      return io::TaskState::diverged;
    default:
      return io::TaskState::pending;
  }
}

}  // namespace

int stop_signal() { return static_cast<int>(g_stop_signal); }

ScreenResult run_screen(const ScreenOptions& opt, Runtime& /*rt: threads are set by the caller*/) {
  namespace fs = std::filesystem;
  SignalGuard signals;
  const Stamp t_start = Stamp::now();
  PhaseTimes ph;
  const Config& cfg = opt.cfg;
  const std::string store_path = cfg.screen.store;
  if (store_path.empty()) throw InputError(opt.origin, "screen.store", "", "no results store path");

  std::optional<Groups> groups_holder;
  {
    PhaseTimer timer(ph.setup);
    groups_holder.emplace(MPI_COMM_WORLD, cfg.screen.ranks_per_task, opt.origin);
  }
  const Groups& groups = *groups_holder;
  const bool root = groups.world_rank() == 0;
  const bool progress_on = root && !opt.quiet;

  // ---- plan (rank 0 reads the data file, everyone gets the same plan) ----
  Plan plan;
  DataCache cache(cfg);
  {
    PhaseTimer timer(ph.plan);
    Packer packer;
    int ok = 1;
    std::string error;
    if (root) {
      try {
        plan = build_plan(cfg, opt.origin, cache);
        pack_plan(packer, plan);
      } catch (...) {
        ok = 0;
        MPI_Bcast(&ok, 1, MPI_INT, 0, groups.world());
        throw;  // rank 0 reports; the others stop below
      }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, groups.world());
    if (!ok) throw InputError("the plan could not be built (see the error on rank 0)");
    packer.broadcast(groups.world(), 0);
    if (!root) plan = unpack_plan(packer);
  }

  // ---- the store ----
  io::StoreSpec spec;
  const auto metric_opts = metrics::options_from_config(cfg.metrics, MPI_COMM_SELF, 0);
  std::vector<int> owner;
  {
    PhaseTimer timer(ph.setup);
    for (const auto& t : plan.tasks) {
      io::PlanRow r;
      r.key = t.key;
      r.perturbation = t.perturbation;
      r.model = t.model;
      r.fold = t.fold;
      r.seed = t.seed;
      r.task_seed = t.task_seed;
      r.cost = t.cost;
      r.n_control = t.n_control;
      r.n_treated = t.n_treated;
      r.prediction_capacity = cfg.screen.save_predictions ? t.prediction_capacity : 0;
      spec.tasks.push_back(r);
    }
    spec.config_ini = plan.config_ini;
    spec.plan_text = plan.plan_text;
    spec.plan_hash = plan.hash;
    spec.split_rule = split_rule_text(cfg);
    spec.perturbations = plan.perturbations;
    spec.models = plan.models;
    for (int f : plan.folds) spec.folds.push_back(std::to_string(f));
    for (auto s : plan.seeds) spec.seeds.push_back(std::to_string(s));
    spec.metric_names = metric_opts.names;
    spec.features = plan.features;
    spec.params = param_layouts(cfg, plan);
    spec.save_predictions = cfg.screen.save_predictions;
    spec.owned.assign(plan.tasks.size(), 1);
    if (opt.shard) {
      spec.shard = std::to_string(opt.shard->index) + "/" + std::to_string(opt.shard->count);
      owner = shard_owners(plan, opt.shard->count);
      for (std::size_t t = 0; t < owner.size(); ++t) spec.owned[t] = owner[t] == opt.shard->index ? 1 : 0;
    }
  }

  const std::string ckpt_dir = store_path + ".ckpt";
  int exists = 0;
  if (root) exists = fs::exists(store_path) ? 1 : 0;
  MPI_Bcast(&exists, 1, MPI_INT, 0, groups.world());
  if (exists && !opt.resume)
    throw InputError(opt.origin, "--store", store_path,
                     "exists: pass --resume to continue it, or choose another store path");
  io::Store store;
  std::vector<bool> finished(plan.tasks.size(), false);
  {
    PhaseTimer timer(ph.setup);
    if (exists) {
      store = io::Store::open(store_path, groups.world(), true);
      const auto& have = store.spec();
      check_same_plan(have, spec, store_path, "this config");
      if (have.shard != spec.shard)
        throw InputError(store_path, "shard",
                         (have.shard.empty() ? "none" : have.shard) + " (store) vs " +
                             (spec.shard.empty() ? "none" : spec.shard) + " (--shard)",
                         "the store belongs to another shard of the plan");
      check_same_layout(have, spec, store_path);
      if (root) {
        const auto trusted = store.trusted_done();
        const auto states = store.read_states();
        for (std::size_t t = 0; t < trusted.size(); ++t) finished[t] = trusted[t] && states[t] == io::TaskState::done;
      }
    } else {
      if (root) {
        std::error_code ec;
        fs::remove_all(ckpt_dir, ec);  // checkpoints of an older store at this path
      }
      store = io::Store::create(store_path, spec, groups.world());
    }
    if (root) fs::create_directories(ckpt_dir);
    io::Provenance p;
    p.version = version_string();
    p.git_hash = git_hash();
    p.library_versions = library_versions();
    p.command_line = opt.command_line;
    p.start_time = log::timestamp_utc();
    p.world_size = groups.world_size();
    p.ranks_per_task = groups.group_size();
    p.groups = groups.n_groups();
    p.hostnames = gather_hostnames(groups.world());
    store.write_provenance_start(p);
  }

  // ---- what to run ----
  std::vector<std::int64_t> order;
  std::int64_t already_done = 0, owned = 0;
  if (root) {
    for (std::int64_t t : cost_order(plan)) {
      if (!spec.owned[static_cast<std::size_t>(t)]) continue;
      ++owned;
      if (finished[static_cast<std::size_t>(t)])
        ++already_done;
      else
        order.push_back(t);
    }
    log::root_info("screen: plan " + plan.hash + ": " + std::to_string(plan.tasks.size()) + " tasks (" +
                   std::to_string(plan.perturbations.size()) + " perturbations x " +
                   std::to_string(plan.models.size()) + " models x " + std::to_string(plan.folds.size()) + " folds x " +
                   std::to_string(plan.seeds.size()) + " seeds)" +
                   (spec.shard.empty() ? "" : ", shard " + spec.shard + " owns " + std::to_string(owned)) + "; " +
                   std::to_string(order.size()) + " to run" +
                   (already_done ? " (" + std::to_string(already_done) + " already done)" : "") + "; " +
                   std::to_string(groups.n_groups()) + " groups x " + std::to_string(groups.group_size()) +
                   " ranks; store " + store_path);
  }

  // Ground truth of synthetic data (uvp), on the raw feature scale only.
  // Rank 0 reads uns (many small datasets) and broadcasts it: every rank reading it costs each
  // rank a tenth of a second at start, which is most of a short screen's fixed overhead.
  std::unique_ptr<data::SynthMaps> truth;
  if (cfg.data.preprocess == "none") {
    PhaseTimer timer(ph.setup);
    io::AnnData uns;
    Packer packer;
    if (root) {
      cache.get(0).reader().read_uns(uns);
      packer.put(static_cast<std::int64_t>(uns.uns_strings.size()));
      for (const auto& [k, v] : uns.uns_strings) {
        packer.put(k);
        packer.put(v);
      }
      packer.put(static_cast<std::int64_t>(uns.uns_numbers.size()));
      for (const auto& [k, v] : uns.uns_numbers) {
        packer.put(k);
        packer.put(v);
      }
      packer.put(static_cast<std::int64_t>(uns.uns_string_arrays.size()));
      for (const auto& [k, v] : uns.uns_string_arrays) {
        packer.put(k);
        packer.put_strings(v);
      }
      packer.put(static_cast<std::int64_t>(uns.uns_arrays.size()));
      for (const auto& [k, a] : uns.uns_arrays) {
        packer.put(k);
        packer.put(static_cast<std::int64_t>(a.shape.size()));
        for (auto x : a.shape) packer.put(x);
        packer.put(static_cast<std::int64_t>(a.data.size()));
        for (double x : a.data) packer.put(x);
      }
    }
    packer.broadcast(groups.world(), 0);
    if (!root) {
      for (auto n = packer.get<std::int64_t>(); n > 0; --n) {
        std::string k = packer.get_string();
        uns.uns_strings[k] = packer.get_string();
      }
      for (auto n = packer.get<std::int64_t>(); n > 0; --n) {
        std::string k = packer.get_string();
        uns.uns_numbers[k] = packer.get<double>();
      }
      for (auto n = packer.get<std::int64_t>(); n > 0; --n) {
        std::string k = packer.get_string();
        uns.uns_string_arrays[k] = packer.get_strings();
      }
      for (auto n = packer.get<std::int64_t>(); n > 0; --n) {
        std::string k = packer.get_string();
        io::AnnData::Array a;
        for (auto m = packer.get<std::int64_t>(); m > 0; --m) a.shape.push_back(packer.get<std::int64_t>());
        for (auto m = packer.get<std::int64_t>(); m > 0; --m) a.data.push_back(packer.get<double>());
        uns.uns_arrays[k] = std::move(a);
      }
    }
    if (data::SynthMaps::present(uns)) truth = std::make_unique<data::SynthMaps>(uns, cfg.data.path);
  }

  CoordinatorOptions copt;
  copt.prefetch = opt.prefetch;
  copt.poll_interval = cfg.screen.poll_ms / 1000.0;
  copt.wait_timeout = cfg.screen.wait_timeout;
  Coordinator coordinator(groups, order, copt);
  coordinator.external_stop = [] { return g_stop_signal != 0; };
  if (opt.stop_after >= 0) coordinator.stop_after(opt.stop_after);
  log::Progress progress("screen", static_cast<std::int64_t>(order.size()), progress_on);
  std::int64_t n_done = 0, n_failed = 0, n_diverged = 0;
  // The ETA follows the cost (cells x iterations) done, not the count: tasks go out most
  // expensive first, so a count-based ETA would be far too long for most of the screen.
  double cost_total = 0, cost_done = 0;
  for (std::int64_t t : order) cost_total += plan.tasks[static_cast<std::size_t>(t)].cost;
  coordinator.on_finished = [&](std::int64_t t, Outcome o, int group) {
    cost_done += plan.tasks[static_cast<std::size_t>(t)].cost;
    if (o == Outcome::done) ++n_done;
    if (o == Outcome::failed) ++n_failed;
    if (o == Outcome::diverged) ++n_diverged;
    log::debug("task " + plan.tasks[static_cast<std::size_t>(t)].key + ": " + outcome_name(o) + " (group " +
               std::to_string(group) + ")");
    std::string extra;
    if (n_failed) extra += "failed " + std::to_string(n_failed);
    if (n_diverged) extra += std::string(extra.empty() ? "" : ", ") + "diverged " + std::to_string(n_diverged);
    progress.update(n_done + n_failed + n_diverged, cost_total > 0 ? cost_done / cost_total : -1.0, extra);
  };

  // Every iteration of every trainer: rank 0 serves the other groups, and the group agrees on
  // whether a preemption signal arrived (so every rank stops at the same iteration).
  const MPI_Comm group = groups.group();
  const bool group_root = groups.is_group_root();
  auto should_stop = [&]() -> bool {
    coordinator.poll();
    if (progress_on) progress.keepalive();
    int flag = g_stop_signal != 0 ? 1 : 0;
    if (groups.group_size() > 1) MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, group);
    return flag != 0;
  };
  const std::string host = hostname();
  const auto d = static_cast<std::int64_t>(plan.features.size());
  bool any_interrupted = false;
  // Per metric: tasks (run by this group root) whose Sinkhorn solve stopped at the cap.
  std::vector<std::int64_t> unconverged(metric_opts.names.size(), 0);

  auto run_task = [&](std::int64_t t) -> Outcome {
    const Task& task = plan.tasks[static_cast<std::size_t>(t)];
    const double t0 = now();
    std::array<double, io::kPhases> phase{};
    auto timed = [&](int k, Stamp& total, auto&& fn) {
      // Accounts the phase even when it throws (an interrupted or diverged training).
      struct Account {
        Stamp a = Stamp::now(), served;
        std::function<void(const Stamp&)> add;
        ~Account() { add(Stamp::now() - a); }
      } acc;
      acc.served = coordinator.stats().serve;
      acc.add = [&, k](const Stamp& elapsed) {
        // Rank 0's serving from inside the phase (training loop polls) is the coordinator's
        // time, counted once, under serve.
        const Stamp dt = elapsed - (coordinator.stats().serve - acc.served);
        phase[static_cast<std::size_t>(k)] += dt.wall;
        total += dt;
      };
      fn();
      coordinator.poll();  // rank 0: answer the other groups between phases too
    };
    if (group_root) timed(4, ph.write, [&] { store.write_state(t, io::TaskState::running); });
    io::TaskRow row;
    Outcome outcome = Outcome::done;
    std::string message;
    const std::string ckpt = ckpt_dir + "/task" + std::to_string(t) + ".ckpt";
    try {
      const Config tc = task_config(cfg, task);
      data::PairData pair;
      models::TrainInput in;
      Matrix source_test, target_test;
      timed(0, ph.load, [&] {
        pair = cache.get(task.fold).load_pair(task.perturbation, split_seed(cfg, task.fold, task.seed));
        in.perturbation = task.perturbation;
        in.source_train = pair.control.select_rows(pair.control_split.train);
        in.target_train = pair.treated.select_rows(pair.treated_split.train);
        in.source_val = pair.control.select_rows(pair.control_split.val);
        in.target_val = pair.treated.select_rows(pair.treated_split.val);
        // Only the observed baseline may see the treated test cells (they are what it "predicts");
        // every other model selects on the validation split and never gets them.
        target_test = pair.treated.select_rows(pair.treated_split.test);
        if (task.model == "observed") in.target_test = target_test;
        source_test = pair.control.select_rows(pair.control_split.test);
      });
      std::unique_ptr<models::Model> model;
      timed(1, ph.train, [&] {
        model = models::make_model(tc, d);
        models::TrainContext ctx;
        ctx.config = &tc;
        ctx.comm = group;
        ctx.seed = task.task_seed;
        ctx.progress = false;
        ctx.checkpoint_path = ckpt;
        ctx.resume = true;  // a checkpoint exists only if this task was interrupted before
        ctx.should_stop = should_stop;
        ctx.validation_metric = [&](const Matrix& pred, const Matrix& obs) {
          return metrics::mmd_rbf(pred, obs, metric_opts.mmd_gammas, group);
        };
        model->train(in, ctx);
      });
      Matrix pred;
      timed(2, ph.predict, [&] { pred = model->predict(source_test); });
      timed(3, ph.metrics, [&] {
        // The observed baseline is scored as the floor it stands for: its prediction half
        // against the disjoint reference half, each cell once (its per-control predictions
        // repeat the half cyclically, which would weight some cells several times).
        const bool observed = task.model == "observed";
        models::ObservedHalves halves;
        if (observed) halves = models::observed_halves(target_test, task.task_seed);
        const Matrix& reference = observed ? halves.reference : target_test;
        Matrix true_response;
        if (truth && truth->has(task.perturbation) && !observed)
          true_response = truth->apply(task.perturbation, source_test);
        metrics::Input mi;
        mi.predicted = observed ? &halves.prediction : &pred;
        mi.observed = &reference;
        mi.control = observed ? nullptr : &source_test;  // observed rows do not pair with controls
        mi.truth = true_response.rows > 0 ? &true_response : nullptr;
        auto mo = metrics::options_from_config(cfg.metrics, group, derive_seed(task.task_seed, "metrics"));
        mo.warn_unconverged = false;  // one summary line at the end of the screen instead
        // Every model is scored on the same number of cells per set as the observed floor (half
        // of the treated test cells, each half against the other): the biased MMD, energy and
        // the entropic costs all depend on the sample sizes (the diagonal terms of MMD add about
        // 1/|P| + 1/|O|), so a model scored on more cells than the floor would beat it by
        // sample size alone. As the reference CellOT evaluation, both sets are subsampled to
        // that common size (deterministically, from the task's seed).
        const std::int64_t floor_cells = std::max<std::int64_t>(1, target_test.rows / 2);
        if (mo.max_cells <= 0 || mo.max_cells > floor_cells) mo.max_cells = floor_cells;
        if (group_root)
          log::debug("task " + task.key + ": metrics on at most " + std::to_string(mo.max_cells) +
                     " cells per set (" + std::to_string(mi.predicted->rows) + " predicted, " +
                     std::to_string(target_test.rows) + " treated test cells)");
        const auto values = metrics::compute(mi, mo);
        row.value.assign(spec.metric_names.size(), NAN);
        row.sd.assign(spec.metric_names.size(), NAN);
        row.iterations.assign(spec.metric_names.size(), 0);
        for (const auto& v : values) {
          const auto it = std::find(spec.metric_names.begin(), spec.metric_names.end(), v.name);
          if (it == spec.metric_names.end() || !v.available) continue;
          // Paired metrics have no meaning for the observed baseline (its rows are not maps
          // of the control rows beside them).
          if (observed && (v.name == "spearman_pair" || v.name == "uvp")) continue;
          const auto k = static_cast<std::size_t>(it - spec.metric_names.begin());
          row.value[k] = v.value;
          row.sd[k] = v.sd;
          row.iterations[k] = v.iterations;
          if (!v.converged) unconverged[k] += 1;
        }
      });
      if (group_root) {
        row.curve_columns = model->curves().columns;
        row.curve_rows = model->curves().rows;
        std::vector<std::string> names;
        std::vector<std::vector<std::int64_t>> shapes;
        for (const auto& p : model->parameters()) {
          names.push_back(p.name);
          shapes.push_back(p.shape);
          row.params.insert(row.params.end(), p.values.begin(), p.values.end());
        }
        row.param_layout = io::format_layout(names, shapes);
        row.params_count = static_cast<std::int64_t>(row.params.size());
        if (cfg.screen.save_predictions) {
          row.predictions.assign(pred.data.begin(), pred.data.end());
          for (std::int64_t i : pair.control_split.test)
            row.prediction_cells.push_back(pair.control_rows[static_cast<std::size_t>(i)]);
        }
      }
    } catch (const models::Interrupted& e) {
      outcome = Outcome::interrupted;
      message = e.what();
    } catch (const models::Diverged& e) {
      outcome = Outcome::diverged;
      message = e.what();
    } catch (const std::exception& e) {
      outcome = Outcome::failed;
      message = e.what();
    }
    // The group acts on one outcome (a failure on any rank fails the task for all).
    if (groups.group_size() > 1) {
      auto code = static_cast<std::int64_t>(outcome);
      MPI_Allreduce(MPI_IN_PLACE, &code, 1, MPI_INT64_T, MPI_MAX, group);
      if (static_cast<Outcome>(code) != outcome && message.empty()) message = "failed on another rank of the group";
      outcome = static_cast<Outcome>(code);
    }
    if (outcome == Outcome::interrupted) any_interrupted = true;
    if (!group_root) return outcome;

    if (outcome == Outcome::interrupted) {
      store.write_state(t, io::TaskState::pending);
      log::info("task " + task.key + " interrupted (checkpointed where the model supports it): " + message);
      return outcome;
    }
    if (outcome != Outcome::done) {
      log::warn("task " + task.key + " " + outcome_name(outcome) + ": " + message);
      row = io::TaskRow();
    }
    row.state = store_state(outcome);
    row.message = message;
    row.group = groups.group_index();
    row.rank = groups.world_rank();
    row.host = host;
    timed(4, ph.write, [&] {
      row.phase_time = phase;
      row.wall_time = now() - t0;
      row.finished_at = log::timestamp_utc();
      store.write_row(t, row);
    });
    if (outcome == Outcome::done) {
      // Checkpoints are single files (written to .tmp, then renamed); one syscall each when
      // absent, which is the common case (only interrupted CellOT tasks leave one).
      ::unlink(ckpt.c_str());
      ::unlink((ckpt + ".tmp").c_str());
    }
    return outcome;
  };

  coordinator.run(run_task);
  ph.wait = coordinator.stats().wait;
  ph.idle = coordinator.stats().idle;
  ph.serve = coordinator.stats().serve;

  // ---- the end: agree on the outcome, close the store collectively ----
  const Stamp t_fin = Stamp::now();
  {
    // Groups finish at different times; the early ones wait here asleep rather than spinning in
    // a blocking collective, so that on shared cores the groups still working get the CPU.
    MPI_Request barrier;
    MPI_Ibarrier(groups.world(), &barrier);
    int flag = 0;
    long long ns = 50000;
    while (true) {
      MPI_Test(&barrier, &flag, MPI_STATUS_IGNORE);
      if (flag) break;
      timespec ts{0, static_cast<long>(ns)};
      nanosleep(&ts, nullptr);
      ns = std::min(ns * 2, 2000000LL);
    }
  }
  int interrupted = (any_interrupted || g_stop_signal != 0) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &interrupted, 1, MPI_INT, MPI_MAX, groups.world());
  std::int64_t counts[3] = {n_done, n_failed, n_diverged};
  MPI_Bcast(counts, 3, MPI_INT64_T, 0, groups.world());
  ScreenResult result;
  result.tasks = static_cast<std::int64_t>(plan.tasks.size());
  std::int64_t owned_all = 0;
  for (auto o : spec.owned) owned_all += o;
  std::int64_t done_before = already_done;
  MPI_Bcast(&done_before, 1, MPI_INT64_T, 0, groups.world());
  result.done = done_before + counts[0];
  result.failed = counts[1];
  result.diverged = counts[2];
  result.unfinished = owned_all - result.done - result.failed - result.diverged;
  result.interrupted = interrupted != 0;
  std::string outcome_text;
  if (result.interrupted)
    outcome_text = "interrupted by signal";
  else if (result.unfinished > 0)
    outcome_text = "stopped with " + std::to_string(result.unfinished) + " tasks unfinished";
  else
    outcome_text = "complete";
  outcome_text += ": done " + std::to_string(result.done) + ", failed " + std::to_string(result.failed) +
                  ", diverged " + std::to_string(result.diverged);
  store.write_provenance_end(log::timestamp_utc(), outcome_text);
  store.close();
  ph.finish = Stamp::now() - t_fin;
  ph.total = Stamp::now() - t_start;
  if (root && result.unfinished == 0) {
    std::error_code ec;
    fs::remove(ckpt_dir, ec);  // empty once every task is done
  }

  // Phase summary: every phase summed over group roots, against groups x wall (wall time) and
  // against the CPU time the group roots used (CPU time: where ranks share cores, wall time in a
  // phase includes time the rank was descheduled). The batch system's overhead is what lies
  // outside the tasks' own work (load, train, predict, metrics, store write).
  constexpr int kN = 12;
  const Stamp* slots[kN] = {&ph.plan,  &ph.setup,   &ph.wait,    &ph.serve, &ph.idle,   &ph.load,
                            &ph.train, &ph.predict, &ph.metrics, &ph.write, &ph.finish, &ph.total};
  double mine[2 * kN] = {0};
  if (group_root)
    for (int k = 0; k < kN; ++k) {
      mine[k] = slots[k]->wall;
      mine[kN + k] = slots[k]->cpu;
    }
  double sum[2 * kN] = {0};
  MPI_Reduce(mine, sum, 2 * kN, MPI_DOUBLE, MPI_SUM, 0, groups.world());
  if (progress_on) {
    progress.finish(outcome_text);
    const char* names[kN - 1] = {"plan",  "setup",   "wait",    "serve", "idle",  "load",
                                 "train", "predict", "metrics", "write", "finish"};
    const std::int64_t ran = counts[0] + counts[1] + counts[2];
    for (int clock = 0; clock < 2; ++clock) {
      const double* v = sum + clock * kN;
      const double capacity =
          std::max(1e-12, clock == 0 ? static_cast<double>(groups.n_groups()) * ph.total.wall : v[kN - 1]);
      std::string line =
          std::string("screen: ") + (clock == 0 ? "wall" : "cpu") + " time, " +
          (clock == 0 ? std::to_string(groups.n_groups()) + " groups x " + log::format_duration(ph.total.wall)
                      : std::string("group roots' CPU ") + log::format_duration(capacity)) +
          ":";
      char buf[512];
      double work = 0, accounted = 0;
      for (int k = 0; k < kN - 1; ++k) {
        std::snprintf(buf, sizeof buf, " %s %.3fs (%.2f%%)", names[k], v[k], 100.0 * v[k] / capacity);
        line += buf;
        accounted += v[k];
        if (k >= 5 && k <= 9) work += v[k];
      }
      std::snprintf(buf, sizeof buf, " other %.3fs (%.2f%%)", capacity - accounted,
                    100.0 * (capacity - accounted) / capacity);
      line += buf;
      log::info(line);
      const double strict = v[6] + v[8] + v[9];
      std::snprintf(buf, sizeof buf,
                    "screen: %s overhead outside load/train/predict/metrics/write %.2f%%, outside "
                    "train/metrics/write %.2f%%; store write %.3f ms per task (%lld tasks)",
                    clock == 0 ? "wall" : "cpu", 100.0 * (1.0 - work / capacity), 100.0 * (1.0 - strict / capacity),
                    ran > 0 ? 1000.0 * v[9] / static_cast<double>(ran) : 0.0, static_cast<long long>(ran));
      log::info(buf);
    }
  }

  {
    // Sinkhorn metrics that stopped at the iteration cap: one line for the whole screen (the
    // store's iterations column equals metrics.sinkhorn_max_iter for those tasks).
    std::vector<std::int64_t> mine_u(unconverged.size(), 0), all_u(unconverged.size(), 0);
    if (group_root) mine_u = unconverged;
    if (!mine_u.empty())
      MPI_Reduce(mine_u.data(), all_u.data(), static_cast<int>(mine_u.size()), MPI_INT64_T, MPI_SUM, 0,
                 groups.world());
    std::string parts;
    for (std::size_t k = 0; k < all_u.size(); ++k)
      if (all_u[k] > 0) parts += (parts.empty() ? "" : ", ") + metric_opts.names[k] + " in " + std::to_string(all_u[k]);
    char tol_text[32];
    std::snprintf(tol_text, sizeof tol_text, "%g", cfg.metrics.sinkhorn_tol);
    if (root && !parts.empty())
      log::warn("screen: Sinkhorn stopped at the iteration cap (metrics.sinkhorn_max_iter = " +
                std::to_string(cfg.metrics.sinkhorn_max_iter) + ", tolerance " + std::string(tol_text) +
                ") without converging: " + parts +
                " tasks; their values are those of the capped iterate (raise metrics.sinkhorn_max_iter, or "
                "standardise the features)");
  }

  if (result.interrupted) {
    result.exit_code = kExitRuntime;
    if (root)
      log::error("screen interrupted by a signal: running tasks were checkpointed where supported and the store " +
                 store_path + " was closed cleanly; requeue the job and resume with --resume");
  } else if (result.failed > 0 || result.unfinished > 0) {
    result.exit_code = kExitRuntime;
    if (root)
      log::error(std::to_string(result.failed) + " tasks failed and " + std::to_string(result.unfinished) +
                 " are unfinished in " + store_path + " (cellot inspect --store " + store_path +
                 " lists them); run again with --resume to retry them");
  }
  return result;
}

}  // namespace cellot::screen
