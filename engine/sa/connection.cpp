#include "engine/sa/connection.hpp"

#include <algorithm>
#include <cmath>

namespace aike::sa {

milliseconds retransmit_policy::delay(int attempt) const {
  return milliseconds(static_cast<long long>(static_cast<double>(timeout.count()) * std::pow(base, attempt)));
}

milliseconds retransmit_policy::budget() const {
  milliseconds total{0};
  for (int i = 0; i <= tries; ++i) total += delay(i);
  return total;
}

const child_config* connection::find_child(std::string_view child_name) const {
  for (const auto& c : children)
    if (c.name == child_name) return &c;
  return nullptr;
}

std::optional<bytes> connection::find_psk(const auth::identity& a, const auth::identity& b) const {
  const psk_secret* best = nullptr;
  int best_score = -1;
  for (const auto& s : secrets) {
    auto listed = [&](const auth::identity& id) {
      return std::any_of(s.ids.begin(), s.ids.end(), [&](const auth::identity& x) { return id.matches(x); });
    };
    int score = s.ids.empty() ? 0 : (listed(a) ? 1 : 0) + (listed(b) ? 1 : 0);
    if (!s.ids.empty() && score == 0) continue;
    if (score > best_score) {
      best = &s;
      best_score = score;
    }
  }
  if (!best) return std::nullopt;
  return best->secret;
}

}  // namespace aike::sa
