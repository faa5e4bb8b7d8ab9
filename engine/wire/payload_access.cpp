#include "engine/wire/payload_access.hpp"

#include <utility>

namespace aike::wire {

bool has_payload(const std::vector<payload>& ps, payload_type t) {
  for (const auto& p : ps)
    if (p.type == t) return true;
  return false;
}

const notify_payload* find_notify(const std::vector<payload>& ps, std::uint16_t type) {
  for (const auto* n : notifies(ps))
    if (n->type == type) return n;
  return nullptr;
}

std::vector<const notify_payload*> notifies(const std::vector<payload>& ps) {
  return find_all<notify_payload>(ps, payload_type::notify);
}

const notify_payload* first_error_notify(const std::vector<payload>& ps) {
  for (const auto* n : notifies(ps))
    if (n->type < 16384) return n;
  return nullptr;
}

payload make_payload(payload_type t, payload_body body, bool critical) {
  return payload{t, critical, std::move(body)};
}

payload make_notify(std::uint16_t type, bytes data) {
  notify_payload n;
  n.type = type;
  n.data = std::move(data);
  return make_payload(payload_type::notify, std::move(n));
}

}  // namespace aike::wire
