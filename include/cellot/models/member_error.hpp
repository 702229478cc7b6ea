#pragma once
// One member of models::train_together (model.hpp): the errors that end only that member, as
// train() alone would have thrown them — Interrupted, Diverged, InputError (the same on every
// rank of the group: decided on its data or on a reduced value). Anything else propagates and
// ends the call for all.
#include <exception>

#include "cellot/core/error.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

// Runs f(); returns its member-ending error, or null when it returned.
template <class F>
std::exception_ptr member_error(F&& f) {
  try {
    f();
  } catch (const Interrupted&) {
    return std::current_exception();
  } catch (const Diverged&) {
    return std::current_exception();
  } catch (const InputError&) {
    return std::current_exception();
  }
  return nullptr;
}

}  // namespace cellot::models
