#include "cellot/core/model_kinds.hpp"
#include "cellot/core/config.hpp"

#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/core/hash.hpp"

namespace po = boost::program_options;

namespace cellot {

namespace {

// Optional scalars are declared as strings for Boost and converted at notify time, so that an
// unset value stays "model default" rather than a number that must be guessed.
template <class T>
void parse_optional(const std::string& text, std::optional<T>& out, const char* key) {
  if (text.empty() || text == "auto") {
    out.reset();
    return;
  }
  std::istringstream is(text);
  T v{};
  is >> v;
  if (!is || !is.eof()) throw InputError("config", key, text, "not a number");
  out = v;
}

std::string fmt_double(double v) {
  std::ostringstream os;
  os << std::setprecision(17) << v;
  return os.str();
}

}  // namespace

int Config::batch_size() const {
  if (training.batch_size) return *training.batch_size;
  const ModelKind* k = find_model_kind(model.name);
  return k ? k->default_batch_size : ModelKind{}.default_batch_size;
}

double Config::lr() const {
  if (training.lr) return *training.lr;
  const ModelKind* k = find_model_kind(model.name);
  return k ? k->default_lr : ModelKind{}.default_lr;
}

std::int64_t Config::patience() const {
  if (training.patience) return *training.patience;
  const ModelKind* k = find_model_kind(model.name);
  const std::int64_t iters = k ? k->default_patience_iters : 0;
  if (iters <= 0 || training.eval_every <= 0) return 0;
  return (iters + training.eval_every - 1) / training.eval_every;
}

std::int64_t Config::min_iters() const {
  if (training.min_iters) return *training.min_iters;
  const ModelKind* k = find_model_kind(model.name);
  return k ? k->default_min_iters : 0;
}

void add_config_options(po::options_description& desc, Config& c) {
  // clang-format off
  desc.add_options()
    ("data.path", po::value(&c.data.path), "input .h5ad")
    ("data.condition_key", po::value(&c.data.condition_key)->default_value(c.data.condition_key), "obs column naming the condition")
    ("data.control", po::value(&c.data.control)->default_value(c.data.control), "control label")
    ("data.perturbations", po::value(&c.data.perturbations)->default_value(c.data.perturbations), "comma list or 'all'")
    ("data.preprocess", po::value(&c.data.preprocess)->default_value(c.data.preprocess), "none | 4i")
    ("data.split", po::value(&c.data.split)->default_value(c.data.split), "train_val_test | kfold | holdout")
    ("data.test_fraction", po::value(&c.data.test_fraction)->default_value(c.data.test_fraction), "test fraction per condition")
    ("data.val_fraction", po::value(&c.data.val_fraction)->default_value(c.data.val_fraction), "validation fraction per condition")
    ("data.folds", po::value(&c.data.folds)->default_value(c.data.folds), "k for kfold")
    ("data.fold", po::value(&c.data.fold)->default_value(c.data.fold), "test fold index for kfold")
    ("data.holdout_key", po::value(&c.data.holdout_key), "obs column for out-of-sample holdout")
    ("data.holdout_value", po::value(&c.data.holdout_value), "held-out value of holdout_key")
    ("data.stratify_key", po::value(&c.data.stratify_key), "obs column to stratify splits by")
    ("data.layer", po::value(&c.data.layer)->default_value(c.data.layer), "matrix modelled: X | raw | layers/<name>")
    ("data.standardize", po::value(&c.data.standardize)->default_value(c.data.standardize), "true | global | false: standardise the model's features with training-split statistics")
    ("data.embedding", po::value(&c.data.embedding)->default_value(c.data.embedding), "none | pca:K | obsm:KEY | ae:K: train and predict in an embedding fitted on the training split")
    ("data.ae_width", po::value(&c.data.ae_width)->default_value(c.data.ae_width), "ae:K: hidden width of the embedding autoencoder")
    ("data.ae_depth", po::value(&c.data.ae_depth)->default_value(c.data.ae_depth), "ae:K: hidden layers of its encoder and of its decoder")
    ("data.ae_epochs", po::value(&c.data.ae_epochs)->default_value(c.data.ae_epochs), "ae:K: training epochs (at most)")
    ("data.ae_lr", po::value(&c.data.ae_lr)->default_value(c.data.ae_lr), "ae:K: Adam learning rate")
    ("data.ae_batch_size", po::value(&c.data.ae_batch_size)->default_value(c.data.ae_batch_size), "ae:K: batch size")
    ("data.ae_patience", po::value(&c.data.ae_patience)->default_value(c.data.ae_patience), "ae:K: epochs without a better validation loss before stopping (0: never stop early)")
    ("model.name", po::value(&c.model.name)->default_value(c.model.name), "cellot | scgen | cae | identity | observed | mean_shift")
    ("model.hidden", po::value(&c.model.hidden)->default_value(c.model.hidden), "ICNN hidden widths")
    ("model.width", po::value(&c.model.width)->default_value(c.model.width), "autoencoder width")
    ("model.depth", po::value(&c.model.depth)->default_value(c.model.depth), "autoencoder depth")
    ("model.latent", po::value(&c.model.latent)->default_value(c.model.latent), "autoencoder latent size")
    ("model.dropout", po::value(&c.model.dropout)->default_value(c.model.dropout), "autoencoder dropout")
    ("model.grid", po::value(&c.model.grid)->default_value(c.model.grid), "autoencoder grid search on validation")
    ("training.iters", po::value(&c.training.iters)->default_value(c.training.iters), "outer iterations")
    ("training.epochs", po::value(&c.training.epochs)->default_value(c.training.epochs), "autoencoder epochs (overrides iters when > 0)")
    ("training.batch_size", po::value<std::string>()->default_value("auto")->notifier([&c](const std::string& s) { parse_optional(s, c.training.batch_size, "training.batch_size"); }), "batch size (auto: model default)")
    ("training.inner_iters", po::value(&c.training.inner_iters)->default_value(c.training.inner_iters), "g steps per f step")
    ("training.micro_batches", po::value(&c.training.micro_batches)->default_value(c.training.micro_batches), "micro-batches per batch: units of work of ranks and threads (part of the numerics)")
    ("training.lr", po::value<std::string>()->default_value("auto")->notifier([&c](const std::string& s) { parse_optional(s, c.training.lr, "training.lr"); }), "learning rate (auto: model default)")
    ("training.beta1", po::value(&c.training.beta1)->default_value(c.training.beta1), "Adam beta1")
    ("training.beta2", po::value(&c.training.beta2)->default_value(c.training.beta2), "Adam beta2")
    ("training.g_penalty", po::value(&c.training.g_penalty)->default_value(c.training.g_penalty), "penalty on negative W of g")
    ("training.eval_every", po::value(&c.training.eval_every)->default_value(c.training.eval_every), "validation every N iterations")
    ("training.patience", po::value<std::string>()->default_value("auto")->notifier([&c](const std::string& s) { parse_optional(s, c.training.patience, "training.patience"); }), "early stopping: evaluations without a new best validation value before training stops (0: off; auto: the model's default, cellot 50,000 iterations over eval_every, others off)")
    ("training.min_iters", po::value<std::string>()->default_value("auto")->notifier([&c](const std::string& s) { parse_optional(s, c.training.min_iters, "training.min_iters"); }), "early stopping: never before this many iterations (auto: the model's default, cellot 20,000)")
    ("training.checkpoint_every", po::value(&c.training.checkpoint_every)->default_value(c.training.checkpoint_every), "checkpoint every N iterations")
    ("training.seed", po::value(&c.training.seed)->default_value(c.training.seed), "seed")
    ("training.threads", po::value(&c.training.threads)->default_value(c.training.threads), "torch threads per rank (0: auto)")
    ("training.select_metric", po::value(&c.training.select_metric)->default_value(c.training.select_metric), "validation metric selecting the iterate: energy | mmd_median | mmd")
    ("screen.models", po::value(&c.screen.models)->default_value(c.screen.models), "comma list of models")
    ("screen.seeds", po::value(&c.screen.seeds)->default_value(c.screen.seeds), "comma list of seeds")
    ("screen.folds", po::value(&c.screen.folds)->default_value(c.screen.folds), "number of folds to run")
    ("screen.ranks_per_task", po::value(&c.screen.ranks_per_task)->default_value(c.screen.ranks_per_task), "ranks per task group")
    ("screen.store", po::value(&c.screen.store)->default_value(c.screen.store), "results store")
    ("screen.save_predictions", po::value(&c.screen.save_predictions)->default_value(c.screen.save_predictions), "keep predictions in the store")
    ("screen.poll_ms", po::value(&c.screen.poll_ms)->default_value(c.screen.poll_ms), "coordinator probe interval inside rank 0's training (ms)")
    ("screen.wait_timeout", po::value(&c.screen.wait_timeout)->default_value(c.screen.wait_timeout), "fail after waiting this long for the coordinator or group (s, 0: never)")
    ("screen.pack", po::value(&c.screen.pack)->default_value(c.screen.pack), "tasks of one model kind trained together on a group (1: one at a time)")
    ("metrics.names", po::value(&c.metrics.names)->default_value(c.metrics.names), "comma list or 'all'")
    ("metrics.mmd_gammas", po::value(&c.metrics.mmd_gammas)->default_value(c.metrics.mmd_gammas), "RBF gammas")
    ("metrics.epsilon", po::value(&c.metrics.epsilon)->default_value(c.metrics.epsilon), "entropic regularisation")
    ("metrics.max_cells", po::value(&c.metrics.max_cells)->default_value(c.metrics.max_cells), "subsample to at most N cells (0: all)")
    ("metrics.bootstrap", po::value(&c.metrics.bootstrap)->default_value(c.metrics.bootstrap), "bootstrap resamples (0: none)")
    ("metrics.knn_k", po::value(&c.metrics.knn_k)->default_value(c.metrics.knn_k), "k for knn_mix")
    ("metrics.top_k", po::value(&c.metrics.top_k)->default_value(c.metrics.top_k), "marker-gene counts for pearson_delta@k, direction_acc@k")
    ("metrics.sinkhorn_tol", po::value(&c.metrics.sinkhorn_tol)->default_value(c.metrics.sinkhorn_tol), "Sinkhorn stop: L2 marginal error")
    ("metrics.sinkhorn_max_iter", po::value(&c.metrics.sinkhorn_max_iter)->default_value(c.metrics.sinkhorn_max_iter), "Sinkhorn iteration cap");
  // clang-format on
}

namespace {
// The value text of `key` ("section.name") as written in the INI file: Boost's errors carry it
// only inside a sentence. Empty when not found.
std::string ini_value(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line, section;
  auto trim = [](std::string t) {
    const auto b = t.find_first_not_of(" \t\r");
    const auto e = t.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line.substr(0, line.find('#')));  // Boost ends a line at '#'
    if (line.empty() || line[0] == ';') continue;
    if (line[0] == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = trim(line.substr(0, eq));
    if ((section.empty() ? name : section + "." + name) == key) return trim(line.substr(eq + 1));
  }
  return "";
}
}  // namespace

void refuse_negative_unsigned(const po::options_description& desc, const std::string& key, const std::string& value,
                              const std::string& origin, const std::string& shown_key) {
  const po::option_description* d = desc.find_nothrow(key, false);
  if (!d || !dynamic_cast<const po::typed_value<std::uint64_t>*>(d->semantic().get())) return;
  if (value.find('-') != std::string::npos)
    throw InputError(origin, shown_key, value, "invalid value: expected a non-negative integer");
}

namespace {

// Text as the one-line error shows it: control and non-ASCII bytes as \xNN.
std::string printable(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// The file itself, before Boost reads it: a directory, an empty file or a binary file is not a
// config (Boost would read a directory or an empty file as a config without keys).
void check_config_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, "--config", path, "cannot open config file");
  if (S_ISDIR(st.st_mode)) throw InputError(path, "--config", path, "is a directory, not a config file");
  if (st.st_size == 0)
    throw InputError(path, "--config", path, "is empty (a config file holds [section] and key = value lines)");
  std::ifstream in(path, std::ios::binary);
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.find('\0') != std::string::npos)
    throw InputError(path, "--config", path, "is a binary file, not a text config file (starts '" +
                                                 printable(head.substr(0, 8)) + "')");
}

}  // namespace

