#pragma once
// The results store (docs/STORE.md): one parallel-HDF5 file per screen or shard. Structure is
// created collectively with identical arguments and fully preallocated (early allocation,
// contiguous, fixed-size, fixed-length strings), so that each task's row is written by one rank
// with independent raw-data writes that change no metadata. A row is written before its done
// flag, and a checksum guards the flag, so a job killed at any moment loses at most the tasks in
// flight.
#include <mpi.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cellot/core/hash.hpp"
#include "cellot/io/named_array.hpp"

namespace cellot::io {

enum class TaskState : std::int8_t { pending = 0, running = 1, done = 2, failed = 3, diverged = 4 };
const char* state_name(TaskState s);
std::vector<std::string> state_names();

// One row of /plan.
struct PlanRow {
  std::string key, perturbation, model;
  int fold = 0;
  std::uint64_t seed = 0, task_seed = 0;
  double cost = 0;
  std::int64_t n_control = 0, n_treated = 0;
  std::int64_t prediction_capacity = 0;  // rows reserved in /predictions (save_predictions)
};

// Parameter layout of one model, from an untrained model built at plan time.
struct ParamLayout {
  std::string model;
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> shapes;
  std::int64_t max_size = 0;  // floats reserved per task (>= sum of the shapes' sizes)
};

// Everything that fixes the store's structure; identical on every rank at creation.
struct StoreSpec {
  std::vector<PlanRow> tasks;
  std::vector<std::uint8_t> owned;  // per task: 1 when this store (shard) runs it
  std::string config_ini, plan_text, plan_hash, shard, split_rule;
  std::vector<std::string> perturbations, models, folds, seeds, metric_names, features;
  std::vector<ParamLayout> params;  // models with parameters only
  // Feature transforms fitted for the screen (data/transform.hpp), one per split ("fold0_seed0"),
  // under /transform/<key>; empty for stores written before transforms existed.
  std::vector<std::pair<std::string, ArrayGroup>> transforms;
  const ArrayGroup* transform(const std::string& key) const;
  int curve_points = 256;
  int curve_columns = 8;
  bool save_predictions = false;
  // /effects: each task's predicted and observed mean change from control (d values each), the
  // input of the screen-level discrimination. false for stores written before it existed.
  bool effects = true;
  // A holdout screen: its test split is the held-out group (out of distribution); the "iid:"
  // metric columns and /effects/iid_* score held-out cells of the training groups.
  bool iid = false;
  // The hash of the row checksums and of the data fingerprint in plan_text: root attribute
  // `checksum` ("xxh3-64"); stores written before record none (legacy: FNV-1a-64 rows, the old
  // fingerprint). A resumed or merged store keeps its inputs' scheme.
  HashScheme hash = kCurrentHashScheme;

