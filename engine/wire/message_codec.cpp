#include "engine/wire/message_codec.hpp"

#include <string>
#include <type_traits>
#include <utility>

namespace aike::wire {

namespace {

using std::to_string;

// Payload names as used in error messages (RFC 7296 §3.2 notation is too terse for logs).
std::string label(payload_type t) {
  switch (t) {
    case payload_type::none: return "NONE payload";
    case payload_type::sa: return "SA payload";
    case payload_type::ke: return "KE payload";
    case payload_type::idi: return "IDi payload";
    case payload_type::idr: return "IDr payload";
    case payload_type::cert: return "CERT payload";
    case payload_type::certreq: return "CERTREQ payload";
    case payload_type::auth: return "AUTH payload";
    case payload_type::nonce: return "Nonce payload";
    case payload_type::notify: return "Notify payload";
    case payload_type::del: return "Delete payload";
    case payload_type::vendor: return "Vendor ID payload";
    case payload_type::tsi: return "TSi payload";
    case payload_type::tsr: return "TSr payload";
    case payload_type::sk: return "SK payload";
    case payload_type::cp: return "CP payload";
    case payload_type::eap: return "EAP payload";
    case payload_type::skf: return "SKF payload";
  }
  return "payload type " + to_string(static_cast<unsigned>(t));
}

bool is_known(payload_type t) {
  switch (t) {
    case payload_type::sa:
    case payload_type::ke:
    case payload_type::idi:
    case payload_type::idr:
    case payload_type::cert:
    case payload_type::certreq:
    case payload_type::auth:
    case payload_type::nonce:
    case payload_type::notify:
    case payload_type::del:
    case payload_type::vendor:
    case payload_type::tsi:
    case payload_type::tsr:
    case payload_type::sk:
    case payload_type::cp:
    case payload_type::eap:
    case payload_type::skf:
      return true;
    case payload_type::none:
      return false;
  }
  return false;
}

error syntax(payload_type t, const std::string& problem) {
  return make_error(errc::invalid_syntax, label(t) + ": " + problem);
}

bytes copy(const std::uint8_t* p, std::size_t n) { return bytes(p, p + n); }

// ---------------------------------------------------------------- SA (§3.3) ---

result<std::vector<transform_attribute>> parse_attributes(bytes_view b, const std::string& where) {
  std::vector<transform_attribute> attrs;
  std::size_t pos = 0;
  while (pos < b.size()) {
    const std::size_t left = b.size() - pos;
    const std::string at = where + ", attribute #" + to_string(attrs.size() + 1);
    if (left < 4) return syntax(payload_type::sa, at + ": " + to_string(left) + " octets left, attribute needs 4");
    const std::uint8_t* p = b.data() + pos;
    const std::uint16_t af_type = get_u16(p);
    transform_attribute a;
    a.type = af_type & 0x7fff;
    if (af_type & attr_format_tv) {
      a.tv = true;
      a.value = get_u16(p + 2);
      pos += 4;
    } else {
      const std::uint16_t len = get_u16(p + 2);
      if (len > left - 4)
        return syntax(payload_type::sa, at + ": TLV length " + to_string(len) + " runs past the transform (" +
                                            to_string(left - 4) + " octets left)");
      // §3.3.5: Key Length is a TV attribute; a TLV one is malformed.
      if (a.type == attr_key_length) return syntax(payload_type::sa, at + ": Key Length attribute must use TV format");
      a.tv = false;
      a.data = copy(p + 4, len);
      pos += 4 + len;
    }
    attrs.push_back(std::move(a));
  }
  return attrs;
}

result<std::vector<transform>> parse_transforms(bytes_view b, std::size_t count, const std::string& where) {
  std::vector<transform> ts;
  std::size_t pos = 0;
  for (std::size_t i = 1; i <= count; ++i) {
    const std::size_t left = b.size() - pos;
    const std::string at = where + ", transform #" + to_string(i) + " of " + to_string(count);
    if (left < 8)
      return syntax(payload_type::sa, at + ": " + to_string(left) + " octets left, transform needs 8");
    const std::uint8_t* p = b.data() + pos;
    const std::uint8_t last = p[0];
    const std::uint16_t len = get_u16(p + 2);
    if (len < 8) return syntax(payload_type::sa, at + ": transform length " + to_string(len) + " < 8");
    if (len > left)
      return syntax(payload_type::sa, at + ": transform length " + to_string(len) + " runs past the proposal (" +
                                          to_string(left) + " octets left)");
    const std::uint8_t expected = i == count ? 0 : 3;
    if (last != expected)
      return syntax(payload_type::sa, at + ": Last Substruc " + to_string(last) + ", expected " + to_string(expected));
    transform t;
    t.type = static_cast<transform_type>(p[4]);
    t.id = get_u16(p + 6);
    auto attrs = parse_attributes(b.subspan(pos + 8, len - 8), at);
    if (!attrs) return attrs.err();
    t.attributes = std::move(attrs.value());
    ts.push_back(std::move(t));
    pos += len;
  }
  if (pos != b.size())
    return syntax(payload_type::sa, where + ": " + to_string(b.size() - pos) + " octets after transform #" +
                                        to_string(count) + " (the proposal says " + to_string(count) + " transforms)");
  return ts;
}

result<payload_body> parse_sa(bytes_view b) {
  constexpr auto T = payload_type::sa;
  sa_payload sa;
  if (b.empty()) return syntax(T, "no proposals");
  std::size_t pos = 0;
  while (pos < b.size()) {
    const std::size_t left = b.size() - pos;
    const std::string at = "proposal #" + to_string(sa.proposals.size() + 1);
    if (left < 8) return syntax(T, at + ": " + to_string(left) + " octets left, proposal needs 8");
    const std::uint8_t* p = b.data() + pos;
    const std::uint8_t last = p[0];
    const std::uint16_t len = get_u16(p + 2);
    const std::uint8_t number = p[4];
    const std::uint8_t proto = p[5];
    const std::uint8_t spi_size = p[6];
    const std::uint8_t count = p[7];
    if (len < 8) return syntax(T, at + ": proposal length " + to_string(len) + " < 8");
    if (len > left)
      return syntax(T, at + ": proposal length " + to_string(len) + " runs past the payload (" + to_string(left) +
                           " octets left)");
    const bool is_last = len == left;
    if (is_last && last != 0) return syntax(T, at + ": Last Substruc " + to_string(last) + " on the last proposal, expected 0");
    if (!is_last && last != 2)
      return syntax(T, at + ": Last Substruc " + to_string(last) + " but more proposals follow, expected 2");
    // §3.3.1: the first proposal is number 1; each next one has the same number or one more.
    if (sa.proposals.empty()) {
      if (number != 1) return syntax(T, at + ": first proposal number is " + to_string(number) + ", expected 1");
    } else {
      const std::uint8_t prev = sa.proposals.back().number;
      if (number != prev && number != prev + 1)
        return syntax(T, at + ": proposal number " + to_string(number) + " after " + to_string(prev));
    }
    switch (static_cast<protocol_id>(proto)) {
      case protocol_id::ike:
        if (spi_size != 0 && spi_size != 8)
          return syntax(T, at + ": SPI size " + to_string(spi_size) + " for protocol IKE, expected 0 or 8");
        break;
      case protocol_id::ah:
      case protocol_id::esp:
        if (spi_size != 4)
          return syntax(T, at + ": SPI size " + to_string(spi_size) + " for protocol AH/ESP, expected 4");
        break;
      default:
        return syntax(T, at + ": unknown protocol id " + to_string(proto));
    }
    if (count == 0) return syntax(T, at + ": no transforms");
    if (8u + spi_size > len)
      return syntax(T, at + ": SPI of " + to_string(spi_size) + " octets runs past proposal length " + to_string(len));
    proposal pr;
    pr.number = number;
    pr.protocol = static_cast<protocol_id>(proto);
    pr.spi = copy(p + 8, spi_size);
    auto ts = parse_transforms(b.subspan(pos + 8 + spi_size, len - 8 - spi_size), count, at);
    if (!ts) return ts.err();
    pr.transforms = std::move(ts.value());
    sa.proposals.push_back(std::move(pr));
    pos += len;
  }
  return payload_body{std::move(sa)};
}

// ------------------------------------------------------------ simple bodies ---

result<payload_body> parse_ke(bytes_view b) {
  if (b.size() < 5) return syntax(payload_type::ke, "body of " + to_string(b.size()) + " octets, needs group, reserved and at least 1 octet of key exchange data");
  return payload_body{ke_payload{get_u16(b.data()), copy(b.data() + 4, b.size() - 4)}};
}

result<payload_body> parse_id(payload_type t, bytes_view b) {
  if (b.size() < 5) return syntax(t, "body of " + to_string(b.size()) + " octets, needs ID type, reserved and at least 1 octet of data");
  id_payload id{static_cast<id_type>(b[0]), copy(b.data() + 4, b.size() - 4)};
  if (id.type == id_type::ipv4_addr && id.data.size() != 4)
    return syntax(t, "ID_IPV4_ADDR of " + to_string(id.data.size()) + " octets, expected 4");
  if (id.type == id_type::ipv6_addr && id.data.size() != 16)
    return syntax(t, "ID_IPV6_ADDR of " + to_string(id.data.size()) + " octets, expected 16");
  return payload_body{std::move(id)};
}

result<payload_body> parse_cert(bytes_view b) {
  if (b.size() < 2) return syntax(payload_type::cert, "body of " + to_string(b.size()) + " octets, needs encoding and data");
  return payload_body{cert_payload{static_cast<cert_encoding>(b[0]), copy(b.data() + 1, b.size() - 1)}};
}

result<payload_body> parse_certreq(bytes_view b) {
  // An empty CA list is allowed: it asks for any certificate.
  if (b.empty()) return syntax(payload_type::certreq, "empty body, needs the certificate encoding");
  return payload_body{certreq_payload{static_cast<cert_encoding>(b[0]), copy(b.data() + 1, b.size() - 1)}};
}

result<payload_body> parse_auth(bytes_view b) {
  if (b.size() < 5) return syntax(payload_type::auth, "body of " + to_string(b.size()) + " octets, needs method, reserved and at least 1 octet of data");
  return payload_body{auth_payload{static_cast<auth_method>(b[0]), copy(b.data() + 4, b.size() - 4)}};
}

result<payload_body> parse_nonce(bytes_view b) {
  // §3.9: at least 16 and at most 256 octets.
  if (b.size() < 16 || b.size() > 256)
    return syntax(payload_type::nonce, "nonce of " + to_string(b.size()) + " octets, must be 16..256");
  return payload_body{nonce_payload{to_bytes(b)}};
}

result<payload_body> parse_notify(bytes_view b) {
  constexpr auto T = payload_type::notify;
  if (b.size() < 4) return syntax(T, "body of " + to_string(b.size()) + " octets, header needs 4");
  const std::uint8_t proto = b[0];
  const std::uint8_t spi_size = b[1];
  const std::uint16_t type = get_u16(b.data() + 2);
  const std::string at = std::string("type ") + notify_name(type) + " (" + to_string(type) + ")";
  if (spi_size > b.size() - 4)
    return syntax(T, at + ": SPI size " + to_string(spi_size) + " runs past the payload");
  // §3.10: no SPI (protocol then ignored), an IKE SPI of 8 octets, or an AH/ESP SPI of 4.
  switch (spi_size) {
    case 0: break;
    case 4:
      if (proto != static_cast<std::uint8_t>(protocol_id::ah) && proto != static_cast<std::uint8_t>(protocol_id::esp))
        return syntax(T, at + ": SPI size 4 with protocol id " + to_string(proto) + ", expected AH or ESP");
      break;
    case 8:
      if (proto != static_cast<std::uint8_t>(protocol_id::ike))
        return syntax(T, at + ": SPI size 8 with protocol id " + to_string(proto) + ", expected IKE");
      break;
    default:
      return syntax(T, at + ": SPI size " + to_string(spi_size) + ", expected 0, 4 or 8");
  }
  notify_payload n;
  n.protocol = static_cast<protocol_id>(proto);
  n.type = type;
  n.spi = copy(b.data() + 4, spi_size);
  n.data = copy(b.data() + 4 + spi_size, b.size() - 4 - spi_size);
  return payload_body{std::move(n)};
}

result<payload_body> parse_delete(bytes_view b) {
  constexpr auto T = payload_type::del;
  if (b.size() < 4) return syntax(T, "body of " + to_string(b.size()) + " octets, header needs 4");
  const std::uint8_t proto = b[0];
  const std::uint8_t spi_size = b[1];
  const std::uint16_t count = get_u16(b.data() + 2);
  switch (static_cast<protocol_id>(proto)) {
    case protocol_id::ike:
      // §3.11: deleting the IKE SA carries no SPIs (they are in the header).
      if (spi_size != 0 || count != 0)
        return syntax(T, "protocol IKE with SPI size " + to_string(spi_size) + " and " + to_string(count) +
                             " SPIs, expected 0 and 0");
      break;
    case protocol_id::ah:
    case protocol_id::esp:
      if (spi_size != 4) return syntax(T, "SPI size " + to_string(spi_size) + " for protocol AH/ESP, expected 4");
      break;
    default:
      return syntax(T, "unknown protocol id " + to_string(proto));
  }
  const std::size_t need = static_cast<std::size_t>(spi_size) * count;
  if (need != b.size() - 4)
    return syntax(T, to_string(count) + " SPIs of " + to_string(spi_size) + " octets need " + to_string(need) +
                         " octets, body has " + to_string(b.size() - 4));
  delete_payload d;
  d.protocol = static_cast<protocol_id>(proto);
  d.spi_size = spi_size;
  d.spis.reserve(count);
  for (std::size_t i = 0; i < count; ++i) d.spis.push_back(copy(b.data() + 4 + i * spi_size, spi_size));
  return payload_body{std::move(d)};
}

result<payload_body> parse_ts(payload_type t, bytes_view b) {
  if (b.size() < 4) return syntax(t, "body of " + to_string(b.size()) + " octets, header needs 4");
  const std::uint8_t count = b[0];
  if (count == 0) return syntax(t, "number of TSs is 0");
  ts_payload ts;
  std::size_t pos = 4;
  for (std::size_t i = 1; i <= count; ++i) {
    const std::size_t left = b.size() - pos;
    const std::string at = "selector #" + to_string(i) + " of " + to_string(count);
    if (left < 8) return syntax(t, at + ": " + to_string(left) + " octets left, selector header needs 8");
    const std::uint8_t* p = b.data() + pos;
    const std::uint8_t type = p[0];
    const std::uint16_t len = get_u16(p + 2);
    std::size_t addr_len = 0;
    switch (static_cast<ts_type>(type)) {
      case ts_type::ipv4_addr_range: addr_len = 4; break;
      case ts_type::ipv6_addr_range: addr_len = 16; break;
      default: return syntax(t, at + ": unsupported TS type " + to_string(type));
    }
    if (len != 8 + 2 * addr_len)
      return syntax(t, at + ": selector length " + to_string(len) + ", expected " + to_string(8 + 2 * addr_len) +
                           " for TS type " + to_string(type));
    if (len > left)
      return syntax(t, at + ": selector length " + to_string(len) + " runs past the payload (" + to_string(left) +
                           " octets left)");
    traffic_selector s;
    s.type = static_cast<ts_type>(type);
    s.ip_protocol = p[1];
    s.start_port = get_u16(p + 4);
    s.end_port = get_u16(p + 6);
    s.start_addr = copy(p + 8, addr_len);
    s.end_addr = copy(p + 8 + addr_len, addr_len);
    ts.selectors.push_back(std::move(s));
    pos += len;
  }
  if (pos != b.size())
    return syntax(t, to_string(b.size() - pos) + " octets after selector #" + to_string(count) +
                         " (the payload says " + to_string(count) + " selectors)");
  return payload_body{std::move(ts)};
}

// §3.15.1: the fixed lengths of the attributes we know (each may also be empty in a request).
std::size_t cp_value_length(std::uint16_t type) {
  switch (type) {
    case cfg_attr::internal_ip4_address:
    case cfg_attr::internal_ip4_netmask:
    case cfg_attr::internal_ip4_dns:
    case cfg_attr::internal_ip4_nbns:
    case cfg_attr::internal_ip4_dhcp: return 4;
    case cfg_attr::internal_ip6_address: return 17;
    case cfg_attr::internal_ip6_dns:
    case cfg_attr::internal_ip6_dhcp: return 16;
    case cfg_attr::internal_ip4_subnet: return 8;
    case cfg_attr::internal_ip6_subnet: return 17;
  }
  return 0;  // variable or unknown
}

result<payload_body> parse_cp(bytes_view b) {
  constexpr auto T = payload_type::cp;
  if (b.size() < 4) return syntax(T, "body of " + to_string(b.size()) + " octets, header needs 4");
  const std::uint8_t type = b[0];
  if (type < 1 || type > 4) return syntax(T, "unknown CFG type " + to_string(type));
  cp_payload cp;
  cp.type = static_cast<cfg_type>(type);
  std::size_t pos = 4;
  while (pos < b.size()) {
    const std::size_t left = b.size() - pos;
    const std::string at = "attribute #" + to_string(cp.attributes.size() + 1);
    if (left < 4) return syntax(T, at + ": " + to_string(left) + " octets left, attribute header needs 4");
    const std::uint8_t* p = b.data() + pos;
    const std::uint16_t attr_type = get_u16(p) & 0x7fff;
    const std::uint16_t len = get_u16(p + 2);
    if (len > left - 4)
      return syntax(T, at + ": length " + to_string(len) + " runs past the payload (" + to_string(left - 4) +
                           " octets left)");
    const std::size_t fixed = cp_value_length(attr_type);
    if (fixed != 0 && len != 0 && len != fixed)
      return syntax(T, at + ": type " + to_string(attr_type) + " has length " + to_string(len) + ", expected 0 or " +
                           to_string(fixed));
    cp.attributes.push_back(cp_attribute{attr_type, copy(p + 4, len)});
    pos += 4 + len;
  }
  return payload_body{std::move(cp)};
}

result<payload_body> parse_eap(bytes_view b) {
  constexpr auto T = payload_type::eap;
  if (b.size() < 4) return syntax(T, "body of " + to_string(b.size()) + " octets, EAP header needs 4");
  const std::uint16_t len = get_u16(b.data() + 2);
  if (len != b.size())
    return syntax(T, "EAP length field " + to_string(len) + " but the payload holds " + to_string(b.size()) + " octets");
  const std::uint8_t code = b[0];
  // RFC 3748 §4: Request (1) and Response (2) carry a Type octet; Success (3) and Failure (4) nothing.
  if ((code == 1 || code == 2) && len < 5) return syntax(T, "EAP Request/Response without a Type");
  if ((code == 3 || code == 4) && len != 4) return syntax(T, "EAP Success/Failure of length " + to_string(len) + ", expected 4");
  return payload_body{eap_payload{code, b[1], copy(b.data() + 4, b.size() - 4)}};
}

result<payload_body> parse_skf(bytes_view b, payload_type next) {
  constexpr auto T = payload_type::skf;
  if (b.size() < 4) return syntax(T, "body of " + to_string(b.size()) + " octets, fragment header needs 4");
  skf_payload f;
  f.fragment_number = get_u16(b.data());
  f.total_fragments = get_u16(b.data() + 2);
  // RFC 7383 §2.5: 1 <= Fragment Number <= Total Fragments.
  if (f.total_fragments < 1) return syntax(T, "Total Fragments is 0");
  if (f.fragment_number < 1 || f.fragment_number > f.total_fragments)
    return syntax(T, "Fragment Number " + to_string(f.fragment_number) + " not in 1.." + to_string(f.total_fragments));
  if (f.fragment_number != 1 && next != payload_type::none)
    return syntax(T, "fragment " + to_string(f.fragment_number) + " has Next Payload " +
                         to_string(static_cast<unsigned>(next)) + ", only fragment 1 may name the first inner payload");
  f.first_inner = next;
  f.data = copy(b.data() + 4, b.size() - 4);
  return payload_body{std::move(f)};
}

// `next` is the generic header's Next Payload (for SK/SKF: the first inner payload).
result<payload_body> parse_body(payload_type t, bytes_view b, payload_type next) {
  switch (t) {
    case payload_type::sa: return parse_sa(b);
    case payload_type::ke: return parse_ke(b);
    case payload_type::idi:
    case payload_type::idr: return parse_id(t, b);
    case payload_type::cert: return parse_cert(b);
    case payload_type::certreq: return parse_certreq(b);
    case payload_type::auth: return parse_auth(b);
    case payload_type::nonce: return parse_nonce(b);
    case payload_type::notify: return parse_notify(b);
    case payload_type::del: return parse_delete(b);
    case payload_type::vendor: return payload_body{vendor_payload{to_bytes(b)}};
    case payload_type::tsi:
    case payload_type::tsr: return parse_ts(t, b);
    case payload_type::sk: return payload_body{sk_payload{next, to_bytes(b)}};
    case payload_type::cp: return parse_cp(b);
    case payload_type::eap: return parse_eap(b);
    case payload_type::skf: return parse_skf(b, next);
    case payload_type::none: break;
  }
  return payload_body{unknown_payload{to_bytes(b)}};
}

// Walks a payload chain. `outer` is true for the chain after the IKE header (where SK/SKF may
// appear, as the last payload); `base` is the chain's offset in the datagram, for messages.
result<std::vector<payload>> parse_chain(payload_type first, bytes_view data, bool outer, std::size_t base) {
  std::vector<payload> out;
  std::size_t pos = 0;
  payload_type next = first;
  while (next != payload_type::none) {
    const payload_type t = next;
    const std::size_t left = data.size() - pos;
    const std::string at = " at offset " + to_string(base + pos);
    if (left < generic_header_size)
      return syntax(t, "announced by the previous Next Payload but only " + to_string(left) + " octets left" + at);
    const std::uint8_t* p = data.data() + pos;
    next = static_cast<payload_type>(p[0]);
    const bool critical = p[1] & 0x80;  // the other 7 bits are reserved and ignored (§3.2)
    const std::uint16_t len = get_u16(p + 2);
    if (len < generic_header_size) return syntax(t, "payload length " + to_string(len) + " < 4" + at);
    if (len > left)
      return syntax(t, "payload length " + to_string(len) + " runs past the end (" + to_string(left) +
                           " octets left)" + at);
    const bytes_view body = data.subspan(pos + generic_header_size, len - generic_header_size);
    pos += len;

    if (!is_known(t)) {
      // §2.5: an unknown payload with the critical bit makes the whole message unusable.
      if (critical)
        return make_error(errc::unsupported_critical_payload,
                          label(t) + ": unknown payload marked critical" + at, static_cast<int>(t));
      out.push_back(payload{t, false, unknown_payload{to_bytes(body)}});
      continue;
    }
    const bool encrypted = t == payload_type::sk || t == payload_type::skf;
    if (encrypted && !outer) return syntax(t, "not allowed inside an encrypted payload" + at);
    auto b = parse_body(t, body, next);
    if (!b) return b.err();
    out.push_back(payload{t, critical, std::move(b.value())});
    if (encrypted) {
      // §3.14: SK is the last payload; its Next Payload names the first inner payload.
      if (pos != data.size())
        return syntax(t, "must be the last payload, but " + to_string(data.size() - pos) + " octets follow it" + at);
      return out;
    }
  }
  if (pos != data.size())
    return make_error(errc::invalid_syntax, to_string(data.size() - pos) + " octets after the last payload at offset " +
                                                to_string(base + pos));
  return out;
}

// ------------------------------------------------------------------ encoding ---

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

void encode_sa(bytes& out, const sa_payload& sa) {
  for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
    const proposal& pr = sa.proposals[i];
    const std::size_t start = out.size();
    put_u8(out, i + 1 == sa.proposals.size() ? 0 : 2);
    put_u8(out, 0);
    put_u16(out, 0);  // length, patched below
    put_u8(out, pr.number);
    put_u8(out, static_cast<std::uint8_t>(pr.protocol));
    put_u8(out, static_cast<std::uint8_t>(pr.spi.size()));
    put_u8(out, static_cast<std::uint8_t>(pr.transforms.size()));
    append(out, pr.spi);
    for (std::size_t j = 0; j < pr.transforms.size(); ++j) {
      const transform& t = pr.transforms[j];
      const std::size_t tstart = out.size();
      put_u8(out, j + 1 == pr.transforms.size() ? 0 : 3);
      put_u8(out, 0);
      put_u16(out, 0);  // length, patched below
      put_u8(out, static_cast<std::uint8_t>(t.type));
      put_u8(out, 0);
      put_u16(out, t.id);
      for (const auto& a : t.attributes) {
        if (a.tv) {
          put_u16(out, attr_format_tv | (a.type & 0x7fff));
          put_u16(out, a.value);
        } else {
          put_u16(out, a.type & 0x7fff);
          put_u16(out, static_cast<std::uint16_t>(a.data.size()));
          append(out, a.data);
        }
      }
      const auto tlen = static_cast<std::uint16_t>(out.size() - tstart);
      out[tstart + 2] = static_cast<std::uint8_t>(tlen >> 8);
      out[tstart + 3] = static_cast<std::uint8_t>(tlen);
    }
    const auto plen = static_cast<std::uint16_t>(out.size() - start);
    out[start + 2] = static_cast<std::uint8_t>(plen >> 8);
    out[start + 3] = static_cast<std::uint8_t>(plen);
  }
}

void put_zero(bytes& out, std::size_t n) { out.insert(out.end(), n, 0); }

void encode_body(bytes& out, const payload_body& body) {
  std::visit(overloaded{
                 [&](const sa_payload& v) { encode_sa(out, v); },
                 [&](const ke_payload& v) {
                   put_u16(out, v.group);
                   put_zero(out, 2);
                   append(out, v.data);
                 },
                 [&](const id_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.type));
                   put_zero(out, 3);
                   append(out, v.data);
                 },
                 [&](const cert_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.encoding));
                   append(out, v.data);
                 },
                 [&](const certreq_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.encoding));
                   append(out, v.data);
                 },
                 [&](const auth_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.method));
                   put_zero(out, 3);
                   append(out, v.data);
                 },
                 [&](const nonce_payload& v) { append(out, v.data); },
                 [&](const notify_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.protocol));
                   put_u8(out, static_cast<std::uint8_t>(v.spi.size()));
                   put_u16(out, v.type);
                   append(out, v.spi);
                   append(out, v.data);
                 },
                 [&](const delete_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.protocol));
                   put_u8(out, v.spi_size);
                   put_u16(out, static_cast<std::uint16_t>(v.spis.size()));
                   for (const auto& s : v.spis) append(out, s);
                 },
                 [&](const vendor_payload& v) { append(out, v.data); },
                 [&](const ts_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.selectors.size()));
                   put_zero(out, 3);
                   for (const auto& s : v.selectors) {
                     put_u8(out, static_cast<std::uint8_t>(s.type));
                     put_u8(out, s.ip_protocol);
                     put_u16(out, static_cast<std::uint16_t>(8 + s.start_addr.size() + s.end_addr.size()));
                     put_u16(out, s.start_port);
                     put_u16(out, s.end_port);
                     append(out, s.start_addr);
                     append(out, s.end_addr);
                   }
                 },
                 [&](const cp_payload& v) {
                   put_u8(out, static_cast<std::uint8_t>(v.type));
                   put_zero(out, 3);
                   for (const auto& a : v.attributes) {
                     put_u16(out, a.type & 0x7fff);
                     put_u16(out, static_cast<std::uint16_t>(a.value.size()));
                     append(out, a.value);
                   }
                 },
                 [&](const eap_payload& v) {
                   put_u8(out, v.code);
                   put_u8(out, v.identifier);
                   put_u16(out, static_cast<std::uint16_t>(4 + v.data.size()));
                   append(out, v.data);
                 },
                 [&](const sk_payload& v) { append(out, v.data); },
                 [&](const skf_payload& v) {
                   put_u16(out, v.fragment_number);
                   put_u16(out, v.total_fragments);
                   append(out, v.data);
                 },
                 [&](const unknown_payload& v) { append(out, v.data); },
             },
             body);
}

