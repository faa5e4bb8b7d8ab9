#include "kernel/inner_packet.hpp"

#include <cstring>

namespace aike::kernel {

namespace {

bool has_ports(std::uint8_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 136; }

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// Ports (or ICMP type/code) of the transport header at `l4`, `len` octets available.
void read_ports(inner_flow& f, const std::uint8_t* l4, std::size_t len) {
  if (has_ports(f.protocol) && len >= 4) {
    f.src_port = be16(l4);
    f.dst_port = be16(l4 + 2);
  } else if ((f.protocol == 1 || f.protocol == 58) && len >= 2) {
    f.src_port = be16(l4);  // type, code
  }
}

bool in_range(const std::array<std::uint8_t, 16>& a, const ts::selector& s) { return a >= s.start && a <= s.end; }

// A selector restricting ports admits a flow without ports only when its range includes 0
// (RFC 4301 leaves OPAQUE out; aike does not negotiate it).
bool port_in(std::uint16_t port, const ts::selector& s) { return port >= s.start_port && port <= s.end_port; }

}  // namespace

std::optional<inner_flow> parse_inner(bytes_view p) {
  if (p.empty()) return std::nullopt;
  inner_flow f;
  unsigned version = p[0] >> 4;
  if (version == 4) {
    if (p.size() < 20) return std::nullopt;
    std::size_t ihl = std::size_t{p[0] & 0x0fu} * 4;
    if (ihl < 20 || p.size() < ihl) return std::nullopt;
    f.protocol = p[9];
    std::memcpy(f.src.data(), p.data() + 12, 4);
    std::memcpy(f.dst.data(), p.data() + 16, 4);
    bool later_fragment = (be16(p.data() + 6) & 0x1fff) != 0;
    if (!later_fragment) read_ports(f, p.data() + ihl, p.size() - ihl);
    return f;
  }
  if (version == 6) {
    if (p.size() < 40) return std::nullopt;
    f.v6 = true;
    std::memcpy(f.src.data(), p.data() + 8, 16);
    std::memcpy(f.dst.data(), p.data() + 24, 16);
    std::uint8_t nh = p[6];
    std::size_t off = 40;
    bool later_fragment = false;
    for (int hops = 0; hops < 8; ++hops) {
      if (nh == 0 || nh == 43 || nh == 60) {  // hop-by-hop, routing, destination options
        if (p.size() < off + 2) return std::nullopt;
        std::uint8_t next = p[off];
        off += (std::size_t{p[off + 1]} + 1) * 8;
        nh = next;
      } else if (nh == 44) {  // fragment
        if (p.size() < off + 8) return std::nullopt;
        later_fragment = (be16(p.data() + off + 2) & 0xfff8) != 0;
        nh = p[off];
        off += 8;
      } else {
        break;
      }
    }
    f.protocol = nh;
    if (!later_fragment && off <= p.size()) read_ports(f, p.data() + off, p.size() - off);
    return f;
  }
  return std::nullopt;
}

bool flow_matches(const inner_flow& f, const ts::selector& from, const ts::selector& to) {
  if (from.v6 != f.v6 || to.v6 != f.v6) return false;
  if (from.protocol != 0 && from.protocol != f.protocol) return false;
  if (to.protocol != 0 && to.protocol != f.protocol) return false;
  if (!in_range(f.src, from) || !in_range(f.dst, to)) return false;
  // ICMP: the type/code sits in the source "port" of both selectors' view (RFC 4301 §4.4.1.1).
  if (f.protocol == 1 || f.protocol == 58) return port_in(f.src_port, from) && port_in(f.src_port, to);
  return port_in(f.src_port, from) && port_in(f.dst_port, to);
}

bool flow_matches_any(const inner_flow& f, const std::vector<ts::selector>& from, const std::vector<ts::selector>& to) {
  for (const auto& a : from)
    for (const auto& b : to)
      if (flow_matches(f, a, b)) return true;
  return false;
}

}  // namespace aike::kernel
