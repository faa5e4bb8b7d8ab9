#include "engine/ts/selector.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace aike::ts {

namespace {

using addr16 = std::array<std::uint8_t, 16>;

std::size_t addr_len(bool v6) { return v6 ? 16 : 4; }
int addr_bits(bool v6) { return v6 ? 128 : 32; }

int compare(const addr16& a, const addr16& b, bool v6) { return std::memcmp(a.data(), b.data(), addr_len(v6)); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

error bad(std::string_view what, std::string_view whole) {
  return make_error(errc::invalid_argument, std::string(what) + " in traffic selector '" + std::string(whole) + "'");
}

// A decimal number in [0, max] taking the whole string.
std::optional<unsigned> number(std::string_view s, unsigned max) {
  unsigned v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// inet_pton needs a terminated string; the family follows from the presence of ':'.
bool parse_addr(std::string_view text, bool& v6, addr16& out) {
  const std::string s(trim(text));
  out.fill(0);
  v6 = s.find(':') != std::string::npos;
  return !s.empty() && inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), out.data()) == 1;
}

std::string format_addr(const addr16& a, bool v6) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

bool bit(const addr16& a, int i) { return (a[static_cast<std::size_t>(i / 8)] >> (7 - i % 8)) & 1; }

// Keeps the first `len` bits; the rest become `fill`.
addr16 masked(addr16 a, int len, bool v6, bool fill) {
  for (int i = len; i < addr_bits(v6); ++i) {
    const auto byte = static_cast<std::size_t>(i / 8);
    const auto m = static_cast<std::uint8_t>(0x80 >> (i % 8));
    a[byte] = fill ? static_cast<std::uint8_t>(a[byte] | m) : static_cast<std::uint8_t>(a[byte] & ~m);
  }
  return a;
}

// The prefix length when [start, end] is exactly one CIDR block.
std::optional<int> prefix_len(const addr16& start, const addr16& end, bool v6) {
  const int bits = addr_bits(v6);
  int len = 0;
  while (len < bits && bit(start, len) == bit(end, len)) ++len;
  for (int i = len; i < bits; ++i)
    if (bit(start, i) || !bit(end, i)) return std::nullopt;
  return len;
}

constexpr std::uint8_t icmp = 1, icmpv6 = 58;

struct proto_name {
  std::string_view name;
  std::uint8_t number;
};
constexpr proto_name proto_names[] = {{"tcp", 6},   {"udp", 17},       {"icmp", icmp}, {"ipv6-icmp", icmpv6},
                                      {"icmpv6", icmpv6}, {"sctp", 132}, {"gre", 47}};

std::optional<std::uint8_t> proto_by_name(std::string_view name) {
  for (const auto& p : proto_names)
    if (p.name == name) return p.number;
  return std::nullopt;
}

std::string proto_to_string(std::uint8_t number) {
  for (const auto& p : proto_names)
    if (p.number == number) return std::string(p.name);
  return std::to_string(number);
}

// "[proto]" / "[proto/port]" / "[proto/a-b]" contents.
status parse_suffix(std::string_view suffix, std::string_view whole, selector& out) {
  const std::size_t slash = suffix.find('/');
  const std::string proto = lower(trim(suffix.substr(0, slash)));
  bool icmp_by_name = false;
  if (proto == "%any" || proto == "any") {
    out.protocol = 0;
  } else if (auto named = proto_by_name(proto)) {
    out.protocol = *named;
    icmp_by_name = *named == icmp || *named == icmpv6;
  } else if (auto n = number(proto, 255)) {
    out.protocol = static_cast<std::uint8_t>(*n);
  } else {
    return bad("unknown protocol '" + proto + "'", whole);
  }
  if (slash == std::string_view::npos) return ok_v;

  const std::string_view ports = trim(suffix.substr(slash + 1));
  if (lower(ports) == "%any" || lower(ports) == "any") return ok_v;
  if (icmp_by_name) {
    // RFC 4301 §4.4.1.1: type in the high octet, code in the low one; "[icmp/8]" = type 8, any code.
    auto type = number(ports, 255);
    if (!type) return bad("ICMP type '" + std::string(ports) + "' (expected one number 0..255)", whole);
    out.start_port = static_cast<std::uint16_t>(*type << 8);
    out.end_port = static_cast<std::uint16_t>(*type << 8 | 0xff);
    return ok_v;
  }
  const std::size_t dash = ports.find('-');
  auto lo = number(trim(ports.substr(0, dash)), 65535);
  auto hi = dash == std::string_view::npos ? lo : number(trim(ports.substr(dash + 1)), 65535);
  if (!lo || !hi) return bad("bad port '" + std::string(ports) + "'", whole);
  if (*lo > *hi) return bad("port range '" + std::string(ports) + "' runs backwards", whole);
  out.start_port = static_cast<std::uint16_t>(*lo);
  out.end_port = static_cast<std::uint16_t>(*hi);
  return ok_v;
}

}  // namespace

