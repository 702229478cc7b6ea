#pragma once
// CELLOT_TEST_REDUCED=1 (ctest sets it in a sanitizer build, tests/CMakeLists.txt): the few tests
// whose default size takes minutes under ASan + UBSan (-O1, every access checked) run a smaller
// case of the same checks. Each such test says what it shrinks; nothing else depends on it.
#include <cstdlib>
#include <cstring>

namespace cellot::test {

inline bool reduced_size() {
  const char* v = std::getenv("CELLOT_TEST_REDUCED");
  return v && std::strcmp(v, "1") == 0;
}

}  // namespace cellot::test
