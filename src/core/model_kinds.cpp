#include "cellot/core/model_kinds.hpp"

#include <utility>

#include "cellot/core/error.hpp"

namespace cellot {

namespace {
std::vector<ModelKind>& registered() {
  static std::vector<ModelKind> kinds;
  return kinds;
}
}  // namespace

void register_model_kinds(std::vector<ModelKind> kinds) { registered() = std::move(kinds); }

const std::vector<ModelKind>& model_kinds() {
  CELLOT_CHECK(!registered().empty(), "no model kinds registered (call register_model_kinds(models::kinds()) first)");
  return registered();
}

const ModelKind* find_model_kind(const std::string& name) {
  for (const auto& k : model_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

const ModelKind& model_kind(const std::string& name) {
  const ModelKind* k = find_model_kind(name);
  CELLOT_CHECK(k != nullptr, "model '" + name + "' is not registered");
  return *k;
}

const ModelKind& primary_model_kind() {
  for (const auto& k : model_kinds())
    if (k.primary) return k;
  throw InternalError(__FILE__, __LINE__, "no primary model registered");
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& k : model_kinds()) out.push_back(k.name);
  return out;
}

std::string model_names_text(const char* sep) {
  std::string out;
  for (const auto& k : model_kinds()) out += (out.empty() ? "" : sep) + k.name;
  return out;
}

}  // namespace cellot
