// Placeholder until the mean_shift model lands: the CLI reports it as not built (exit 2).
#include "cellot/core/error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {
std::unique_ptr<Model> make_mean_shift(const Config&, std::int64_t) { throw NotImplemented("model 'mean_shift' is not built yet"); }
}  // namespace cellot::models
