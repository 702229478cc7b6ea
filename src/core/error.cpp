#include "cellot/core/error.hpp"

namespace cellot {

namespace {
std::string format_input(const std::string& where, const std::string& key, const std::string& value,
                         const std::string& message) {
  std::string out = where;
  if (!key.empty()) out += ": " + key;
  if (!value.empty() || !key.empty()) out += " = '" + value + "'";
  out += ": " + message;
  // One line, always: a value read from a file may carry newlines.
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}
}  // namespace

InputError::InputError(std::string where, std::string key, std::string value, const std::string& message)
    : std::runtime_error(format_input(where, key, value, message)),
      where_(std::move(where)),
      key_(std::move(key)),
      value_(std::move(value)) {}

InputError::InputError(const std::string& message) : std::runtime_error(message) {}

InternalError::InternalError(const char* file, int line, const std::string& message)
    : std::logic_error(std::string(file) + ":" + std::to_string(line) + ": internal error: " + message) {}

}  // namespace cellot