void apply_config_file(const std::string& path, const po::options_description& desc, po::variables_map& vm) {
  check_config_file(path);
  std::ifstream in(path);
  if (!in) throw InputError(path, "--config", path, "cannot open config file");
  po::parsed_options parsed(&desc);
  try {
    parsed = po::parse_config_file(in, desc, /*allow_unregistered=*/false);
    for (const auto& o : parsed.options)
      for (const auto& v : o.value) refuse_negative_unsigned(desc, o.string_key, v, path, o.string_key);
    po::store(parsed, vm);
  } catch (const po::unknown_option& e) {
    throw InputError(path, e.get_option_name(), ini_value(path, e.get_option_name()), "unknown config key");
  } catch (const po::validation_error& e) {
    throw InputError(path, e.get_option_name(), ini_value(path, e.get_option_name()),
                     "invalid value for this key (see cellot <command> --help for its type)");
  } catch (const po::multiple_occurrences& e) {
    std::vector<std::string> values;
    for (const auto& o : parsed.options)
      if (o.string_key == e.get_option_name() && !o.value.empty()) values.push_back(printable(o.value.front()));
    throw InputError(path, e.get_option_name(), values.empty() ? "" : values.front(),
                     "given more than once" + (values.size() > 1 ? " (again as '" + values[1] + "')" : std::string()) +
                         "; keep one");
  } catch (const po::invalid_config_file_syntax& e) {
    throw InputError(path, "line", printable(e.tokens()), "not a config line ([section], key = value or # comment)");
  } catch (const po::error& e) {
    throw InputError(path, "", "", printable(e.what()));
  }
}

