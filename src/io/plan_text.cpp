#include "cellot/io/plan_text.hpp"

namespace cellot::io {

std::vector<std::string> plan_text_holdout_values(const std::string& plan_text) {
  const std::string tag = std::string("\n") + kPlanHoldoutTag;
  const auto at = plan_text.find(tag);
  if (at == std::string::npos) return {};
  std::size_t pos = at + tag.size();
  const auto eol = plan_text.find('\n', pos);
  const auto n = std::stoull(plan_text.substr(pos, eol - pos));
  std::vector<std::string> out;
  pos = eol + 1;
  for (std::size_t i = 0; i < n && pos < plan_text.size(); ++i) {
    const auto end = plan_text.find('\n', pos);
    out.push_back(plan_text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string plan_text_fingerprint(const std::string& plan_text) {
  const std::string tag = std::string("\n") + kPlanFingerprintTag;
  const auto at = plan_text.find(tag);
  if (at == std::string::npos) return "";
  const auto begin = at + tag.size();
  return plan_text.substr(begin, plan_text.find('\n', begin) - begin);
}

}  // namespace cellot::io
