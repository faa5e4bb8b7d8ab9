// The outbound SA index of the userspace ESP backend (kernel/outbound_index.hpp) against the
// linear first-match scan it replaces: random tables (overlapping and duplicated selectors, IPv4
// and IPv6, protocols, ports, ICMP types, empty ranges) and random flows must get the same rule,
// with and without the flow cache in front; plus targeted cases (priority among overlaps, rekey
// pairs, edges of the address space, the fallback list for very wide rules, cache invalidation).
#include <gtest/gtest.h>

#include <random>

#include "kernel/inner_packet.hpp"
#include "kernel/outbound_index.hpp"

namespace aike {
namespace {

using kernel::inner_flow;
using kernel::no_outbound_rule;
using kernel::outbound_flow_cache;
using kernel::outbound_index;
using kernel::outbound_rule;

// Written here, not taken from the library, so the test does not trust the code it checks.
std::size_t reference(const std::vector<outbound_rule>& rules, const inner_flow& f) {
  for (std::size_t i = 0; i < rules.size(); ++i)
    for (const auto& l : rules[i].local)
      for (const auto& r : rules[i].remote)
        if (kernel::flow_matches(f, l, r)) return i;
  return no_outbound_rule;
}

ts::selector sel(const char* s) { return *ts::selector::parse(s); }

inner_flow flow(const char* src, const char* dst, std::uint8_t proto = 17, std::uint16_t sport = 1000,
                std::uint16_t dport = 53) {
  auto s = sel(src), d = sel(dst);
  inner_flow f;
  f.v6 = s.v6;
  f.src = s.start;
  f.dst = d.start;
  f.protocol = proto;
  f.src_port = sport;
  f.dst_port = dport;
  return f;
}

outbound_rule rule(std::initializer_list<const char*> local, std::initializer_list<const char*> remote) {
  outbound_rule r;
  for (auto* s : local) r.local.push_back(sel(s));
  for (auto* s : remote) r.remote.push_back(sel(s));
  return r;
}

// --- random tables -----------------------------------------------------------------------------

class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }

  // Addresses from a small space so that ranges overlap and flows hit them, plus the extremes.
  std::array<std::uint8_t, 16> address(bool v6) {
    std::array<std::uint8_t, 16> a{};
    int kind = pick(20);
    if (kind == 0) return a;  // all zero
    if (kind == 1) {
      for (int i = 0; i < (v6 ? 16 : 4); ++i) a[i] = 0xff;
      return a;
    }
    if (!v6) {
      a[0] = 10;
      a[1] = static_cast<std::uint8_t>(pick(2));
      a[2] = static_cast<std::uint8_t>(pick(4));
      a[3] = static_cast<std::uint8_t>(pick(256));
    } else {
      a[0] = 0x20;
      a[1] = 0x01;
      a[2] = 0x0d;
      a[3] = 0xb8;
      a[7] = static_cast<std::uint8_t>(pick(2));
      a[14] = static_cast<std::uint8_t>(pick(4));
      a[15] = static_cast<std::uint8_t>(pick(256));
    }
    return a;
  }

