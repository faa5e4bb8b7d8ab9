#include "kernel/xfrm_selectors.hpp"

#include <netinet/in.h>

namespace aike::kernel {
namespace {

__extension__ typedef unsigned __int128 u128;

u128 to_number(const std::array<std::uint8_t, 16>& a, bool v6) {
  u128 n = 0;
  for (unsigned i = 0; i < (v6 ? 16u : 4u); ++i) n = (n << 8) | a[i];
  return n;
}

std::array<std::uint8_t, 16> to_octets(u128 n, bool v6) {
  std::array<std::uint8_t, 16> a{};
  unsigned len = v6 ? 16 : 4;
  for (unsigned i = len; i-- > 0;) {
    a[i] = static_cast<std::uint8_t>(n & 0xff);
    n >>= 8;
  }
  return a;
}

// Greedy cover of [first, last] by aligned blocks of 2^k; calls emit(start, k).
template <class Emit>
void cover(u128 first, u128 last, unsigned bits, Emit emit) {
  auto ones = [](unsigned n) { return n >= 128 ? ~u128(0) : (u128(1) << n) - 1; };
  u128 cur = first;
  for (;;) {
    unsigned k = 0;
    while (k < bits) {
      u128 mask = ones(k + 1);
      if ((cur & mask) != 0 || last - cur < mask) break;
      ++k;
    }
    emit(cur, k);
    u128 span = ones(k);  // block size - 1
    if (last - cur <= span) return;
    cur += span + 1;
  }
}

bool is_icmp(std::uint8_t proto) { return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6; }

// ICMP selectors carry type<<8|code in the port fields (RFC 4301 §4.4.1.1); the kernel matches
// the type in the source port and the code in the destination port. Returns (type pairs, code pairs).
result<std::pair<std::vector<std::pair<std::uint16_t, std::uint16_t>>, std::vector<std::pair<std::uint16_t, std::uint16_t>>>>
icmp_masks(const ts::selector& s) {
  using pairs = std::vector<std::pair<std::uint16_t, std::uint16_t>>;
  if (s.start_port == 0 && s.end_port == 0xffff) return std::make_pair(pairs{{0, 0}}, pairs{{0, 0}});
  unsigned t0 = s.start_port >> 8, t1 = s.end_port >> 8, c0 = s.start_port & 0xff, c1 = s.end_port & 0xff;
  if (c0 == 0 && c1 == 0xff) {
    pairs types;
    cover(t0, t1, 8, [&](u128 v, unsigned k) {
      types.emplace_back(static_cast<std::uint16_t>(v), static_cast<std::uint16_t>((0xffffu << k) & 0xffffu));
    });
    return std::make_pair(types, pairs{{0, 0}});
  }
  if (t0 == t1) {
    pairs codes;
    cover(c0, c1, 8, [&](u128 v, unsigned k) {
      codes.emplace_back(static_cast<std::uint16_t>(v), static_cast<std::uint16_t>((0xffffu << k) & 0xffffu));
    });
    return std::make_pair(pairs{{static_cast<std::uint16_t>(t0), 0xffff}}, codes);
  }
  return make_error(errc::unsupported, "ICMP selector " + s.to_string() +
                                           " spans several types with partial codes; the kernel cannot express it");
}

}  // namespace

std::vector<std::pair<std::array<std::uint8_t, 16>, unsigned>> range_to_prefixes(const std::array<std::uint8_t, 16>& start,
                                                                                const std::array<std::uint8_t, 16>& end,
                                                                                bool v6) {
  std::vector<std::pair<std::array<std::uint8_t, 16>, unsigned>> out;
  unsigned bits = v6 ? 128 : 32;
  u128 a = to_number(start, v6), b = to_number(end, v6);
  if (a > b) return out;
  cover(a, b, bits, [&](u128 v, unsigned k) { out.emplace_back(to_octets(v, v6), bits - k); });
  return out;
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> range_to_masks(std::uint16_t first, std::uint16_t last) {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> out;
  if (first > last) return out;
  cover(first, last, 16, [&](u128 v, unsigned k) {
    out.emplace_back(static_cast<std::uint16_t>(v), static_cast<std::uint16_t>((0xffffu << k) & 0xffffu));
  });
  return out;
}

selector_shape kernel_selector::shape() const {
  selector_shape s;
  s.v6 = v6;
  s.prefix_src = src.prefix;
  s.prefix_dst = dst.prefix;
  s.any_protocol = protocol == 0;
  s.any_src_port = src.port_mask == 0;
  s.any_dst_port = dst.port_mask == 0;
  return s;
}

result<std::vector<kernel_selector>> to_kernel_selectors(const ts::selector& src, const ts::selector& dst,
                                                         std::size_t limit) {
  if (src.v6 != dst.v6)
    return make_error(errc::invalid_argument, "selectors " + src.to_string() + " and " + dst.to_string() +
                                                  " are of different address families");
  std::uint8_t proto = src.protocol ? src.protocol : dst.protocol;
  if (src.protocol && dst.protocol && src.protocol != dst.protocol)
    return make_error(errc::invalid_argument, "selectors " + src.to_string() + " and " + dst.to_string() +
                                                  " name different protocols");
  using pairs = std::vector<std::pair<std::uint16_t, std::uint16_t>>;
  pairs sports{{0, 0}}, dports{{0, 0}};
  if (is_icmp(proto)) {
    // The ICMP type/code sits in the selector of the sending side: the source's for out-going traffic.
    const ts::selector& restricted = (src.start_port != 0 || src.end_port != 0xffff) ? src : dst;
    auto m = icmp_masks(restricted);
    if (!m) return m.err();
    sports = m->first;
    dports = m->second;
  } else if (proto != 0) {
    sports = range_to_masks(src.start_port, src.end_port);
    dports = range_to_masks(dst.start_port, dst.end_port);
  }
  auto sp = range_to_prefixes(src.start, src.end, src.v6);
  auto dp = range_to_prefixes(dst.start, dst.end, dst.v6);
  std::size_t n = sp.size() * dp.size() * sports.size() * dports.size();
  if (n == 0) return make_error(errc::invalid_argument, "empty selector " + src.to_string() + " or " + dst.to_string());
  if (n > limit)
    return make_error(errc::unsupported, "selectors " + src.to_string() + " === " + dst.to_string() + " need " +
                                             std::to_string(n) + " kernel policies per direction; more than " +
                                             std::to_string(limit) + " are refused");
  std::vector<kernel_selector> out;
  out.reserve(n);
  for (const auto& [sa, sl] : sp)
    for (const auto& [da, dl] : dp)
      for (const auto& [spv, spm] : sports)
        for (const auto& [dpv, dpm] : dports) {
          kernel_selector k;
          k.v6 = src.v6;
          k.protocol = proto;
          k.src = {sa, sl, spv, spm};
          k.dst = {da, dl, dpv, dpm};
          out.push_back(k);
        }
  return out;
}

}  // namespace aike::kernel
