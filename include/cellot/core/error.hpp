#pragma once
// Three kinds of failure, as the CLI reports them:
//  - InputError: the user's input is wrong (file, config key, value). Exit code 2.
//  - RuntimeError: the input was fine but the run failed (NaN in training, I/O failure). Exit 1.
//  - InternalError: a broken invariant of ours, with file:line. Exit 1.
#include <stdexcept>
#include <string>

namespace cellot {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitInput = 2;

class InputError : public std::runtime_error {
 public:
  // `where` is the file (or "command line"), `key` the field or option, `value` what was found.
  InputError(std::string where, std::string key, std::string value, const std::string& message);
  explicit InputError(const std::string& message);
  const std::string& where() const { return where_; }
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  std::string where_, key_, value_;
};

class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InternalError : public std::logic_error {
 public:
  InternalError(const char* file, int line, const std::string& message);
};

// Thrown by a subcommand that exists in the interface but is not built yet.
class NotImplemented : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cellot

// Always-on internal check (not compiled out in Release): a violated invariant is a bug of ours.
#define CELLOT_CHECK(cond, msg)                                                   \
  do {                                                                            \
    if (!(cond)) throw ::cellot::InternalError(__FILE__, __LINE__, std::string("check failed: " #cond ": ") + (msg)); \
  } while (0)
