// Small payload builders and readers shared by the IKE SA's exchanges (ike_sa.cpp for
// IKE_SA_INIT / IKE_AUTH / INFORMATIONAL, child_rekey.cpp for CREATE_CHILD_SA).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "engine/proposal/parser.hpp"
#include "engine/ts/selector.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::sa::detail {

constexpr std::size_t nonce_size = 32;

// The first CHILD_SA is keyed from IKE_SA_INIT's exchange: its proposals in IKE_AUTH carry no
// KE transforms (RFC 7296 §1.2), whatever groups the configuration lists for later rekeying.
inline std::vector<wire::proposal> without_ke(std::vector<wire::proposal> ps) {
  for (auto& p : ps)
    std::erase_if(p.transforms, [](const wire::transform& t) { return t.type == wire::transform_type::ke; });
  return ps;
}

inline wire::payload notify(std::uint16_t type, bytes data = {}, wire::protocol_id proto = wire::protocol_id::none,
                            bytes spi = {}) {
  wire::notify_payload n;
  n.protocol = proto;
  n.spi = std::move(spi);
  n.type = type;
  n.data = std::move(data);
  return wire::make_payload(wire::payload_type::notify, std::move(n));
}

inline bytes u16_bytes(std::uint16_t v) {
  bytes b;
  put_u16(b, v);
  return b;
}

inline bytes u32_bytes(std::uint32_t v) {
  bytes b;
  put_u32(b, v);
  return b;
}

// First error notify (type < 16384) in a message, if any.
inline const wire::notify_payload* first_error(const std::vector<wire::payload>& ps) {
  for (const auto* n : wire::notifies(ps))
    if (n->type < 16384) return n;
  return nullptr;
}

inline std::vector<ts::selector> selectors_of(const wire::ts_payload* p, std::string& err) {
  std::vector<ts::selector> out;
  if (!p) return out;
  for (const auto& t : p->selectors) {
    auto s = ts::selector::from_wire(t);
    if (!s) {
      err = s.err().message;
      return {};
    }
    out.push_back(*s);
  }
  return out;
}

inline wire::payload ts_payload_of(wire::payload_type type, const std::vector<ts::selector>& sel) {
  wire::ts_payload p;
  for (const auto& s : sel) p.selectors.push_back(s.to_wire());
  return wire::make_payload(type, std::move(p));
}

inline std::string proposals_string(const std::vector<wire::proposal>& ps) {
  std::string s;
  for (const auto& p : ps) {
    if (!s.empty()) s += ", ";
    s += proposal::to_string(p);
  }
  return s;
}

}  // namespace aike::sa::detail
