// Traffic selectors: notation, wire form, set operations and RFC 7296 §2.9 narrowing.
#include <gtest/gtest.h>

#include "engine/ts/selector.hpp"

namespace aike::ts {
namespace {

selector ts(std::string_view s) {
  auto r = selector::parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.err().message);
  return r.ok() ? *r : selector{};
}

std::vector<selector> list(std::initializer_list<std::string_view> specs) {
  std::vector<selector> out;
  for (auto s : specs) out.push_back(ts(s));
  return out;
}

std::string parse_error(std::string_view s) {
  auto r = selector::parse(s);
  EXPECT_FALSE(r.ok()) << s << " parsed as " << (r.ok() ? r->to_string() : "");
  return r.ok() ? std::string() : r.err().message;
}

TEST(TsSelector, ParsesPrefix) {
  auto s = ts("10.1.0.0/24");
  EXPECT_FALSE(s.v6);
  EXPECT_EQ(s.start, (std::array<std::uint8_t, 16>{10, 1, 0, 0}));
  EXPECT_EQ(s.end, (std::array<std::uint8_t, 16>{10, 1, 0, 255}));
  EXPECT_EQ(s.protocol, 0);
  EXPECT_EQ(s.start_port, 0);
  EXPECT_EQ(s.end_port, 65535);
  // Host bits under the prefix are masked off.
  EXPECT_EQ(ts("10.1.0.77/24"), s);
  auto any = ts("0.0.0.0/0");
  EXPECT_EQ(any.start, (std::array<std::uint8_t, 16>{}));
  EXPECT_EQ(any.end, (std::array<std::uint8_t, 16>{255, 255, 255, 255}));
}

TEST(TsSelector, ParsesHostAndRange) {
  auto h = ts("10.1.0.5");
  EXPECT_EQ(h.start, h.end);
  EXPECT_EQ(h.start[3], 5);
  auto r = ts("10.1.0.1-10.1.0.99");
  EXPECT_EQ(r.start[3], 1);
  EXPECT_EQ(r.end[3], 99);
}

TEST(TsSelector, ParsesIpv6) {
  auto s = ts("2001:db8::/64");
  EXPECT_TRUE(s.v6);
  EXPECT_EQ(s.start, (std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8}));
  EXPECT_EQ(s.end, (std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                 0xff, 0xff, 0xff}));
  auto all = ts("::/0");
  EXPECT_TRUE(all.v6);
  EXPECT_EQ(all.end, (std::array<std::uint8_t, 16>{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                                   255, 255, 255}));
  auto r = ts("2001:db8::1-2001:db8::ff");
  EXPECT_EQ(r.start[15], 1);
  EXPECT_EQ(r.end[15], 0xff);
}

TEST(TsSelector, ParsesProtocolAndPortSuffix) {
  auto s = ts("10.1.0.0/24[tcp/80]");
  EXPECT_EQ(s.protocol, 6);
  EXPECT_EQ(s.start_port, 80);
  EXPECT_EQ(s.end_port, 80);
  s = ts("10.1.0.0/24[udp/500-600]");
  EXPECT_EQ(s.protocol, 17);
  EXPECT_EQ(s.start_port, 500);
  EXPECT_EQ(s.end_port, 600);
  s = ts("0.0.0.0/0[icmp]");
  EXPECT_EQ(s.protocol, 1);
  EXPECT_EQ(s.start_port, 0);
  EXPECT_EQ(s.end_port, 65535);
  s = ts("10.0.0.0/8[6/443]");
  EXPECT_EQ(s.protocol, 6);
  EXPECT_EQ(s.start_port, 443);
  s = ts("10.0.0.0/8[tcp/%any]");
  EXPECT_EQ(s.protocol, 6);
  EXPECT_EQ(s.end_port, 65535);
  EXPECT_EQ(ts("10.0.0.0/8[tcp]"), s);
  EXPECT_EQ(ts("::/0[ipv6-icmp]").protocol, 58);
  EXPECT_EQ(ts("::/0[icmpv6]").protocol, 58);
  EXPECT_EQ(ts("::/0[sctp]").protocol, 132);
  EXPECT_EQ(ts("::/0[gre]").protocol, 47);
  EXPECT_EQ(ts("::/0[%any/53]").protocol, 0);
  // ICMP type 8 (echo request), any code: type in the high octet (RFC 4301 §4.4.1.1).
  s = ts("10.0.0.0/8[icmp/8]");
  EXPECT_EQ(s.start_port, 0x0800);
  EXPECT_EQ(s.end_port, 0x08ff);
}

