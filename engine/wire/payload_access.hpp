// Small look-ups over a message's payload list, so exchange code reads like the RFC text
// ("if the message has a KE payload...") instead of variant plumbing.
#pragma once
#include <cstdint>
#include <variant>
#include <vector>

#include "engine/wire/payloads.hpp"

namespace aike::wire {

// The body of the first payload of type `t`, or nullptr. T must be that type's body struct
// (e.g. find_first<id_payload>(ps, payload_type::idr)).
template <class T>
const T* find_first(const std::vector<payload>& ps, payload_type t) {
  for (const auto& p : ps) {
    if (p.type != t) continue;
    if (const T* body = std::get_if<T>(&p.body)) return body;
  }
  return nullptr;
}

template <class T>
const T* find_first(const message& m, payload_type t) {
  return find_first<T>(m.payloads, t);
}

// All bodies of payloads of type `t`, in wire order.
template <class T>
std::vector<const T*> find_all(const std::vector<payload>& ps, payload_type t) {
  std::vector<const T*> out;
  for (const auto& p : ps) {
    if (p.type != t) continue;
    if (const T* body = std::get_if<T>(&p.body)) out.push_back(body);
  }
  return out;
}

bool has_payload(const std::vector<payload>& ps, payload_type t);

// The first Notify of the given notify type (wire::notify::...), or nullptr.
const notify_payload* find_notify(const std::vector<payload>& ps, std::uint16_t type);
// All Notify payloads, in wire order.
std::vector<const notify_payload*> notifies(const std::vector<payload>& ps);
// The first Notify with an error type (< 16384, RFC 7296 §3.10.1), or nullptr.
const notify_payload* first_error_notify(const std::vector<payload>& ps);

payload make_payload(payload_type t, payload_body body, bool critical = false);
// A Notify without SPI (protocol 0), the common case.
payload make_notify(std::uint16_t type, bytes data = {});

}  // namespace aike::wire