  std::int64_t size() const { return static_cast<std::int64_t>(tasks.size()); }
  const ParamLayout* param_layout(const std::string& model) const;
};

inline constexpr int kPhases = 5;  // load, train, predict, metrics, write
const std::vector<std::string>& phase_names();

// Everything the group root writes for one task.
struct TaskRow {
  TaskState state = TaskState::pending;
  std::string message;
  double wall_time = 0;
  std::array<double, kPhases> phase_time{};
  int group = -1, rank = -1;
  std::string host, finished_at;
  std::uint64_t checksum = 0;  // filled by write_row / read_row
  // Metrics, one entry per StoreSpec::metric_names (NaN: not available).
  std::vector<double> value, sd;
  std::vector<std::int32_t> iterations;
  // Training curve: column names and rows (thinned to curve_points on write).
  std::vector<std::string> curve_columns;
  std::vector<std::vector<double>> curve_rows;
  // Flat float32 parameters and their layout "name:d0xd1;..." (params_count -1: did not fit).
  std::vector<float> params;
  std::string param_layout;
  std::int64_t params_count = 0;
  // Mean change from the test controls of the predicted and the observed cells (one value per
  // feature; empty: not computed, stored as NaN).
  std::vector<double> predicted_effect, observed_effect;
  std::vector<double> iid_predicted_effect, iid_observed_effect;  // spec.iid only
  // Predictions (rows x features, float32) and the h5ad rows of their source cells.
  std::vector<float> predictions;
  std::vector<std::int64_t> prediction_cells;
};

struct Provenance {
  std::string version, git_hash, library_versions, command_line, start_time, end_time;
  int world_size = 1, ranks_per_task = 1, groups = 1;
  std::vector<std::string> hostnames;
  // How the ranks were started ("srun --mpi=pmix", "mpirun (Open MPI)", ...) and the Slurm job
  // ("job 123 array 120_3 restart 1"). Empty: detected from the environment of the store
  // communicator's rank 0 (detect_launcher, slurm_job_text).
  std::string launcher, slurm;
};

// The launcher of this process, from its environment: mpirun of Open MPI, srun (with its MPI
// plugin), a PMI launcher (MPICH's mpiexec), or none (a singleton).
std::string detect_launcher();
// "job <SLURM_JOB_ID> array <SLURM_ARRAY_JOB_ID>_<SLURM_ARRAY_TASK_ID> restart
// <SLURM_RESTART_COUNT>" with the parts that are set; "" outside Slurm.
std::string slurm_job_text();

// A whole-store snapshot for reporting and merging (small: no params, curves or predictions).
struct StoreSummary {
  std::string path;
  StoreSpec spec;
  std::vector<TaskState> state;  // as stored
  std::vector<bool> trusted;     // done and the checksum matches
  std::vector<std::string> message, host, finished_at;
  std::vector<double> wall_time;
  std::vector<std::int32_t> group;
  std::vector<std::vector<double>> value, sd;     // [task][metric]
  // [task][feature] from /effects; empty when the store has none (spec.effects false).
  std::vector<std::vector<double>> predicted_effect, observed_effect;
  std::vector<std::vector<double>> iid_predicted_effect, iid_observed_effect;  // spec.iid only
  // The latest run's fields as text (from its run record, or the attributes of an older store),
  // plus "git_hashes" (every build that wrote the store or, merged, its inputs) and
  // "mixed_git_hashes" when there is more than one.
  std::map<std::string, std::string> provenance;
  std::vector<std::string> history, hostnames, merged_from;
  std::vector<std::string> git_hashes;
};

class Store {
 public:
  // Creates (truncates) the store: written as creating_path(path), renamed to `path` once its
  // structure and plan table are on disk. Collective over `comm` (MPI_COMM_NULL: serial driver).
  static Store create(const std::string& path, const StoreSpec& spec, MPI_Comm comm);
  // Opens an existing store (InputError when it is not one). Collective over `comm`.
  static Store open(const std::string& path, MPI_Comm comm, bool writable);

  Store();
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  const std::string& path() const;
  const StoreSpec& spec() const;
  std::int64_t size() const { return spec().size(); }

  // ---- independent (the calling rank alone; raw data only) ----
  // Writes the row's metrics, curves, params, predictions and status fields, then the checksum,
  // then row.state. The row's state must not be `running` or `pending`.
  void write_row(std::int64_t task, const TaskRow& row);
  // Writes only the state flag (running at task start, pending after an interruption).
  void write_state(std::int64_t task, TaskState state);
  TaskRow read_row(std::int64_t task) const;
  std::vector<TaskState> read_states() const;
  // Done flags whose row checksum matches (what --resume, merge and report trust).
  std::vector<bool> trusted_done() const;
  StoreSummary summary() const;

  // ---- collective over the store's communicator ----
  // Starts a run: rank 0 appends the run's start record to /provenance/runs (raw data into
  // preallocated slots, never a metadata change; docs/STORE.md) and the file is flushed, so a run
  // killed later keeps its line ("no end recorded"). Collective (the flush).
  void write_provenance_start(const Provenance& p);
  // Ends the current run: its end record (end time, outcome), appended after the start record.
  void write_provenance_end(const std::string& end_time, const std::string& outcome);
  void write_merged_from(const std::vector<std::string>& sources);
  // Provenance of other stores kept in this one (merge: its inputs' history lines, prefixed
  // with their file, and their git hashes), as attributes: only for a store not yet published
  // (merge's temporary file). Call before write_provenance_start so the lines precede this run's.
  void append_provenance(const std::vector<std::string>& history, const std::vector<std::string>& git_hashes);
  void close();
  // Lets go of the file without closing it (a close flushes metadata): for a writer that must
  // not write again (another job took its lease). The process then ends without HDF5's
  // clean-up; on disk the store is as after a kill.
  void abandon();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The first dataset whose path, type or shape differs between stores of these two specs (from
// the store's one schema table), e.g. "/metrics/value [12 x 9] vs [12 x 10]"; "" when none.
// Rows of one store can be written into the other only when this is "".
std::string layout_difference(const StoreSpec& have, const StoreSpec& want);

// Where Store::create builds a store before renaming it into place ("<path>.creating").
std::string creating_path(const std::string& path);

// The hash scheme recorded in the store at `path` (root attribute `checksum`; legacy when absent).
// Opens the file alone (serial driver) and closes it; InputError when it is not a readable store.
HashScheme stored_hash_scheme(const std::string& path);

// "name:d0xd1;name:d0" <-> names and shapes.
std::string format_layout(const std::vector<std::string>& names, const std::vector<std::vector<std::int64_t>>& shapes);

}  // namespace cellot::io