void encode_chain(bytes& out, const std::vector<payload>& ps) {
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const payload& p = ps[i];
    payload_type next = i + 1 < ps.size() ? ps[i + 1].type : payload_type::none;
    if (const auto* sk = std::get_if<sk_payload>(&p.body)) next = sk->first_inner;
    if (const auto* skf = std::get_if<skf_payload>(&p.body)) next = skf->first_inner;
    const std::size_t start = out.size();
    put_u8(out, static_cast<std::uint8_t>(next));
    put_u8(out, p.critical ? 0x80 : 0);
    put_u16(out, 0);  // length, patched below
    encode_body(out, p.body);
    const auto len = static_cast<std::uint16_t>(out.size() - start);
    out[start + 2] = static_cast<std::uint8_t>(len >> 8);
    out[start + 3] = static_cast<std::uint8_t>(len);
  }
}

}  // namespace

result<ike_header> parse_header(bytes_view d) {
  if (d.size() < ike_header_size)
    return make_error(errc::invalid_syntax, "IKE header: datagram of " + to_string(d.size()) +
                                                " octets is shorter than the 28-octet header");
  ike_header h;
  h.spi_i = get_u64(d.data());
  h.spi_r = get_u64(d.data() + 8);
  h.next_payload = static_cast<payload_type>(d[16]);
  h.version = d[17];
  h.exchange_type = static_cast<exchange>(d[18]);
  h.flags = d[19];
  h.message_id = get_u32(d.data() + 20);
  h.length = get_u32(d.data() + 24);
  // §3.1: only the major version decides; a higher minor version is accepted.
  if ((h.version >> 4) != (ike_version >> 4))
    return make_error(errc::invalid_major_version,
                      "IKE header: major version " + to_string(h.version >> 4) + ", expected 2");
  if (h.length != d.size())
    return make_error(errc::invalid_syntax, "IKE header: Length field " + to_string(h.length) +
                                                " but the datagram has " + to_string(d.size()) + " octets");
  return h;
}

