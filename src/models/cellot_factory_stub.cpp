// Placeholder until the cellot model lands: the CLI reports it as not built (exit 2).
#include "cellot/core/error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {
std::unique_ptr<Model> make_cellot(const Config&, std::int64_t) { throw NotImplemented("model 'cellot' is not built yet"); }
}  // namespace cellot::models
