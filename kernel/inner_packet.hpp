// The flow of an inner IP packet (addresses, protocol, ports) and whether a CHILD_SA's traffic
// selectors cover it: the userspace backend's policy check, done per packet on the data path.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/ts/selector.hpp"

namespace aike::kernel {

struct inner_flow {
  bool v6 = false;
  std::array<std::uint8_t, 16> src{}, dst{};  // IPv4 in the first 4 octets, like ts::selector
  std::uint8_t protocol = 0;
  // TCP/UDP/SCTP/UDP-Lite ports; for ICMP/ICMPv6 the source "port" is type << 8 | code and the
  // destination 0 (RFC 4301 §4.4.1.1, as ts::selector stores them); 0 for other protocols and for
  // fragments after the first.
  std::uint16_t src_port = 0, dst_port = 0;
  std::uint8_t next_header() const { return v6 ? 41 : 4; }  // ESP next header of the inner packet
  bool operator==(const inner_flow&) const = default;
};

// Reads the flow of an IPv4 or IPv6 packet; nullopt when it is neither or truncated. IPv6
// extension headers (hop-by-hop, routing, fragment, destination options) are skipped.
std::optional<inner_flow> parse_inner(bytes_view packet);

// Whether (src, src_port) lies in `from` and (dst, dst_port) in `to`, with protocols agreeing.
bool flow_matches(const inner_flow& f, const ts::selector& from, const ts::selector& to);

// Whether any pair of `from` x `to` covers the flow.
bool flow_matches_any(const inner_flow& f, const std::vector<ts::selector>& from, const std::vector<ts::selector>& to);

}  // namespace aike::kernel
