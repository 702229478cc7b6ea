// `cellot screen`: plan -> rank groups -> coordinator -> task runner -> store rows. The pieces:
// wire.cpp (what rank 0 reads and broadcasts), store_setup.cpp (create or resume the store),
// task_runner.cpp (one task), summary.cpp (the end), signals.cpp (preemption).
#include "cellot/screen/screen.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/core/model_kinds.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/store.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/metrics/names.hpp"
#include "cellot/screen/coordinator.hpp"
#include "cellot/screen/groups.hpp"
#include "cellot/screen/lease.hpp"
#include "cellot/screen/transforms.hpp"
#include "detail/data_cache.hpp"
#include "detail/signals.hpp"
#include "detail/split_controls.hpp"
#include "detail/store_setup.hpp"
#include "detail/summary.hpp"
#include "detail/task_runner.hpp"
#include "detail/wire.hpp"

namespace cellot::screen {

namespace {

using detail::PhaseTimer;

// The hash of the data fingerprint: a store resumed keeps the one it was written with (stores
// written before XXH3 hold the legacy fingerprint in their plan hash), a new store the current.
HashScheme fingerprint_hash(const ScreenOptions& opt) {
  std::error_code ec;
  if (!opt.resume || !std::filesystem::exists(opt.cfg.screen.store, ec)) return kCurrentHashScheme;
  try {
    return io::stored_hash_scheme(opt.cfg.screen.store);
  } catch (const std::exception&) {
    return kCurrentHashScheme;  // not a readable store: opening it reports why
  }
}

Plan build_plan(const ScreenOptions& opt, detail::DataCache& cache) {
  const Config& cfg = opt.cfg;
  const data::Dataset& ds = cache.get(0);
  PlanInput in;
  in.fingerprint_hash = fingerprint_hash(opt);
  in.perturbations = ds.perturbations();
  in.n_control = ds.count(cfg.data.control);
  for (const auto& p : in.perturbations) in.n_treated.push_back(ds.count(p));
  in.features = ds.features();
  if (cfg.data.split == "holdout" && cfg.data.holdout_value == data::kHoldoutEach)
    in.holdout_values = cache.holdout_values();
  in.test_count = [&](const std::string& condition, std::int64_t, int fold, std::uint64_t seed) {
    return static_cast<std::int64_t>(cache.get(fold).split_of(condition, seed).test.size());
  };
  return make_plan(cfg, in, opt.origin);
}

// Rank 0 reads the data file and builds the plan; everyone gets the same plan (thousands of ranks
// reading obs at start would hammer a parallel file system). A failure on rank 0 is reported
// there and stops every rank.
Plan share_plan(const ScreenOptions& opt, const Groups& groups, detail::DataCache& cache) {
  Plan plan;
  int ok = 1;
  if (groups.world_rank() == 0) {
    try {
      plan = build_plan(opt, cache);
    } catch (...) {
      ok = 0;
      // Bound: rank 0 builds the plan (finite work: the data file's obs and a fingerprint pass) while the
      // others wait here; rank 0 always broadcasts the flag, also when it fails.
      MPI_Bcast(&ok, 1, MPI_INT, 0, groups.world());
      throw;  // rank 0 reports; the others stop below
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, groups.world());
  if (!ok) throw InputError("the plan could not be built (see the error on rank 0)");
  detail::broadcast_plan(plan, groups.world(), 0);
  return plan;
}

// Ground truth of synthetic data (uvp), on the raw feature scale only. Rank 0 reads uns (many
// small datasets) and broadcasts it: every rank reading it costs each rank a tenth of a second at
// start, which is most of a short screen's fixed overhead.
std::unique_ptr<data::SynthMaps> share_truth(const Config& cfg, const Groups& groups, detail::DataCache& cache) {
  if (cfg.data.preprocess != "none") return nullptr;
  io::AnnData uns;
  if (groups.world_rank() == 0) cache.get(0).reader().read_uns(uns);
  detail::broadcast_uns(uns, groups.world(), 0);
  if (!data::SynthMaps::present(uns)) return nullptr;
  return std::make_unique<data::SynthMaps>(uns, cfg.data.path);
}

// The splits' control cells, embedded (and summarised in gene space for genes: metrics) once for
// the screen by every rank together (detail/split_controls.hpp): no task reads control rows.
// Nothing when no task is left to run (every rank knows: the units are broadcast).
detail::SplitControlsMap share_controls(const Config& cfg, const Plan& plan, const Transforms& transforms,
                                        detail::DataCache& cache, const io::StoreSpec& spec, const Groups& groups,
                                        bool tasks_left, Stamp& phase) {
  if (!tasks_left) return {};
  PhaseTimer timer(phase);
  const bool genes = std::any_of(spec.metric_names.begin(), spec.metric_names.end(),
                                 [](const std::string& n) { return n.rfind(metrics::kGenesPrefix, 0) == 0; });
  return detail::prepare_split_controls(cfg, plan, transforms, cache, genes, spec.iid, groups.world());
}

// Rank 0: the owned tasks not yet done, in hand-out order, with the plan's summary line.
std::vector<std::int64_t> tasks_to_run(const Plan& plan, const io::StoreSpec& spec, const std::vector<bool>& finished,
                                       const Groups& groups, const std::string& store_path,
                                       detail::RunTally& tally) {
  std::vector<std::int64_t> order;
  for (std::int64_t t : cost_order(plan)) {
    if (!spec.owned[static_cast<std::size_t>(t)]) continue;
    ++tally.owned;
    if (finished[static_cast<std::size_t>(t)])
      ++tally.already_done;
    else
      order.push_back(t);
  }
  log::root_info("screen: plan " + plan.hash + ": " + std::to_string(plan.tasks.size()) + " tasks (" +
                 std::to_string(plan.perturbations.size()) + " perturbations x " + std::to_string(plan.models.size()) +
                 " models x " + std::to_string(plan.folds.size()) + " folds x " + std::to_string(plan.seeds.size()) +
                 " seeds)" + (spec.shard.empty() ? "" : ", shard " + spec.shard + " owns " + std::to_string(tally.owned)) +
                 "; " + std::to_string(order.size()) + " to run" +
                 (tally.already_done ? " (" + std::to_string(tally.already_done) + " already done)" : "") + "; " +
                 std::to_string(groups.n_groups()) + " groups x " + std::to_string(groups.group_size()) +
                 " ranks; store " + store_path);
  return order;
}

CoordinatorOptions coordinator_options(const ScreenOptions& opt, std::function<bool(std::int64_t)> reservable) {
  CoordinatorOptions copt;
  copt.prefetch = opt.prefetch;
  copt.reservable = std::move(reservable);
  copt.poll_interval = opt.cfg.screen.poll_ms / 1000.0;
  copt.wait_timeout = opt.cfg.screen.wait_timeout;
  // Keepalives and heartbeats come several times within any timeout (they hold the bounded waits).
  if (copt.wait_timeout > 0) copt.heartbeat = std::min(copt.heartbeat, copt.wait_timeout / 4);
  return copt;
}

// The units the coordinator hands out (form_packs over rank 0's order), on every rank: the key
// of a unit is its first task; rank 0's `order` becomes the units' keys.
std::map<std::int64_t, std::vector<std::int64_t>> share_units(const Plan& plan, std::vector<std::int64_t>& order,
                                                              int pack, const Groups& groups) {
  std::vector<std::vector<std::int64_t>> units;
  const bool root = groups.world_rank() == 0;
  if (root) units = form_packs(plan, order, pack);
  detail::Wire wire(root);
  if (root) wire(units);
  wire.broadcast(groups.world(), 0);
  if (!root) wire(units);
  std::map<std::int64_t, std::vector<std::int64_t>> by_key;
  if (root) order.clear();
  for (auto& u : units) {
    if (root) order.push_back(u.front());
    by_key[u.front()] = std::move(u);
  }
  return by_key;
}

// Rank 0: the units a reservation may take (screen/coordinator.hpp): units of models that do
// not train, and units costing at most 1% of the plan's most expensive unit. Larger units go only
// to a group asking to run one now, so all groups take them most expensive first.
std::function<bool(std::int64_t)> reservable_units(const Plan& plan,
                                                   const std::map<std::int64_t, std::vector<std::int64_t>>& units) {
  constexpr double kReservableShare = 0.01;
  double most = 0;
  for (const auto& [key, u] : units) most = std::max(most, unit_cost(plan, u));
  std::set<std::int64_t> ok;
  for (const auto& [key, u] : units)
    if (model_kind(plan.tasks[static_cast<std::size_t>(key)].model).cost == ModelCost::none ||
        unit_cost(plan, u) <= kReservableShare * most)
      ok.insert(key);
  return [ok = std::move(ok)](std::int64_t key) { return ok.count(key) > 0; };
}

// The ETA's fraction of the work done. Tasks of a model with early stopping take less than
// their planned cost, by a ratio (actual / planned over that model's finished tasks, 1 until
// one has finished) that differs between models (CellOT may stop at a tenth of its iterations,
// a baseline has none to save). Each model's planned cost, done and left alike, is weighted by
// its ratio: within one model the ratio cancels (tasks finishing first are those that stopped
// soonest, so their ratio would make the rest look too cheap), across models it puts each
// model's share of the time where it is.
struct WorkEstimate {
  std::map<std::string, double> planned_left, planned_done, actual_done;
  double ratio(const std::string& model) const {
    const auto pd = planned_done.find(model);
    return pd != planned_done.end() && pd->second > 0 ? actual_done.at(model) / pd->second : 1.0;
  }
  // `inflight`: the work done so far on tasks still running (cost x fraction of their steps);
  // it counts as done, up to 99% of what is left.
  double fraction(double inflight = 0) const {
    double done = 0, total = 0;
    for (const auto& [m, left] : planned_left) {
      const auto pd = planned_done.find(m);
      const double d = pd != planned_done.end() ? pd->second : 0.0, r = ratio(m);
      done += r * d;
      total += r * (d + left);
    }
    done += std::min(inflight, 0.99 * (total - done));
    return total > 0 ? done / total : -1.0;
  }
};

// The root's count of finished tasks and the progress line. The ETA follows the cost (cells x
// iterations) done, not the count: tasks go out most expensive first, so a count-based ETA would
// be far too long for most of the screen; the work a task reports is what it actually took
// (early stopping), and each model's share is re-estimated from it (WorkEstimate).
// Tasks still running count their progress (Coordinator::inflight_work), so a screen of a few
// long tasks has an ETA before the first one finishes.
std::function<void(std::int64_t, Outcome, int, double)> progress_callback(const Plan& plan,
                                                                          const std::vector<std::int64_t>& tasks,
                                                                          detail::RunTally& tally,
                                                                          log::Progress& progress,
                                                                          const Coordinator& coordinator,
                                                                          WorkEstimate& est) {
  for (std::int64_t t : tasks) {
    const Task& task = plan.tasks[static_cast<std::size_t>(t)];
    est.planned_left[task.model] += task.cost;
  }
  return [&plan, &tally, &progress, &coordinator, &est](std::int64_t t, Outcome o, int group, double work) {
    const Task& task = plan.tasks[static_cast<std::size_t>(t)];
    est.planned_left[task.model] -= task.cost;
    est.planned_done[task.model] += task.cost;
    est.actual_done[task.model] += work;
    if (o == Outcome::done) ++tally.done;
    if (o == Outcome::failed) ++tally.failed;
    if (o == Outcome::diverged) ++tally.diverged;
    log::debug("task " + plan.tasks[static_cast<std::size_t>(t)].key + ": " + outcome_name(o) + " (group " +
               std::to_string(group) + ")");
    std::string extra;
    if (tally.failed) extra += "failed " + std::to_string(tally.failed);
    if (tally.diverged) extra += std::string(extra.empty() ? "" : ", ") + "diverged " + std::to_string(tally.diverged);
    progress.update(tally.done + tally.failed + tally.diverged, est.fraction(coordinator.inflight_work()), extra);
  };
}

// The store's writer lease, taken by rank 0; every rank fails alike when another job holds it
// (input error) or the lease cannot be written (runtime error: a full disk).
// A job whose lease another job took writes nothing more to the store: no run record and no
// close (the flush would write metadata over the new writer's). The group roots stopped writing
// rows at once (they read the lease before each write); here every rank learns it from rank 0
// (the lease's holder); the store's handle is let go unclosed and the error ends the process
// without HDF5's clean-up (cli's fail: files left open), as after a kill, which the store survives.
void abandon_if_lease_lost(const Groups& groups, const StoreLease* lease, io::Store& store,
                           const std::string& store_path) {
  if (lease && !detail::lease_lost() && !lease->still_held()) detail::lose_lease();
  int lost = groups.world_rank() == 0 && detail::lease_lost() ? 1 : 0;
  // Bound: every rank reaches the end (the coordinator's wait_all and agree_result are bounded).
  MPI_Bcast(&lost, 1, MPI_INT, 0, groups.world());
  if (!lost) return;
  store.abandon();
  throw RuntimeError(lease_path(store_path) +
                     ": another job took this store's lease while this one ran; this job stopped and wrote "
                     "nothing more to " + store_path + " (its finished rows are kept; the other job continues it)");
}

// Every rank learns the lease's token (`token`): the group roots check the lease file against it
// before each write.
std::unique_ptr<StoreLease> take_lease(const ScreenOptions& opt, const Groups& groups, std::string& token) {
  std::unique_ptr<StoreLease> lease;
  std::string error;
  std::int32_t input = 1;
  if (groups.world_rank() == 0) {
    try {
      lease = StoreLease::acquire(opt.cfg.screen.store, opt.lease_timeout, opt.break_lease, &detail::lose_lease);
    } catch (const InputError& e) {
      error = e.what();
    } catch (const RuntimeError& e) {
      error = e.what();
      input = 0;
    }
  }
  if (lease) token = lease->token();
  detail::Wire wire(groups.world_rank() == 0);
  if (groups.world_rank() == 0) wire(error)(input)(token);
  wire.broadcast(groups.world(), 0);
  if (groups.world_rank() != 0) wire(error)(input)(token);
  if (!error.empty() && input) throw InputError(error);
  if (!error.empty()) throw RuntimeError(error);
  return lease;
}

}  // namespace

ScreenResult run_screen(const ScreenOptions& opt, Runtime& /*rt: threads are set by the caller*/) {
  namespace fs = std::filesystem;
  detail::SignalGuard signals;
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
  // One writer per store: rank 0 holds the lease (and its heartbeat) until the store is closed.
  std::string lease_token;
  const std::unique_ptr<StoreLease> lease = take_lease(opt, groups, lease_token);

  detail::DataCache cache(cfg);
  Plan plan;
  {
    PhaseTimer timer(ph.plan);
    plan = share_plan(opt, groups, cache);
  }
  // Models work in the standardised embedding of each split, fitted once here (DESIGN.md 'Data').
  Transforms transforms;
  {
    PhaseTimer timer(ph.plan);
    transforms = fit_screen_transforms(cfg, plan, [&](int fold) -> const data::Dataset& { return cache.get(fold); },
                                       groups.world());
  }
  const auto metric_opts = metrics::options_from_config(cfg.metrics, MPI_COMM_SELF, 0);
  io::StoreSpec spec;
  detail::OpenedStore opened;
  {
    PhaseTimer timer(ph.setup);
    // With an embedding, the metrics of the decoded predictions on the top-k marker genes too.
    auto names = metric_opts.names;
    if (transforms.begin()->second.embeds())
      for (const auto& n : metrics::marker_metric_names(metric_opts.names, metric_opts.top_k)) names.push_back(n);
    spec = detail::store_spec(opt, plan, names, transforms);
    opened = detail::open_screen_store(opt, spec, groups);
  }
  io::Store& store = opened.store;

  detail::RunTally tally;
  std::vector<std::int64_t> order;
  if (root) order = tasks_to_run(plan, spec, opened.finished, groups, store_path, tally);
  std::unique_ptr<data::SynthMaps> truth;
  {
    PhaseTimer timer(ph.setup);
    truth = share_truth(cfg, groups, cache);
  }

  const std::vector<std::int64_t> to_run = order;
  const auto units = share_units(plan, order, cfg.screen.pack, groups);
  const auto controls = share_controls(cfg, plan, transforms, cache, spec, groups, !units.empty(), ph.setup);
  Coordinator coordinator(groups, order, coordinator_options(opt, root ? reservable_units(plan, units) : nullptr));
  coordinator.external_stop = [] { return detail::stop_requested(); };
  if (opt.stop_after >= 0) coordinator.stop_after(opt.stop_after);
  log::Progress progress("screen", static_cast<std::int64_t>(to_run.size()), progress_on);
  WorkEstimate est;
  coordinator.on_task = progress_callback(plan, to_run, tally, progress, coordinator, est);

  detail::TaskContext tctx;
  tctx.cfg = &cfg;
  tctx.plan = &plan;
  tctx.groups = &groups;
  tctx.store = &store;
  tctx.coordinator = &coordinator;
  tctx.cache = &cache;
  tctx.truth = truth.get();
  tctx.transforms = &transforms;
  tctx.controls = &controls;
  tctx.metric_names = spec.metric_names;
  tctx.iid = spec.iid;
  tctx.ckpt_dir = detail::checkpoint_dir(store_path);
  tctx.host = hostname();
  tctx.lease_file = lease_path(store_path);
  tctx.lease_token = lease_token;
  if (progress_on) {
    tctx.keepalive = [&progress, &coordinator, &est] { progress.keepalive(est.fraction(coordinator.inflight_work())); };
    coordinator.on_idle = tctx.keepalive;
  }
  tctx.agree_timeout = cfg.screen.wait_timeout;
  tctx.ph = &ph;
  detail::TaskRunner runner(std::move(tctx));
  coordinator.inflight = [&runner] { return runner.inflight_work(); };
  coordinator.run([&](std::int64_t unit) { return runner.run_unit(units.at(unit)); });
  ph.wait = coordinator.stats().wait;
  ph.idle = coordinator.stats().idle;
  ph.serve = coordinator.stats().serve;

  // ---- the end: agree on the outcome, close the store collectively ----
  const Stamp t_fin = Stamp::now();
  coordinator.wait_all();
  tally.interrupted = runner.any_interrupted() || detail::stop_requested();
  tally.unconverged = runner.unconverged();
  std::string outcome_text;
  ScreenResult result = detail::agree_result(groups, tally, outcome_text);
  abandon_if_lease_lost(groups, lease.get(), store, store_path);
  result.tasks = static_cast<std::int64_t>(plan.tasks.size());
  store.write_provenance_end(log::timestamp_utc(), outcome_text);
  store.close();
  ph.finish = Stamp::now() - t_fin;
  ph.total = Stamp::now() - t_start;
  if (root && result.unfinished == 0) {
    std::error_code ec;
    fs::remove_all(detail::checkpoint_dir(store_path), ec);  // all done: also a killed task's leftovers
  }
  if (progress_on) progress.finish(outcome_text);
  detail::log_phase_summary(groups, ph, tally.done + tally.failed + tally.diverged, progress_on);
  detail::warn_unconverged(groups, tally, spec.metric_names, cfg);
  detail::finish_result(result, root, store_path);
  return result;
}

}  // namespace cellot::screen