result<message> parse_message(bytes_view datagram) {
  auto h = parse_header(datagram);
  if (!h) return h.err();
  auto ps = parse_chain(h->next_payload, datagram.subspan(ike_header_size), true, ike_header_size);
  if (!ps) return ps.err();
  return message{h.value(), std::move(ps.value())};
}

result<std::vector<payload>> parse_payloads(payload_type first, bytes_view data) {
  return parse_chain(first, data, false, 0);
}

bytes encode_header(const ike_header& h) {
  bytes out;
  out.reserve(ike_header_size);
  put_u64(out, h.spi_i);
  put_u64(out, h.spi_r);
  put_u8(out, static_cast<std::uint8_t>(h.next_payload));
  put_u8(out, h.version);
  put_u8(out, static_cast<std::uint8_t>(h.exchange_type));
  put_u8(out, h.flags);
  put_u32(out, h.message_id);
  put_u32(out, h.length);
  return out;
}

bytes encode_message(const message& m) {
  bytes chain;
  encode_chain(chain, m.payloads);
  ike_header h = m.header;
  h.next_payload = m.payloads.empty() ? payload_type::none : m.payloads.front().type;
  h.length = static_cast<std::uint32_t>(ike_header_size + chain.size());
  bytes out = encode_header(h);
  append(out, chain);
  return out;
}

bytes encode_payloads(const std::vector<payload>& ps) {
  bytes out;
  encode_chain(out, ps);
  return out;
}

bytes encode_payload_body(const payload& p) {
  bytes out;
  encode_body(out, p.body);
  return out;
}

}  // namespace aike::wire