std::string Config::to_ini() const {
  std::ostringstream os;
  os << "[data]\n"
     << "path = " << data.path << "\n"
     << "condition_key = " << data.condition_key << "\n"
     << "control = " << data.control << "\n"
     << "perturbations = " << data.perturbations << "\n"
     << "preprocess = " << data.preprocess << "\n"
     << "split = " << data.split << "\n"
     << "test_fraction = " << fmt_double(data.test_fraction) << "\n"
     << "val_fraction = " << fmt_double(data.val_fraction) << "\n"
     << "folds = " << data.folds << "\n"
     << "fold = " << data.fold << "\n"
     << "holdout_key = " << data.holdout_key << "\n"
     << "holdout_value = " << data.holdout_value << "\n"
     << "stratify_key = " << data.stratify_key << "\n"
     << "layer = " << data.layer << "\n"
     << "standardize = " << data.standardize << "\n"
     << "embedding = " << data.embedding << "\n";
  // Only an ae:K config names the autoencoder's settings: the configs (and plan hashes) of the
  // other embeddings stay as they were.
  if (data.embedding.rfind("ae:", 0) == 0)
    os << "ae_width = " << data.ae_width << "\n"
       << "ae_depth = " << data.ae_depth << "\n"
       << "ae_epochs = " << data.ae_epochs << "\n"
       << "ae_lr = " << fmt_double(data.ae_lr) << "\n"
       << "ae_batch_size = " << data.ae_batch_size << "\n"
       << "ae_patience = " << data.ae_patience << "\n";
  os
     << "\n[model]\n"
     << "name = " << model.name << "\n"
     << "hidden = " << model.hidden << "\n"
     << "width = " << model.width << "\n"
     << "depth = " << model.depth << "\n"
     << "latent = " << model.latent << "\n"
     << "dropout = " << fmt_double(model.dropout) << "\n"
     << "grid = " << (model.grid ? "true" : "false") << "\n"
     << "\n[training]\n"
     << "iters = " << training.iters << "\n"
     << "epochs = " << training.epochs << "\n"
     << "batch_size = " << (training.batch_size ? std::to_string(*training.batch_size) : "auto") << "\n"
     << "inner_iters = " << training.inner_iters << "\n"
     << "micro_batches = " << training.micro_batches << "\n"
     << "lr = " << (training.lr ? fmt_double(*training.lr) : "auto") << "\n"
     << "beta1 = " << fmt_double(training.beta1) << "\n"
     << "beta2 = " << fmt_double(training.beta2) << "\n"
     << "g_penalty = " << fmt_double(training.g_penalty) << "\n"
     << "eval_every = " << training.eval_every << "\n"
     << "patience = " << (training.patience ? std::to_string(*training.patience) : "auto") << "\n"
     << "min_iters = " << (training.min_iters ? std::to_string(*training.min_iters) : "auto") << "\n"
     << "checkpoint_every = " << training.checkpoint_every << "\n"
     << "seed = " << training.seed << "\n"
     << "threads = " << training.threads << "\n"
     << "select_metric = " << training.select_metric << "\n"
     << "\n[screen]\n"
     << "models = " << screen.models << "\n"
     << "seeds = " << screen.seeds << "\n"
     << "folds = " << screen.folds << "\n"
     << "ranks_per_task = " << screen.ranks_per_task << "\n"
     << "store = " << screen.store << "\n"
     << "save_predictions = " << (screen.save_predictions ? "true" : "false") << "\n"
     << "poll_ms = " << fmt_double(screen.poll_ms) << "\n"
     << "wait_timeout = " << fmt_double(screen.wait_timeout) << "\n";
  // Only when set: the config text of every existing store (and its plan hash) stays as it was.
  if (screen.pack != 1) os << "pack = " << screen.pack << "\n";
  os
     << "\n[metrics]\n"
     << "names = " << metrics.names << "\n"
     << "mmd_gammas = " << metrics.mmd_gammas << "\n"
     << "epsilon = " << fmt_double(metrics.epsilon) << "\n"
     << "max_cells = " << metrics.max_cells << "\n"
     << "bootstrap = " << metrics.bootstrap << "\n"
     << "knn_k = " << metrics.knn_k << "\n"
     << "top_k = " << metrics.top_k << "\n"
     << "sinkhorn_tol = " << fmt_double(metrics.sinkhorn_tol) << "\n"
     << "sinkhorn_max_iter = " << metrics.sinkhorn_max_iter << "\n";
  return os.str();
}