TEST(TsSelector, FormatsCanonically) {
  EXPECT_EQ(ts("10.1.0.0/24").to_string(), "10.1.0.0/24");
  EXPECT_EQ(ts("10.1.0.5").to_string(), "10.1.0.5/32");
  EXPECT_EQ(ts("10.1.0.1-10.1.0.99").to_string(), "10.1.0.1-10.1.0.99");
  EXPECT_EQ(ts("10.1.0.0-10.1.1.255").to_string(), "10.1.0.0/23");  // a range that is a prefix
  EXPECT_EQ(ts("2001:db8::/64").to_string(), "2001:db8::/64");
  EXPECT_EQ(ts("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(ts("::/0").to_string(), "::/0");
  EXPECT_EQ(ts("10.1.0.0/24[tcp/80]").to_string(), "10.1.0.0/24[tcp/80]");
  EXPECT_EQ(ts("10.1.0.0/24[udp/500-600]").to_string(), "10.1.0.0/24[udp/500-600]");
  EXPECT_EQ(ts("10.1.0.0/24[6/443]").to_string(), "10.1.0.0/24[tcp/443]");
  EXPECT_EQ(ts("10.1.0.0/24[tcp/%any]").to_string(), "10.1.0.0/24[tcp]");
  EXPECT_EQ(ts("10.1.0.0/24[%any/%any]").to_string(), "10.1.0.0/24");
  EXPECT_EQ(ts("10.1.0.0/24[icmp/8]").to_string(), "10.1.0.0/24[icmp/8]");
  EXPECT_EQ(ts("10.1.0.0/24[99]").to_string(), "10.1.0.0/24[99]");
  EXPECT_EQ(ts("2001:db8::1-2001:db8::ff[ipv6-icmp]").to_string(), "2001:db8::1-2001:db8::ff[ipv6-icmp]");
  EXPECT_EQ(to_string(list({"10.1.0.0/24", "10.1.1.0/24"})), "10.1.0.0/24 10.1.1.0/24");
}

TEST(TsSelector, RoundTripsEveryForm) {
  for (auto s : {"10.1.0.0/24", "10.1.0.5", "10.1.0.1-10.1.0.99", "2001:db8::/64", "0.0.0.0/0", "::/0",
                 "10.1.0.0/24[tcp/80]", "10.1.0.0/24[udp/500-600]", "0.0.0.0/0[icmp]", "10.0.0.0/8[6/443]",
                 "10.0.0.0/8[tcp/%any]", "10.0.0.0/8[tcp]", "::/0[ipv6-icmp/128]", "192.0.2.7[sctp/9]",
                 "fe80::1-fe80::2[gre]", "10.0.0.0/8[1/2049-2100]"}) {
    auto a = ts(s);
    auto b = ts(a.to_string());
    EXPECT_EQ(a, b) << s << " -> " << a.to_string();
    // And through the wire form.
    auto w = selector::from_wire(a.to_wire());
    ASSERT_TRUE(w.ok()) << s;
    EXPECT_EQ(*w, a) << s;
  }
}

TEST(TsSelector, ParseErrorsSayWhat) {
  EXPECT_NE(parse_error("10.1.0.0/33").find("prefix length"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.256").find("'10.1.0.256'"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.99-10.1.0.1").find("backwards"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.1-2001:db8::1").find("IPv4 and IPv6"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.0/24[foo]").find("'foo'"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.0/24[tcp/70000]").find("port"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.0/24[tcp/90-80]").find("backwards"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.0/24[tcp/80").find("'10.1.0.0/24[tcp/80'"), std::string::npos);
  EXPECT_NE(parse_error("10.1.0.0/24[icmp/8-9]").find("ICMP type"), std::string::npos);
  EXPECT_NE(parse_error("dynamic").find("host"), std::string::npos);
  EXPECT_NE(parse_error("[tcp/80]").find("no address"), std::string::npos);
  parse_error("");
  parse_error("::/129");
  parse_error("10.1.0.0/");
  parse_error("10.1.0.0/24[tcp/80]junk");
}

TEST(TsSelector, FromWireChecksRanges) {
  wire::traffic_selector t;
  t.start_addr = {10, 0, 0, 9};
  t.end_addr = {10, 0, 0, 1};
  auto r = selector::from_wire(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_syntax);
  EXPECT_NE(r.err().message.find("10.0.0.9"), std::string::npos) << r.err().message;

  t.end_addr = {10, 0, 0, 9};
  EXPECT_TRUE(selector::from_wire(t).ok());
  t.end_addr = {10, 0, 0};  // truncated
  EXPECT_FALSE(selector::from_wire(t).ok());
  t.end_addr = {10, 0, 0, 9};
  t.type = wire::ts_type::ipv6_addr_range;  // v6 type with v4-sized addresses
  EXPECT_FALSE(selector::from_wire(t).ok());
  t.type = static_cast<wire::ts_type>(9);
  EXPECT_EQ(selector::from_wire(t).err().code, errc::unsupported);
  t.type = wire::ts_type::ipv4_addr_range;
  t.start_port = 65535;
  t.end_port = 0;  // OPAQUE
  EXPECT_EQ(selector::from_wire(t).err().code, errc::unsupported);
  t.start_port = 80;
  t.end_port = 79;
  EXPECT_EQ(selector::from_wire(t).err().code, errc::invalid_syntax);
}

TEST(TsSelector, ToWire) {
  auto w = ts("2001:db8::/64[udp/4500]").to_wire();
  EXPECT_EQ(w.type, wire::ts_type::ipv6_addr_range);
  EXPECT_EQ(w.ip_protocol, 17);
  EXPECT_EQ(w.start_port, 4500);
  EXPECT_EQ(w.end_port, 4500);
  ASSERT_EQ(w.start_addr.size(), 16u);
  EXPECT_EQ(w.end_addr[15], 0xff);
  auto v4 = ts("192.0.2.0/24").to_wire();
  EXPECT_EQ(v4.type, wire::ts_type::ipv4_addr_range);
  EXPECT_EQ(v4.start_addr, (bytes{192, 0, 2, 0}));
  EXPECT_EQ(v4.end_addr, (bytes{192, 0, 2, 255}));
}

TEST(TsSelector, Contains) {
  EXPECT_TRUE(ts("10.0.0.0/8").contains(ts("10.1.0.0/24")));
  EXPECT_FALSE(ts("10.1.0.0/24").contains(ts("10.0.0.0/8")));
  EXPECT_TRUE(ts("10.0.0.0/8").contains(ts("10.1.0.0/24[tcp/80]")));
  EXPECT_FALSE(ts("10.0.0.0/8[tcp]").contains(ts("10.1.0.0/24")));
  EXPECT_FALSE(ts("10.0.0.0/8[tcp]").contains(ts("10.1.0.0/24[udp]")));
  EXPECT_TRUE(ts("10.0.0.0/8[tcp/1-1024]").contains(ts("10.1.0.0/24[tcp/80]")));
  EXPECT_FALSE(ts("10.0.0.0/8[tcp/1-1024]").contains(ts("10.1.0.0/24[tcp/8080]")));
  EXPECT_FALSE(ts("0.0.0.0/0").contains(ts("::/0")));
  EXPECT_TRUE(ts("::/0").contains(ts("2001:db8::/64")));
  EXPECT_TRUE(ts("10.1.0.5").contains(ts("10.1.0.5")));
}

TEST(TsSelector, Intersect) {
  auto i = ts("10.0.0.0/8").intersect(ts("10.1.0.0/24[tcp/80]"));
  ASSERT_TRUE(i);
  EXPECT_EQ(*i, ts("10.1.0.0/24[tcp/80]"));
  i = ts("10.1.0.0-10.1.0.99").intersect(ts("10.1.0.50-10.1.0.200"));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->to_string(), "10.1.0.50-10.1.0.99");
  i = ts("10.1.0.0/24[tcp/1000-2000]").intersect(ts("10.0.0.0/8[tcp/1500-3000]"));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->to_string(), "10.1.0.0/24[tcp/1500-2000]");
  EXPECT_FALSE(ts("10.1.0.0/24").intersect(ts("10.2.0.0/24")));
  EXPECT_FALSE(ts("10.1.0.0/24[tcp]").intersect(ts("10.1.0.0/24[udp]")));
  EXPECT_FALSE(ts("10.1.0.0/24[tcp/80]").intersect(ts("10.1.0.0/24[tcp/443]")));
  EXPECT_FALSE(ts("0.0.0.0/0").intersect(ts("::/0")));
  i = ts("2001:db8::/32").intersect(ts("2001:db8:1::/48[udp]"));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->to_string(), "2001:db8:1::/48[udp]");
}

// RFC 7296 §2.9: the initiator may put the packet that triggered the SA first in TSi/TSr, then
// the range it wants (here 198.51.100.43 / TCP source port 31337, then 198.51.100.0/24).
TEST(TsNarrow, Rfc7296WholeRangeAllowedAbsorbsTrigger) {
  const auto proposed = list({"198.51.100.43[tcp/31337]", "198.51.100.0/24"});
  auto r = narrow(proposed, list({"198.51.100.0/24"}));
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(to_string(*r), "198.51.100.0/24");
  r = narrow(proposed, list({"198.51.0.0/16"}));  // a wider policy returns what was asked
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "198.51.100.0/24");
}

TEST(TsNarrow, Rfc7296NarrowsToSubsetIncludingFirstChoice) {
  const auto proposed = list({"198.51.100.43[tcp/31337]", "198.51.100.0/24"});
  // Policy allows only the one host, all ports and protocols: answer is that host, not the packet.
  auto r = narrow(proposed, list({"198.51.100.43"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "198.51.100.43/32");
  // Policy allows half the range: the half holding the triggering packet comes back.
  r = narrow(proposed, list({"198.51.100.0/26"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "198.51.100.0/26");
  EXPECT_TRUE(r->front().contains(proposed.front()));
  // Policy allows only TCP: the answer is narrowed in protocol too.
  r = narrow(proposed, list({"198.51.100.0/24[tcp]"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "198.51.100.0/24[tcp]");
}

TEST(TsNarrow, TwoLocalSubnetsStayTwo) {
  auto r = narrow(list({"10.1.0.0/16"}), list({"10.1.0.0/24", "10.1.1.0/24"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24 10.1.1.0/24");
  // Configured order, not proposed order.
  r = narrow(list({"10.1.1.0/24", "10.1.0.0/24"}), list({"10.1.0.0/24", "10.1.1.0/24"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24 10.1.1.0/24");
  // With the triggering packet first, still two selectors.
  r = narrow(list({"10.1.1.7[udp/53]", "10.1.0.0/16"}), list({"10.1.0.0/24", "10.1.1.0/24"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24 10.1.1.0/24");
}

TEST(TsNarrow, ProtocolAndPortNarrowing) {
  auto r = narrow(list({"0.0.0.0/0"}), list({"10.1.0.0/24[tcp/80]", "10.1.0.0/24[udp/53]"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24[tcp/80] 10.1.0.0/24[udp/53]");
  r = narrow(list({"10.1.0.0/24[tcp/1000-2000]"}), list({"10.0.0.0/8[tcp/1500-3000]"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24[tcp/1500-2000]");
  EXPECT_FALSE(narrow(list({"10.1.0.0/24[tcp]"}), list({"10.1.0.0/24[udp]"})).ok());
}

TEST(TsNarrow, MixedFamilies) {
  auto r = narrow(list({"0.0.0.0/0", "::/0"}), list({"2001:db8::/64", "10.1.0.0/24"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "2001:db8::/64 10.1.0.0/24");
  EXPECT_FALSE(narrow(list({"::/0"}), list({"10.1.0.0/24"})).ok());
}

TEST(TsNarrow, DuplicatesCollapse) {
  auto r = narrow(list({"10.1.0.0/24", "10.1.0.0/24"}), list({"10.0.0.0/8", "10.1.0.0/16"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_string(*r), "10.1.0.0/24");
}

TEST(TsNarrow, EmptyIntersectionNamesBothSets) {
  auto r = narrow(list({"10.2.0.0/16"}), list({"10.1.0.0/24", "10.1.1.0/24"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::ts_unacceptable);
  EXPECT_NE(r.err().message.find("10.2.0.0/16"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("10.1.0.0/24 10.1.1.0/24"), std::string::npos) << r.err().message;
  EXPECT_FALSE(narrow({}, list({"10.1.0.0/24"})).ok());
}

TEST(TsSubset, InitiatorChecksAnswer) {
  const auto proposed = list({"10.1.0.0/16", "2001:db8::/48"});
  EXPECT_TRUE(is_subset(list({"10.1.0.0/24"}), proposed));
  EXPECT_TRUE(is_subset(list({"10.1.0.0/24", "2001:db8:0:1::/64[tcp/22]"}), proposed));
  EXPECT_TRUE(is_subset(proposed, proposed));
  EXPECT_FALSE(is_subset(list({"10.0.0.0/8"}), proposed));
  EXPECT_FALSE(is_subset(list({"10.1.0.0/24", "10.2.0.0/24"}), proposed));
  EXPECT_FALSE(is_subset({}, proposed));
  EXPECT_FALSE(is_subset(list({"10.1.0.0/24"}), list({"10.1.0.0/16[tcp]"})));
}

TEST(TsHost, DynamicIsOwnAddress) {
  const std::uint8_t v4[] = {192, 0, 2, 1};
  auto h = host(v4);
  EXPECT_EQ(h, ts("192.0.2.1"));
  EXPECT_EQ(h.to_string(), "192.0.2.1/32");
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  EXPECT_EQ(host(v6), ts("2001:db8::1"));
  EXPECT_EQ(host(v6).to_string(), "2001:db8::1/128");
  const std::uint8_t odd[] = {10, 0};
  EXPECT_FALSE(host(odd).v6);  // never reads past the span
}

}  // namespace
}  // namespace aike::ts
