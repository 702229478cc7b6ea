#include <filesystem>
#include <iostream>

#include "cellot/cli/command_line.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/nn/threads.hpp"
#include "cellot/data/dataset.hpp"
#include "cellot/metrics/metrics.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/screen/screen.hpp"

namespace cellot::cli {

namespace {

// Tasks of the plan `cellot screen` would run with this config (all of them, or those of one
// shard): the same make_plan, so every override and every check of the plan applies. Reads
// obs of the data file, not X (no fingerprint: it does not change the count).
std::int64_t count_tasks(const Config& cfg, const std::string& origin, const std::optional<screen::Shard>& shard) {
  const data::Dataset ds(cfg.data);
  screen::PlanInput in;
  in.perturbations = ds.perturbations();
  in.n_control = ds.count(cfg.data.control);
  for (const auto& p : in.perturbations) in.n_treated.push_back(ds.count(p));
  in.features = ds.features();
  in.data_fingerprint = screen::kNoFingerprint;
  const screen::Plan plan = screen::make_plan(cfg, in, origin);
  if (!shard) return plan.size();
  std::int64_t n = 0;
  for (int owner : screen::shard_owners(plan, shard->count)) n += owner == shard->index ? 1 : 0;
  return n;
}

}  // namespace

int cmd_screen(int argc, char** argv, Runtime& rt) {
  CommandSpec spec;
  spec.name = "screen";
  spec.usage =
      "mpiexec -n N cellot screen --config C.ini [--store results.h5] [--ranks-per-task R] [--shard i/n] [--resume] "
      "[--quiet]\n"
      "       cellot screen --config C.ini [overrides] --count-tasks [--shard i/n]\n"
      "       cellot screen --config C.ini [overrides] --print-config > frozen.ini";
  spec.description =
      "The batch system: every perturbation x model (screen.models) x fold (screen.folds) x seed (screen.seeds)\n"
      "is one task. The world splits into groups of R ranks (R = --ranks-per-task, world size a multiple of R);\n"
      "world rank 0 hands tasks to groups dynamically, most expensive first. Each task trains on the training\n"
      "split, selects on the validation split, predicts the test controls and writes its metrics, curves and\n"
      "parameters into the store (docs/STORE.md). --resume continues a store of the same plan (a missing store\n"
      "starts fresh); --shard i/n runs a cost-balanced share of the plan (merge the shards with cellot merge).\n"
      "SIGTERM / SIGUSR1 checkpoint running tasks, close the store and exit 1: requeue and run with --resume.\n"
      "One job writes a store at a time: S.lease beside it names the writer (host, pid, Slurm job) and is\n"
      "touched every --lease-timeout/4 s; a second writer exits 2 naming it. A lease without a heartbeat for\n"
      "--lease-timeout seconds, of a process gone from this host, or of an earlier run of the same Slurm job\n"
      "is broken with a warning; --break-lease breaks any.\n"
      "--count-tasks prints the number of tasks of the plan (of shard i with --shard i/n) and exits;\n"
      "--print-config prints the resolved config (file, then every --section.key override) with data.path\n"
      "made absolute, for jobs that start later in another directory (jobs/submit-screen). Neither runs MPI\n"
      "work or touches the store.";
  spec.options.add_options()("store,s", po::value<std::string>(), "results store (overrides screen.store)")(
      "ranks-per-task,r", po::value<int>(), "ranks per task group (overrides screen.ranks_per_task)")(
      "shard", po::value<std::string>(), "run shard i of n (0-based), e.g. 0/4")(
      "resume", "continue an existing store of the same plan (only tasks without a done flag run)")(
      "stop-after", po::value<std::int64_t>(),
      "test hook: stop handing out tasks once this many are done (a pack of screen.pack counts once), then close the store (exit 1)")(
      "prefetch", po::value<int>()->default_value(2),
      "tasks each group root reserves ahead of the one it runs (0: ask only when idle)")(
      "lease-timeout", po::value<double>()->default_value(300),
      "seconds without a heartbeat after which another job's lease on the store counts as stale")(
      "break-lease", "take the store's lease even if another job holds it (only if that job is known to be dead)")(
      "count-tasks", "print the plan's task count (with --shard i/n: the shard's) and exit")(
      "print-config", "print the resolved config with an absolute data.path and exit");
  Config cfg;
  auto cl = parse(spec, argc, argv, cfg, rt);
  if (!cl) return kExitOk;
  const std::string origin = cl->config_path.empty() ? "command line" : cl->config_path;
  if (cl->has("store")) cfg.screen.store = cl->get<std::string>("store");
  // Metric names are known only to the metrics layer: checked here, under the origin of the key,
  // before the data is read or the store touched.
  cl->with_origins([&](const std::string&) { metrics::options_from_config(cfg.metrics, MPI_COMM_SELF, 0); });
  if (cl->has("ranks-per-task")) {
    cfg.screen.ranks_per_task = cl->get<int>("ranks-per-task");
    validate(cfg, "command line");
  }
  if (cl->has("count-tasks") || cl->has("print-config")) {
    if (cl->has("count-tasks") && cl->has("print-config"))
      throw InputError("command line", "--count-tasks", "", "give --count-tasks or --print-config, not both");
    std::optional<screen::Shard> shard;
    if (cl->has("shard")) shard = screen::parse_shard(cl->get<std::string>("shard"), "command line");
    if (rt.world_rank() != 0) return kExitOk;  // serial work: rank 0 answers
    if (cl->has("count-tasks")) {
      std::cout << count_tasks(cfg, origin, shard) << std::endl;
    } else {
      // Relative to this directory, as `cellot screen` here would open it.
      if (!cfg.data.path.empty()) cfg.data.path = std::filesystem::absolute(cfg.data.path).lexically_normal().string();
      std::cout << "# cellot screen --print-config of " << origin << "\n" << cfg.to_ini() << std::flush;
    }
    return kExitOk;
  }
  // The store and its lease go beside it: a directory, or a directory this user cannot write, is
  // bad input found before any work (an existing store's own permissions are checked on opening).
  if (cl->has("store"))
    check_output_file(cfg.screen.store, "--store");
  else if (!cfg.screen.store.empty())
    check_output_file(cfg.screen.store, "screen.store", cl->origin_of("screen.store"));
  screen::ScreenOptions opt;
  opt.cfg = cfg;
  opt.origin = origin;
  opt.resume = cl->has("resume");
  opt.quiet = cl->quiet;
  opt.prefetch = cl->get<int>("prefetch");
  if (opt.prefetch < 0) throw InputError("command line", "--prefetch", std::to_string(opt.prefetch), "must be >= 0");
  opt.lease_timeout = cl->get<double>("lease-timeout");
  if (!(opt.lease_timeout >= 1))
    throw InputError("command line", "--lease-timeout", std::to_string(opt.lease_timeout), "must be >= 1 second");
  opt.break_lease = cl->has("break-lease");
  if (cl->has("shard")) opt.shard = screen::parse_shard(cl->get<std::string>("shard"), "command line");
  if (cl->has("stop-after")) {
    opt.stop_after = cl->get<std::int64_t>("stop-after");
    if (opt.stop_after < 0)
      throw InputError("command line", "--stop-after", std::to_string(opt.stop_after), "must be >= 0");
  }
  for (int i = 0; i < argc; ++i) opt.command_line += (i ? " " : "cellot ") + std::string(argv[i]);
  nn::set_threads(rt, cfg.training.threads);
  return screen::run_screen(opt, rt).exit_code;
}

}  // namespace cellot::cli