  ts::selector selector(bool v6) {
    ts::selector s;
    s.v6 = v6;
    const int bits = v6 ? 128 : 32;
    int kind = pick(10);
    if (kind < 5) {  // a prefix
      static const int v4_lengths[] = {0, 8, 16, 23, 24, 26, 30, 31, 32, 32};
      static const int v6_lengths[] = {0, 32, 64, 120, 121, 122, 126, 127, 128, 128};
      int len = v6 ? v6_lengths[pick(10)] : v4_lengths[pick(10)];
      s.start = address(v6);
      for (int i = len; i < bits; ++i) s.start[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
      s.end = s.start;
      for (int i = len; i < bits; ++i) s.end[i / 8] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
    } else if (kind < 9) {  // an arbitrary range
      s.start = address(v6);
      s.end = address(v6);
      if (s.end < s.start) std::swap(s.start, s.end);
    } else {  // empty: start above end (never matches)
      s.start = address(v6);
      s.end = address(v6);
      if (s.start < s.end) std::swap(s.start, s.end);
    }
    static const std::uint8_t protocols[] = {0, 0, 0, 0, 6, 17, 1, 58};
    s.protocol = protocols[pick(8)];
    int ports = pick(10);
    if (ports < 6) {
      s.start_port = 0;
      s.end_port = 65535;
    } else if (ports < 8) {
      s.start_port = s.end_port = port();
    } else {
      s.start_port = port();
      s.end_port = port();
      if (s.end_port < s.start_port) std::swap(s.start_port, s.end_port);
    }
    return s;
  }

  std::uint16_t port() {
    static const std::uint16_t some[] = {0, 53, 80, 443, 500, 0x0800, 0x0803, 0x8000, 0x8800, 65535};
    return pick(3) == 0 ? static_cast<std::uint16_t>(pick(65536)) : some[pick(10)];
  }

  std::vector<outbound_rule> table(int n) {
    std::vector<outbound_rule> t;
    for (int i = 0; i < n; ++i) {
      if (!t.empty() && chance(10)) {  // the exact same selectors again (a rekey overlap)
        t.push_back(t[static_cast<std::size_t>(pick(static_cast<int>(t.size())))]);
        continue;
      }
      bool v6 = chance(40);
      outbound_rule r;
      for (int k = 1 + pick(2); k > 0; --k) r.local.push_back(selector(chance(10) ? !v6 : v6));
      for (int k = 1 + pick(3); k > 0; --k) r.remote.push_back(selector(chance(10) ? !v6 : v6));
      t.push_back(std::move(r));
    }
    return t;
  }

  inner_flow random_flow() {
    inner_flow f;
    f.v6 = chance(40);
    f.src = address(f.v6);
    f.dst = address(f.v6);
    static const std::uint8_t protocols[] = {6, 17, 1, 58, 132, 47, 0};
    f.protocol = protocols[pick(7)];
    if (f.protocol == 1 || f.protocol == 58) {
      f.src_port = port();
    } else if (f.protocol != 47) {
      f.src_port = port();
      f.dst_port = port();
    }
    return f;
  }

 private:
  std::mt19937 rng_;
};

TEST(OutboundIndex, RandomTablesMatchTheLinearScan) {
  generator g(20261129);
  std::size_t flows = 0, matched = 0, not_first = 0;
  for (int round = 0; round < 200; ++round) {
    int n = round < 20 ? round : 1 + g.pick(round < 150 ? 40 : 400);
    auto rules = g.table(n);
    outbound_index index(rules);
    outbound_flow_cache cache;
    for (int i = 0; i < 300; ++i) {
      inner_flow f = g.random_flow();
      std::size_t want = reference(rules, f);
      ASSERT_EQ(index.find(f), want) << "round " << round << " flow " << i;
      ASSERT_EQ(cache.find(index, f), want) << "round " << round << " flow " << i << " (cache)";
      ASSERT_EQ(cache.find(index, f), want) << "round " << round << " flow " << i << " (cache, again)";
      ++flows;
      if (want != no_outbound_rule) ++matched;
      if (want != no_outbound_rule && want > 0) ++not_first;
    }
  }
  EXPECT_EQ(flows, 60000u);
  // The tables and flows must exercise matches, misses and later rules, not just one of them.
  EXPECT_GT(matched, flows / 10);
  EXPECT_LT(matched, flows * 9 / 10);
  EXPECT_GT(not_first, flows / 20);
}

TEST(OutboundIndex, ManyWideRulesGoToTheFallbackAndStillMatchInOrder) {
  // 3,000 host and small-subnet rules give many intervals; 60 wide rules interleaved between them
  // would each be listed in all of them, so some go to the fallback list.
  generator g(7);
  std::vector<outbound_rule> rules;
  for (int i = 0; i < 3000; ++i) {
    if (i % 50 == 25) {
      rules.push_back(rule({"0.0.0.0/0"}, {i % 100 == 25 ? "0.0.0.0/0" : "10.0.0.0/8[tcp]"}));
      rules.push_back(rule({"::/0"}, {"::/0[udp/53]"}));
    }
    auto r = g.table(1);
    rules.push_back(std::move(r[0]));
  }
  outbound_index index(rules);
  auto shape = index.describe();
  EXPECT_GT(shape.fallback, 0u);
  EXPECT_GT(shape.intervals, 1000u);
  outbound_flow_cache cache;
  for (int i = 0; i < 20000; ++i) {
    inner_flow f = g.random_flow();
    std::size_t want = reference(rules, f);
    ASSERT_EQ(index.find(f), want) << "flow " << i;
    ASSERT_EQ(cache.find(index, f), want) << "flow " << i;
  }
}

// --- targeted cases ---------------------------------------------------------------------------

TEST(OutboundIndex, EmptyTableAndOtherFamilyFindNothing) {
  outbound_index empty;
  EXPECT_EQ(empty.find(flow("10.1.0.1", "10.2.0.1")), no_outbound_rule);
  outbound_index v4_only({rule({"10.1.0.0/16"}, {"0.0.0.0/0"})});
  EXPECT_EQ(v4_only.find(flow("10.1.0.1", "10.2.0.1")), 0u);
  EXPECT_EQ(v4_only.find(flow("2001:db8::1", "2001:db8:2::1")), no_outbound_rule);
  // Tables of more than two rules are searched, not scanned: a family without rules, too.
  outbound_index v4_three({rule({"10.1.0.0/16"}, {"10.3.0.0/16"}), rule({"10.1.0.0/16"}, {"10.4.0.0/16"}),
                           rule({"10.1.0.0/16"}, {"0.0.0.0/0"})});
  EXPECT_EQ(v4_three.find(flow("10.1.0.1", "10.4.0.1")), 1u);
  EXPECT_EQ(v4_three.find(flow("10.1.0.1", "10.2.0.1")), 2u);
  EXPECT_EQ(v4_three.find(flow("2001:db8::1", "2001:db8:2::1")), no_outbound_rule);
  EXPECT_EQ(v4_three.describe().intervals, 4u);  // from 0, 10.3.0.0, 10.4.0.0 and 10.5.0.0
}

TEST(OutboundIndex, TheFirstOfOverlappingRulesWins) {
  std::vector<outbound_rule> rules = {
      rule({"10.1.0.0/16"}, {"10.2.0.0/16[tcp/443]"}),  // 0: narrow in protocol/port
      rule({"10.1.0.0/16"}, {"10.2.0.0/24"}),           // 1
      rule({"10.1.0.0/16"}, {"10.2.0.0/16"}),           // 2: wider, later
      rule({"10.1.0.0/16"}, {"10.2.0.7"}),              // 3: narrowest, but last
      rule({"10.9.0.0/16"}, {"10.2.0.7"}),              // 4: other source
  };
  outbound_index index(rules);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.7", 6, 1234, 443)), 0u);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.7", 6, 1234, 80)), 1u);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.1.7", 17)), 2u);
  EXPECT_EQ(index.find(flow("10.9.0.1", "10.2.0.7")), 4u);
  EXPECT_EQ(index.find(flow("10.9.0.1", "10.2.0.8")), no_outbound_rule);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.3.0.1")), no_outbound_rule);
}

