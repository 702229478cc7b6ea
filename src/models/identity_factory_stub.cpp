// Placeholder until the identity model lands: the CLI reports it as not built (exit 2).
#include "cellot/core/error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {
std::unique_ptr<Model> make_identity(const Config&, std::int64_t) { throw NotImplemented("model 'identity' is not built yet"); }
}  // namespace cellot::models