Config parse_ini_text(const std::string& text, const std::string& origin) {
  Config cfg;
  po::options_description desc;
  add_config_options(desc, cfg);
  po::variables_map vm;
  std::istringstream in(text);
  try {
    po::store(po::parse_config_file(in, desc, false), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw InputError(origin, e.get_option_name(), "", "unknown config key");
  } catch (const po::error& e) {
    throw InputError(origin, "", "", e.what());
  }
  validate(cfg, origin);
  return cfg;
}

namespace {
void require_one_of(const std::string& origin, const char* key, const std::string& value,
                    const std::vector<std::string>& allowed) {
  for (const auto& a : allowed)
    if (value == a) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : "|") + a;
  throw InputError(origin, key, value, "must be one of " + list);
}
}  // namespace

void validate(const Config& c, const std::string& origin) {
  require_one_of(origin, "data.preprocess", c.data.preprocess, {"none", "4i"});
  require_one_of(origin, "data.standardize", c.data.standardize, {"true", "global", "false"});
  require_one_of(origin, "training.select_metric", c.training.select_metric, {"energy", "mmd_median", "mmd"});
  {
    const std::string& e = c.data.embedding;
    const auto colon = e.find(':');
    const std::string kind = e.substr(0, colon), arg = colon == std::string::npos ? "" : e.substr(colon + 1);
    bool ok = e == "none" || (kind == "obsm" && !arg.empty());
    if (kind == "pca" || kind == "ae") {
      std::size_t used = 0;
      long long k = 0;
      try {
        k = std::stoll(arg, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      ok = !arg.empty() && used == arg.size() && k >= 1 && k <= 10000;
    }
    if (!ok) throw InputError(origin, "data.embedding", e, "must be none, pca:K or ae:K (1 <= K <= 10000) or obsm:KEY");
  }
  if (c.data.embedding.rfind("ae:", 0) == 0) {
    auto positive = [&](const char* key, long long v, long long hi) {
      if (v < 1 || v > hi) throw InputError(origin, key, std::to_string(v), "must be in 1.." + std::to_string(hi));
    };
    positive("data.ae_width", c.data.ae_width, 100000);
    positive("data.ae_depth", c.data.ae_depth, 16);
    positive("data.ae_epochs", c.data.ae_epochs, 100000);
    positive("data.ae_batch_size", c.data.ae_batch_size, 1 << 20);
    if (c.data.ae_patience < 0)
      throw InputError(origin, "data.ae_patience", std::to_string(c.data.ae_patience), "must be >= 0");
    if (!(c.data.ae_lr > 0 && c.data.ae_lr < 1))
      throw InputError(origin, "data.ae_lr", fmt_double(c.data.ae_lr), "must be in (0, 1)");
  }
  require_one_of(origin, "data.split", c.data.split, {"train_val_test", "kfold", "holdout"});
  if (c.data.layer != "X" && c.data.layer != "raw" &&
      (c.data.layer.rfind("layers/", 0) != 0 || c.data.layer.size() == 7 ||
       c.data.layer.find('/', 7) != std::string::npos))
    throw InputError(origin, "data.layer", c.data.layer, "must be X, raw or layers/<name>");
  for (const auto& m : split_list(c.screen.models))
    require_one_of(origin, "screen.models", m, model_names());
  require_one_of(origin, "model.name", c.model.name, model_names());
  auto frac = [&](const char* key, double v) {
    if (!(v >= 0.0 && v < 1.0)) throw InputError(origin, key, fmt_double(v), "must be in [0, 1)");
  };
  frac("data.test_fraction", c.data.test_fraction);
  frac("data.val_fraction", c.data.val_fraction);
  if (c.data.test_fraction + c.data.val_fraction >= 1.0)
    throw InputError(origin, "data.val_fraction", fmt_double(c.data.val_fraction),
                     "test_fraction + val_fraction must be < 1");
  if (c.data.folds < 2 && c.data.split == "kfold")
    throw InputError(origin, "data.folds", std::to_string(c.data.folds), "kfold needs at least 2 folds");
  if (c.data.fold < 0 || (c.data.split == "kfold" && c.data.fold >= c.data.folds))
    throw InputError(origin, "data.fold", std::to_string(c.data.fold), "must be in [0, data.folds)");
  if (c.data.split == "holdout" && (c.data.holdout_key.empty() || c.data.holdout_value.empty()))
    throw InputError(origin, "data.holdout_key", c.data.holdout_key, "split = holdout needs holdout_key and holdout_value");
  if (c.training.iters < 0) throw InputError(origin, "training.iters", std::to_string(c.training.iters), "must be >= 0");
  if (c.training.epochs < 0) throw InputError(origin, "training.epochs", std::to_string(c.training.epochs), "must be >= 0");
  if (c.training.batch_size && *c.training.batch_size <= 0)
    throw InputError(origin, "training.batch_size", std::to_string(*c.training.batch_size), "must be > 0");
  if (c.training.micro_batches <= 0)
    throw InputError(origin, "training.micro_batches", std::to_string(c.training.micro_batches), "must be > 0");
  if (c.training.inner_iters <= 0)
    throw InputError(origin, "training.inner_iters", std::to_string(c.training.inner_iters), "must be > 0");
  if (c.training.lr && !(*c.training.lr > 0))
    throw InputError(origin, "training.lr", fmt_double(*c.training.lr), "must be > 0");
  if (!(c.training.beta1 >= 0 && c.training.beta1 < 1))
    throw InputError(origin, "training.beta1", fmt_double(c.training.beta1), "must be in [0, 1)");
  if (!(c.training.beta2 >= 0 && c.training.beta2 < 1))
    throw InputError(origin, "training.beta2", fmt_double(c.training.beta2), "must be in [0, 1)");
  if (c.training.eval_every < 0)
    throw InputError(origin, "training.eval_every", std::to_string(c.training.eval_every), "must be >= 0");
  if (c.training.patience && *c.training.patience < 0)
    throw InputError(origin, "training.patience", std::to_string(*c.training.patience), "must be >= 0");
  if (c.training.min_iters && *c.training.min_iters < 0)
    throw InputError(origin, "training.min_iters", std::to_string(*c.training.min_iters), "must be >= 0");
  if (c.training.checkpoint_every < 0)
    throw InputError(origin, "training.checkpoint_every", std::to_string(c.training.checkpoint_every), "must be >= 0");
  if (c.training.threads < 0)
    throw InputError(origin, "training.threads", std::to_string(c.training.threads), "must be >= 0");
  if (c.screen.ranks_per_task < 1)
    throw InputError(origin, "screen.ranks_per_task", std::to_string(c.screen.ranks_per_task), "must be >= 1");
  if (c.screen.pack < 1)
    throw InputError(origin, "screen.pack", std::to_string(c.screen.pack), "must be >= 1");
  if (c.screen.folds < 1)
    throw InputError(origin, "screen.folds", std::to_string(c.screen.folds), "must be >= 1");
  if (!(c.screen.poll_ms >= 0 && std::isfinite(c.screen.poll_ms)))
    throw InputError(origin, "screen.poll_ms", fmt_double(c.screen.poll_ms), "must be a finite number >= 0");
  if (!(c.screen.wait_timeout >= 0 && std::isfinite(c.screen.wait_timeout)))
    throw InputError(origin, "screen.wait_timeout", fmt_double(c.screen.wait_timeout), "must be a finite number >= 0");
  if (!(c.metrics.sinkhorn_tol > 0 && std::isfinite(c.metrics.sinkhorn_tol)))
    throw InputError(origin, "metrics.sinkhorn_tol", fmt_double(c.metrics.sinkhorn_tol), "must be a finite number > 0");
  if (c.metrics.sinkhorn_max_iter < 1)
    throw InputError(origin, "metrics.sinkhorn_max_iter", std::to_string(c.metrics.sinkhorn_max_iter), "must be >= 1");
  if (!(c.metrics.epsilon > 0))
    throw InputError(origin, "metrics.epsilon", fmt_double(c.metrics.epsilon), "must be > 0");
  if (c.metrics.max_cells < 0)
    throw InputError(origin, "metrics.max_cells", std::to_string(c.metrics.max_cells), "must be >= 0");
  if (c.metrics.bootstrap < 0)
    throw InputError(origin, "metrics.bootstrap", std::to_string(c.metrics.bootstrap), "must be >= 0");
  if (!(c.model.dropout >= 0 && c.model.dropout < 1))
    throw InputError(origin, "model.dropout", fmt_double(c.model.dropout), "must be in [0, 1)");
  for (int w : parse_int_list(c.model.hidden, origin, "model.hidden"))
    if (w <= 0) throw InputError(origin, "model.hidden", c.model.hidden, "widths must be > 0");
  parse_int_list(c.screen.seeds, origin, "screen.seeds");
  parse_double_list(c.metrics.mmd_gammas, origin, "metrics.mmd_gammas");
  for (int k : parse_int_list(c.metrics.knn_k, origin, "metrics.knn_k"))
    if (k <= 0) throw InputError(origin, "metrics.knn_k", c.metrics.knn_k, "k must be > 0");
  for (int k : parse_int_list(c.metrics.top_k, origin, "metrics.top_k"))
    if (k <= 0) throw InputError(origin, "metrics.top_k", c.metrics.top_k, "k must be > 0");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    const auto b = cur.find_first_not_of(" \t");
    const auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char ch : text) {
    if (ch == ',') flush();
    else cur += ch;
  }
  flush();
  return out;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& where, const std::string& key) {
  std::vector<int> out;
  for (const auto& item : split_list(text)) {
    std::size_t pos = 0;
    int v = 0;
    try {
      v = std::stoi(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || item.empty()) throw InputError(where, key, text, "not a comma list of integers");
    out.push_back(v);
  }
  if (out.empty()) throw InputError(where, key, text, "empty list");
  return out;
}

std::vector<double> parse_double_list(const std::string& text, const std::string& where, const std::string& key) {
  std::vector<double> out;
  for (const auto& item : split_list(text)) {
    std::size_t pos = 0;
    double v = 0;
    try {
      v = std::stod(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || !std::isfinite(v)) throw InputError(where, key, text, "not a comma list of numbers");
    out.push_back(v);
  }
  if (out.empty()) throw InputError(where, key, text, "empty list");
  return out;
}

// FNV-1a stays: the plan hash is stored in every store and compared by --resume and merge, so
// another hash would make every store written before refuse to resume (whatever its checksum).
std::string hash_hex(const std::string& text) { return hex16(fnv1a64(text.data(), text.size())); }

}  // namespace cellot