TEST(OutboundIndex, RekeyPairKeepsTheFirstOfEqualSelectors) {
  // The backend orders its table newest first; old and new SA of a rekey have equal selectors.
  auto a = rule({"10.1.0.0/24", "2001:db8:1::/64"}, {"10.2.0.0/24", "2001:db8:2::/64"});
  outbound_index index({a, a, rule({"0.0.0.0/0"}, {"0.0.0.0/0"})});
  EXPECT_EQ(index.find(flow("10.1.0.9", "10.2.0.9")), 0u);
  EXPECT_EQ(index.find(flow("2001:db8:1::9", "2001:db8:2::9")), 0u);
  EXPECT_EQ(index.find(flow("10.1.0.9", "10.3.0.9")), 2u);
}

TEST(OutboundIndex, EdgesOfTheAddressSpace) {
  std::vector<outbound_rule> rules = {
      rule({"0.0.0.0/0"}, {"255.255.255.255"}),
      rule({"0.0.0.0/0"}, {"0.0.0.0"}),
      rule({"::/0"}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}),
      rule({"::/0"}, {"::"}),
      rule({"0.0.0.0/0"}, {"10.0.0.1-10.0.0.3"}),
      rule({"0.0.0.0/0"}, {"128.0.0.0/1"}),
      rule({"::/0"}, {"8000::/1"}),
  };
  outbound_index index(rules);
  EXPECT_EQ(index.find(flow("1.1.1.1", "255.255.255.255")), 0u);
  EXPECT_EQ(index.find(flow("1.1.1.1", "255.255.255.254")), 5u);
  EXPECT_EQ(index.find(flow("1.1.1.1", "0.0.0.0")), 1u);
  EXPECT_EQ(index.find(flow("1.1.1.1", "0.0.0.1")), no_outbound_rule);
  EXPECT_EQ(index.find(flow("1.1.1.1", "10.0.0.0")), no_outbound_rule);
  EXPECT_EQ(index.find(flow("1.1.1.1", "10.0.0.1")), 4u);
  EXPECT_EQ(index.find(flow("1.1.1.1", "10.0.0.3")), 4u);
  EXPECT_EQ(index.find(flow("1.1.1.1", "10.0.0.4")), no_outbound_rule);
  EXPECT_EQ(index.find(flow("1.1.1.1", "127.255.255.255")), no_outbound_rule);
  EXPECT_EQ(index.find(flow("1.1.1.1", "128.0.0.0")), 5u);
  EXPECT_EQ(index.find(flow("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), 2u);
  EXPECT_EQ(index.find(flow("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")), 6u);
  EXPECT_EQ(index.find(flow("::1", "::")), 3u);
  EXPECT_EQ(index.find(flow("::1", "::1")), no_outbound_rule);
}

TEST(OutboundIndex, ProtocolsPortsAndIcmpTypes) {
  std::vector<outbound_rule> rules = {
      rule({"10.1.0.0/16[icmp/8]"}, {"10.2.0.0/16[icmp/8]"}),  // 0: echo request only
      rule({"10.1.0.0/16[udp/5000]"}, {"10.2.0.0/16[udp]"}),   // 1: from source port 5000
      rule({"10.1.0.0/16"}, {"10.2.0.0/16[tcp/22]"}),          // 2
  };
  outbound_index index(rules);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 1, 0x0800, 0)), 0u);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 1, 0x0000, 0)), no_outbound_rule);  // echo reply
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 17, 5000, 53)), 1u);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 17, 5001, 53)), no_outbound_rule);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 6, 40000, 22)), 2u);
  EXPECT_EQ(index.find(flow("10.1.0.1", "10.2.0.1", 6, 40000, 23)), no_outbound_rule);
}

TEST(OutboundIndex, CacheForgetsAnswersOfAnOlderIndex) {
  auto wide = rule({"0.0.0.0/0"}, {"0.0.0.0/0"});
  auto narrow = rule({"0.0.0.0/0"}, {"10.2.0.0/16"});
  outbound_flow_cache cache;
  auto f = flow("10.1.0.1", "10.2.0.1");
  outbound_index first({wide, narrow});
  EXPECT_EQ(cache.find(first, f), 0u);
  outbound_index second({narrow, wide});
  EXPECT_EQ(cache.find(second, f), 0u);  // now rule 0 is `narrow`; the same position, by chance
  outbound_index third({rule({"0.0.0.0/0"}, {"10.9.0.0/16"}), narrow});
  EXPECT_EQ(cache.find(third, f), 1u);
  outbound_index gone({rule({"0.0.0.0/0"}, {"10.9.0.0/16"})});
  EXPECT_EQ(cache.find(gone, f), no_outbound_rule);
  EXPECT_NE(first.serial(), second.serial());
}

}  // namespace
}  // namespace aike
