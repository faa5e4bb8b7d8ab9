// RFC 7296 §2.9: the responder narrows the initiator's traffic selectors to its policy.
#include <algorithm>

#include "engine/ts/selector.hpp"

namespace aike::ts {

result<std::vector<selector>> narrow(const std::vector<selector>& proposed, const std::vector<selector>& configured) {
  std::vector<selector> found;
  for (const auto& c : configured)
    for (const auto& p : proposed)
      if (auto i = c.intersect(p)) found.push_back(*i);

  // Keep a result only if no other one covers it; among equal ones keep the first.
  std::vector<selector> out;
  for (std::size_t i = 0; i < found.size(); ++i) {
    bool covered = false;
    for (std::size_t j = 0; j < found.size() && !covered; ++j)
      covered = j != i && found[j].contains(found[i]) && (!(found[j] == found[i]) || j < i);
    if (!covered) out.push_back(found[i]);
  }
  if (out.empty())
    return make_error(errc::ts_unacceptable, "traffic selectors do not overlap: proposed '" + to_string(proposed) +
                                                 "', configured '" + to_string(configured) + "'");
  return out;
}

bool is_subset(const std::vector<selector>& answer, const std::vector<selector>& proposed) {
  if (answer.empty()) return false;
  return std::all_of(answer.begin(), answer.end(), [&](const selector& a) {
    return std::any_of(proposed.begin(), proposed.end(), [&](const selector& p) { return p.contains(a); });
  });
}

}  // namespace aike::ts
