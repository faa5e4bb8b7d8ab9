// Traffic selectors (RFC 7296 §2.9, §3.13.1) and their negotiation.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::ts {

// One selector: an address range of one family, an IP protocol (0 = any) and a port range.
// For ICMP and ICMPv6 the port fields hold type (high octet) and code (low octet), RFC 4301 §4.4.1.1.
struct selector {
  bool v6 = false;
  std::array<std::uint8_t, 16> start{}, end{};  // IPv4 uses the first 4 octets, the rest stay 0
  std::uint8_t protocol = 0;
  std::uint16_t start_port = 0, end_port = 65535;

  // strongSwan's notation: "10.1.0.0/24", "10.1.0.5" (one host), "10.1.0.1-10.1.0.99",
  // "2001:db8::/64", "0.0.0.0/0", "::/0", optionally followed by "[proto]" or "[proto/port]":
  // proto is tcp, udp, icmp, ipv6-icmp (icmpv6), sctp, gre, a number 0..255 or %any; port is a
  // number, a range "500-600" or %any. With the names icmp/ipv6-icmp a port is an ICMP type
  // ("[icmp/8]" = echo request, any code). Host bits under a prefix are masked off.
  // "dynamic" is not an address: resolve it with host().
  static result<selector> parse(std::string_view s);
  // Checks address lengths and start <= end; OPAQUE ports (start > end) are refused as unsupported.
  static result<selector> from_wire(const wire::traffic_selector& t);
  wire::traffic_selector to_wire() const;
  // "10.1.0.0/24" when the range is an exact prefix (a host is "/32" or "/128"), else "a-b";
  // plus "[tcp/80]"-style suffix when protocol or ports are restricted. parse() reads it back.
  std::string to_string() const;

  bool contains(const selector& other) const;
  // Same family only; protocol 0 matches any; addresses and ports are intersected.
  std::optional<selector> intersect(const selector& other) const;
  bool operator==(const selector&) const = default;
};

// RFC 7296 §2.9 narrowing as responder, for one of TSi/TSr: every proposed selector is intersected
// with every configured one. The result lists the non-empty intersections in configured order,
// without duplicates and without any that another result already covers (so the specific
// "triggering packet" selector an initiator may put first is absorbed by the wider range that
// contains it, while two separate local subnets stay two selectors).
// Nothing left -> errc::ts_unacceptable naming both sets.
result<std::vector<selector>> narrow(const std::vector<selector>& proposed, const std::vector<selector>& configured);

// As initiator: every selector the responder answered lies within one of ours. An empty answer is
// not acceptable (a TS payload carries at least one selector).
bool is_subset(const std::vector<selector>& answer, const std::vector<selector>& proposed);

// "dynamic": the single-host selector of our own address (4 octets = IPv4, 16 = IPv6; any other
// length is read as IPv4 from the octets present, zero-filled).
selector host(std::span<const std::uint8_t> addr);

// "10.1.0.0/24 10.1.1.0/24"
std::string to_string(const std::vector<selector>& list);

}  // namespace aike::ts
