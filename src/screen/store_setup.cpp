#include "detail/store_setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/models/model.hpp"
#include "cellot/screen/merge.hpp"
#include "cellot/core/version.hpp"

namespace cellot::screen::detail {

namespace {

std::vector<std::string> gather_hostnames(MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  std::vector<char> all(static_cast<std::size_t>(size) * MPI_MAX_PROCESSOR_NAME, 0);
  // Bound: set-up collective reached by every rank in the same order; an error aborts the job
  // (cli/commands.cpp fail()).
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, comm);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) {
    std::string h(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

void check_resumable(const io::Store& store, const io::StoreSpec& spec, const std::string& path) {
  const auto& have = store.spec();
  check_same_plan(have, spec, path, "this config");
  if (have.shard != spec.shard)
    throw InputError(path, "shard",
                     (have.shard.empty() ? "none" : have.shard) + " (store) vs " +
                         (spec.shard.empty() ? "none" : spec.shard) + " (--shard)",
                     "the store belongs to another shard of the plan");
  check_same_layout(have, spec, path);
}

}  // namespace

std::vector<io::ParamLayout> param_layouts(const Config& cfg, const Plan& plan, std::int64_t d) {
  std::vector<io::ParamLayout> out;
  for (const auto& model : plan.models) {
    Config c = cfg;
    c.model.name = model;
    const auto params = models::make_model(c, d)->parameters();
    io::ParamLayout p;
    p.model = model;
    for (const auto& t : params) {
      p.names.push_back(t.name);
      p.shapes.push_back(t.shape);
    }
    // The widest row the model may store: a grid's largest candidate, the floor's cell pool.
    std::int64_t treated_test_max = 0;
    for (const auto& t : plan.tasks)
      if (t.model == model) treated_test_max = std::max(treated_test_max, t.n_treated_test);
    p.max_size = models::max_stored_params(c, d, treated_test_max);
    if (p.max_size > 0) out.push_back(std::move(p));
  }
  return out;
}

io::StoreSpec store_spec(const ScreenOptions& opt, const Plan& plan, const std::vector<std::string>& metric_names,
                         const Transforms& transforms) {
  const Config& cfg = opt.cfg;
  io::StoreSpec spec;
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
  spec.hash = plan.fingerprint_hash;  // one scheme for the store's fingerprint and its row checksums
  spec.split_rule = split_rule_text(cfg);
  spec.perturbations = plan.perturbations;
  spec.models = plan.models;
  for (int f : plan.folds) spec.folds.push_back(std::to_string(f));
  for (auto s : plan.seeds) spec.seeds.push_back(std::to_string(s));
  spec.metric_names = metric_names;
  // A holdout screen's test split is the held-out group (ood); it also scores held-out cells of
  // the training groups (iid), in columns "iid:<metric>" and /effects/iid_*.
  spec.iid = cfg.data.split == "holdout";
  if (spec.iid)
    for (const auto& n : metric_names) spec.metric_names.push_back("iid:" + n);
  spec.features = plan.features;
  spec.params = param_layouts(cfg, plan, transforms.begin()->second.dim());
  spec.transforms = to_store(transforms);
  spec.save_predictions = cfg.screen.save_predictions;
  spec.owned.assign(plan.tasks.size(), 1);
  if (opt.shard) {
    spec.shard = std::to_string(opt.shard->index) + "/" + std::to_string(opt.shard->count);
    const auto owner = shard_owners(plan, opt.shard->count);
    for (std::size_t t = 0; t < owner.size(); ++t) spec.owned[t] = owner[t] == opt.shard->index ? 1 : 0;
  }
  return spec;
}

OpenedStore open_screen_store(const ScreenOptions& opt, const io::StoreSpec& spec, const Groups& groups) {
  namespace fs = std::filesystem;
  const std::string& path = opt.cfg.screen.store;
  const bool root = groups.world_rank() == 0;
  const std::string ckpt_dir = checkpoint_dir(path);
  int exists = 0;
  if (root) {
    exists = fs::exists(path) ? 1 : 0;
    // A store whose creation was killed never reached `path`: start it afresh.
    std::error_code ec;
    if (fs::exists(io::creating_path(path), ec)) {
      log::warn("screen: " + io::creating_path(path) + " is a store whose creation was interrupted; removed" +
                (exists ? "" : std::string(", the store starts afresh")));
      fs::remove(io::creating_path(path), ec);
    }
  }
  // Bound: rank 0's checks are file-system calls; it always broadcasts, the others wait for that only.
  MPI_Bcast(&exists, 1, MPI_INT, 0, groups.world());
  if (exists && !opt.resume)
    throw InputError(opt.origin, "--store", path, "exists: pass --resume to continue it, or choose another store path");
  OpenedStore out;
  out.finished.assign(spec.tasks.size(), false);
  if (exists) {
    out.store = io::Store::open(path, groups.world(), true);
    check_resumable(out.store, spec, path);
    if (root) {
      const auto trusted = out.store.trusted_done();
      const auto states = out.store.read_states();
      for (std::size_t t = 0; t < trusted.size(); ++t)
        out.finished[t] = trusted[t] && states[t] == io::TaskState::done;
    }
  } else {
    if (root) {
      std::error_code ec;
      fs::remove_all(ckpt_dir, ec);  // checkpoints of an older store at this path
    }
    out.store = io::Store::create(path, spec, groups.world());
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
  out.store.write_provenance_start(p);
  return out;
}

}  // namespace cellot::screen::detail