result<selector> selector::parse(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) return make_error(errc::invalid_argument, "empty traffic selector");
  selector out;

  std::string_view addr = s;
  if (const std::size_t lb = s.find('['); lb != std::string_view::npos) {
    if (s.back() != ']' || s.find('[', lb + 1) != std::string_view::npos)
      return bad("protocol/port suffix must be one trailing '[...]'", s);
    addr = trim(s.substr(0, lb));
    if (auto st = parse_suffix(s.substr(lb + 1, s.size() - lb - 2), s, out); !st) return st.err();
  }
  const std::string a = lower(addr);
  if (a == "dynamic" || a == "%dynamic")
    return bad("'dynamic' must be resolved to our own address first (ts::host)", s);
  if (addr.empty()) return bad("no address", s);

  if (const std::size_t slash = addr.find('/'); slash != std::string_view::npos) {
    addr16 base;
    if (!parse_addr(addr.substr(0, slash), out.v6, base))
      return bad("bad address '" + std::string(addr.substr(0, slash)) + "'", s);
    auto len = number(trim(addr.substr(slash + 1)), static_cast<unsigned>(addr_bits(out.v6)));
    if (!len) return bad("bad prefix length '" + std::string(addr.substr(slash + 1)) + "'", s);
    out.start = masked(base, static_cast<int>(*len), out.v6, false);
    out.end = masked(base, static_cast<int>(*len), out.v6, true);
  } else if (const std::size_t dash = addr.find('-'); dash != std::string_view::npos) {
    bool end_v6 = false;
    if (!parse_addr(addr.substr(0, dash), out.v6, out.start))
      return bad("bad address '" + std::string(trim(addr.substr(0, dash))) + "'", s);
    if (!parse_addr(addr.substr(dash + 1), end_v6, out.end))
      return bad("bad address '" + std::string(trim(addr.substr(dash + 1))) + "'", s);
    if (end_v6 != out.v6) return bad("range mixes IPv4 and IPv6", s);
    if (compare(out.start, out.end, out.v6) > 0) return bad("address range runs backwards", s);
  } else {
    if (!parse_addr(addr, out.v6, out.start)) return bad("bad address '" + std::string(addr) + "'", s);
    out.end = out.start;
  }
  return out;
}

