#pragma once
// The plan text a store records (/spec/plan_text): what readers of a store (report, merge,
// inspect) take from it without knowing the scheduler that wrote it.
#include <string>
#include <vector>

namespace cellot::io {

// Line prefixes of the plan text (screen::make_plan writes them).
inline constexpr const char* kPlanFingerprintTag = "[data] fingerprint ";
inline constexpr const char* kPlanHoldoutTag = "[holdout] ";

// data.holdout_value = each: the value each fold holds out, as recorded in the plan text (empty
// for other split rules).
std::vector<std::string> plan_text_holdout_values(const std::string& plan_text);

// The data fingerprint recorded in a plan text ("" when it has none: stores written before
// fingerprints existed).
std::string plan_text_fingerprint(const std::string& plan_text);

}  // namespace cellot::io
