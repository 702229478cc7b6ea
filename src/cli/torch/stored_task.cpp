#include "cellot/cli/stored_task.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"
#include "cellot/screen/plan.hpp"
#include "cellot/screen/transforms.hpp"

namespace cellot::cli {

void parse_param_layout(const std::string& text, const std::string& where, std::vector<std::string>& names,
                        std::vector<std::vector<std::int64_t>>& shapes) {
  names.clear();
  shapes.clear();
  if (text.empty()) return;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(';', start), text.size());
    const std::string item = text.substr(start, end - start);
    const auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw InputError(where, "layout", text, "malformed parameter layout (want name:d0xd1;...)");
    names.push_back(item.substr(0, colon));
    std::vector<std::int64_t> shape;
    const std::string dims = item.substr(colon + 1);
    std::size_t p = 0;
    while (p < dims.size()) {
      const auto x = std::min(dims.find('x', p), dims.size());
      const std::string d = dims.substr(p, x - p);
      std::size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(d, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (d.empty() || used != d.size() || v < 0)
        throw InputError(where, "layout", text, "malformed dimension '" + d + "' of " + names.back());
      shape.push_back(v);
      p = x + 1;
    }
    shapes.push_back(std::move(shape));
    if (end == text.size()) break;
    start = end + 1;
  }
}

StoredTask load_stored_task(const io::Store& store, const std::string& key) {
  const io::StoreSpec& spec = store.spec();
  const std::string& path = store.path();
  StoredTask out;
  for (std::int64_t t = 0; t < spec.size(); ++t)
    if (spec.tasks[static_cast<std::size_t>(t)].key == key) out.index = t;
  if (out.index < 0)
    throw InputError("command line", "--task", key,
                     "no such task in " + path + (spec.tasks.empty() ? "" : " (keys look like '" + spec.tasks[0].key + "'") +
                         "; cellot inspect --store " + path + " lists them)");
  out.task = spec.tasks[static_cast<std::size_t>(out.index)];
  const auto states = store.read_states();
  const auto trusted = store.trusted_done();
  const auto state = states[static_cast<std::size_t>(out.index)];
  if (state != io::TaskState::done)
    throw InputError(path, "--task", key,
                     std::string("the task is ") + io::state_name(state) + ", not done: no trained model to remake");
  if (!trusted[static_cast<std::size_t>(out.index)])
    throw InputError(path, "--task", key, "the task's row does not match its checksum (a corrupt row)");

  // The config the screen trained this task with.
  const Config base = parse_ini_text(spec.config_ini, path + " (/plan config)");
  screen::Task task;
  task.index = out.index;
  task.key = out.task.key;
  task.perturbation = out.task.perturbation;
  task.model = out.task.model;
  task.fold = out.task.fold;
  task.seed = out.task.seed;
  task.task_seed = out.task.task_seed;
  out.config = screen::task_config(base, task);
  out.split_seed = screen::split_seed(base, task.fold, task.seed);
  out.features = spec.features;
  out.data_fingerprint = screen::plan_text_fingerprint(spec.plan_text);
  out.fingerprint_hash = spec.hash;

  out.transform = models::model_transform(
      screen::stored_transform(spec, task.fold, task.seed, static_cast<std::int64_t>(out.features.size()), path),
      task.model);
  out.model = models::make_model(out.config, out.transform.dim());
  const io::TaskRow row = store.read_row(out.index);
  if (!spec.param_layout(task.model)) {
    // Models without parameters (identity) predict from the data alone.
    if (!out.model->parameters().empty())
      throw InputError(path, "/params/" + task.model, key, "the store keeps no parameters for this model");
    return out;
  }
  if (row.params_count < 0)
    throw InputError(path, "/params/" + task.model, key,
                     "the task's parameters did not fit in the store (count -1): its prediction cannot be remade");
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> shapes;
  parse_param_layout(row.param_layout, path + " (/params/" + task.model + "/layout of " + key + ")", names, shapes);
  std::vector<models::NamedTensor> tensors;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::size_t n = 1;
    for (auto d : shapes[i]) n *= static_cast<std::size_t>(d);
    if (offset + n > row.params.size())
      throw InputError(path, "/params/" + task.model, key,
                       "the layout needs more values than the row's " + std::to_string(row.params.size()));
    models::NamedTensor t;
    t.name = names[i];
    t.shape = shapes[i];
    t.values.assign(row.params.begin() + static_cast<std::ptrdiff_t>(offset),
                    row.params.begin() + static_cast<std::ptrdiff_t>(offset + n));
    offset += n;
    tensors.push_back(std::move(t));
  }
  if (offset != row.params.size())
    throw InputError(path, "/params/" + task.model, key,
                     "the layout covers " + std::to_string(offset) + " of the row's " +
                         std::to_string(row.params.size()) + " values");
  out.model->set_parameters(tensors);
  return out;
}

}  // namespace cellot::cli