result<selector> selector::from_wire(const wire::traffic_selector& t) {
  selector out;
  if (t.type == wire::ts_type::ipv4_addr_range) {
    out.v6 = false;
  } else if (t.type == wire::ts_type::ipv6_addr_range) {
    out.v6 = true;
  } else {
    return make_error(errc::unsupported,
                      "traffic selector type " + std::to_string(static_cast<int>(t.type)) + " not supported");
  }
  const std::size_t n = addr_len(out.v6);
  if (t.start_addr.size() != n || t.end_addr.size() != n)
    return make_error(errc::invalid_syntax, std::string("traffic selector: ") + (out.v6 ? "IPv6" : "IPv4") +
                                                " range with " + std::to_string(t.start_addr.size()) + "/" +
                                                std::to_string(t.end_addr.size()) + "-octet addresses");
  std::copy(t.start_addr.begin(), t.start_addr.end(), out.start.begin());
  std::copy(t.end_addr.begin(), t.end_addr.end(), out.end.begin());
  out.protocol = t.ip_protocol;
  out.start_port = t.start_port;
  out.end_port = t.end_port;
  if (compare(out.start, out.end, out.v6) > 0)
    return make_error(errc::invalid_syntax, "traffic selector: start address " + format_addr(out.start, out.v6) +
                                                " > end address " + format_addr(out.end, out.v6));
  if (t.start_port > t.end_port) {
    // RFC 4301 §4.4.1: start 65535, end 0 means OPAQUE ports, which this implementation cannot enforce.
    if (t.start_port == 65535 && t.end_port == 0)
      return make_error(errc::unsupported, "traffic selector: OPAQUE ports (65535-0) not supported");
    return make_error(errc::invalid_syntax, "traffic selector: start port " + std::to_string(t.start_port) +
                                                " > end port " + std::to_string(t.end_port));
  }
  return out;
}

wire::traffic_selector selector::to_wire() const {
  wire::traffic_selector t;
  t.type = v6 ? wire::ts_type::ipv6_addr_range : wire::ts_type::ipv4_addr_range;
  t.ip_protocol = protocol;
  t.start_port = start_port;
  t.end_port = end_port;
  const auto n = static_cast<std::ptrdiff_t>(addr_len(v6));
  t.start_addr.assign(start.begin(), start.begin() + n);
  t.end_addr.assign(end.begin(), end.begin() + n);
  return t;
}

std::string selector::to_string() const {
  std::string out = format_addr(start, v6);
  if (auto len = prefix_len(start, end, v6))
    out += "/" + std::to_string(*len);
  else
    out += "-" + format_addr(end, v6);

  const bool all_ports = start_port == 0 && end_port == 65535;
  if (protocol == 0 && all_ports) return out;
  std::string proto = proto_to_string(protocol);
  std::string ports;
  if (!all_ports) {
    if (protocol == icmp || protocol == icmpv6) {
      if ((start_port & 0xff) == 0 && end_port == (start_port | 0xff))
        ports = std::to_string(start_port >> 8);  // one ICMP type, any code
      else
        proto = std::to_string(protocol);  // raw port fields: only the numeric protocol reads them so
    }
    if (ports.empty())
      ports = start_port == end_port ? std::to_string(start_port)
                                     : std::to_string(start_port) + "-" + std::to_string(end_port);
  }
  return out + "[" + proto + (ports.empty() ? "" : "/" + ports) + "]";
}

bool selector::contains(const selector& o) const {
  return v6 == o.v6 && compare(start, o.start, v6) <= 0 && compare(o.end, end, v6) <= 0 &&
         (protocol == 0 || protocol == o.protocol) && start_port <= o.start_port && o.end_port <= end_port;
}

std::optional<selector> selector::intersect(const selector& o) const {
  if (v6 != o.v6) return std::nullopt;
  if (protocol != 0 && o.protocol != 0 && protocol != o.protocol) return std::nullopt;
  selector r;
  r.v6 = v6;
  r.protocol = protocol != 0 ? protocol : o.protocol;
  r.start = compare(start, o.start, v6) >= 0 ? start : o.start;
  r.end = compare(end, o.end, v6) <= 0 ? end : o.end;
  if (compare(r.start, r.end, v6) > 0) return std::nullopt;
  r.start_port = std::max(start_port, o.start_port);
  r.end_port = std::min(end_port, o.end_port);
  if (r.start_port > r.end_port) return std::nullopt;
  return r;
}

selector host(std::span<const std::uint8_t> addr) {
  selector s;
  s.v6 = addr.size() == 16;
  std::copy_n(addr.begin(), std::min(addr.size(), addr_len(s.v6)), s.start.begin());
  s.end = s.start;
  return s;
}

std::string to_string(const std::vector<selector>& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ' ';
    out += s.to_string();
  }
  return out;
}

}  // namespace aike::ts
