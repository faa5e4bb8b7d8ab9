// CHILD_SA byte and packet limits in the config file (rekey_bytes, life_bytes, rand_bytes and the
// same in packets): byte counts with units, strongSwan's defaults, and the problems reported.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/volume_value.hpp"
#include "tests/unit/child_keys_fixture.hpp"

namespace aike::config {
namespace {

load_result load(const std::string& child_keys) { return test::load_child_keys(child_keys); }

std::string all(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

const child_policy& policy(const load_result& r) { return r.cfg->connections.at(0).children.at(0); }
const sa::child_config& engine(const load_result& r) { return r.cfg->connections.at(0).ike->children.at(0); }

void expect_one(const load_result& r, int line, const std::string& key, const std::string& text) {
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].line, line) << r.problems[0].to_string();
  EXPECT_EQ(r.problems[0].key, key) << r.problems[0].to_string();
  EXPECT_NE(r.problems[0].message.find(text), std::string::npos) << r.problems[0].message << "\nwanted: " << text;
}

TEST(ConfigByteCount, Units) {
  EXPECT_EQ(parse_byte_count("0").value(), 0u);
  EXPECT_EQ(parse_byte_count("1048576").value(), 1048576u);
  EXPECT_EQ(parse_byte_count("64K").value(), 65536u);
  EXPECT_EQ(parse_byte_count("64k").value(), 65536u);
  EXPECT_EQ(parse_byte_count("500M").value(), 500ull << 20);
  EXPECT_EQ(parse_byte_count("1G").value(), 1ull << 30);
  EXPECT_EQ(parse_byte_count("2t").value(), 2ull << 40);
  EXPECT_EQ(parse_byte_count("18446744073709551615").value(), ~0ull);
}

TEST(ConfigByteCount, Errors) {
  for (const char* bad : {"", "M", "1.5G", "-1", "10 M", "10MB", "abc", "18446744073709551616", "17179869184G"}) {
    auto r = parse_byte_count(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.err().message.find("is not a byte count"), std::string::npos) << r.err().message;
    EXPECT_NE(r.err().message.find(std::string("'") + bad + "'"), std::string::npos) << r.err().message;
  }
}

TEST(ConfigVolumeLifetime, NoneByDefault) {
  auto r = load("");
  ASSERT_TRUE(r.cfg) << all(r);
  EXPECT_EQ(policy(r).bytes, sa::volume_lifetime{});
  EXPECT_EQ(policy(r).packets, sa::volume_lifetime{});
  EXPECT_EQ(engine(r).bytes, sa::volume_lifetime{});
  EXPECT_EQ(engine(r).packets, sa::volume_lifetime{});
}

TEST(ConfigVolumeLifetime, RekeyOnlyGetsLifePlusTenPercentAndJitter) {
  auto r = load("rekey_bytes = \"500M\"\nrekey_packets = 200\n");
  ASSERT_TRUE(r.cfg) << all(r);
  const std::uint64_t mb500 = 500ull << 20;
  EXPECT_EQ(engine(r).bytes.rekey, mb500);
  EXPECT_EQ(engine(r).bytes.life, mb500 + mb500 / 10);
  EXPECT_EQ(engine(r).bytes.rand, mb500 / 10);  // life - rekey
  EXPECT_EQ(engine(r).packets.rekey, 200u);
  EXPECT_EQ(engine(r).packets.life, 220u);
  EXPECT_EQ(engine(r).packets.rand, 20u);
  EXPECT_EQ(policy(r).packets, engine(r).packets);
  EXPECT_EQ(policy(r).bytes, engine(r).bytes);
}

TEST(ConfigVolumeLifetime, LifeOnlyGetsRekeyTenPercentLess) {
  auto r = load("life_packets = 1000\nlife_bytes = 1000000\n");
  ASSERT_TRUE(r.cfg) << all(r);
  EXPECT_EQ(engine(r).packets.rekey, 900u);
  EXPECT_EQ(engine(r).packets.life, 1000u);
  EXPECT_EQ(engine(r).packets.rand, 100u);
  EXPECT_EQ(engine(r).bytes.rekey, 900000u);
  EXPECT_EQ(engine(r).bytes.life, 1000000u);
}

TEST(ConfigVolumeLifetime, ExplicitValuesAndJitterCap) {
  auto r = load("rekey_packets = 100\nlife_packets = 1000\nrekey_bytes = \"1G\"\nlife_bytes = \"2G\"\nrand_bytes = \"1M\"\n");
  ASSERT_TRUE(r.cfg) << all(r);
  EXPECT_EQ(engine(r).packets.rekey, 100u);
  EXPECT_EQ(engine(r).packets.life, 1000u);
  EXPECT_EQ(engine(r).packets.rand, 50u);  // life - rekey would be 900: capped at half of rekey
  EXPECT_EQ(engine(r).bytes.rand, 1ull << 20);
  // life = 0 turns the hard limit off; no jitter without rekey.
  auto r2 = load("rekey_packets = 100\nlife_packets = 0\nrand_packets = 0\n");
  ASSERT_TRUE(r2.cfg) << all(r2);
  EXPECT_EQ(engine(r2).packets, (sa::volume_lifetime{100, 0, 0}));
}

TEST(ConfigVolumeLifetime, LifeMustExceedRekey) {
  expect_one(load("rekey_packets = 200\nlife_packets = 200\n"), 13, "connections.c.children.net.life_packets",
             "200 packets must be more than rekey_packets (200)");
  expect_one(load("rekey_bytes = \"1G\"\nlife_bytes = \"500M\"\n"), 13, "connections.c.children.net.life_bytes",
             "524288000 bytes must be more than rekey_bytes (1073741824)");
}

TEST(ConfigVolumeLifetime, RandMustBeBelowRekey) {
  expect_one(load("rekey_packets = 200\nrand_packets = 200\n"), 13, "connections.c.children.net.rand_packets",
             "200 packets must be less than rekey_packets (200)");
}

TEST(ConfigVolumeLifetime, BadValuesNameTheKey) {
  expect_one(load("rekey_bytes = \"lots\"\n"), 12, "connections.c.children.net.rekey_bytes",
             "'lots' is not a byte count");
  expect_one(load("life_bytes = -5\n"), 12, "connections.c.children.net.life_bytes", "-5 is not a byte count");
  expect_one(load("rekey_bytes = true\n"), 12, "connections.c.children.net.rekey_bytes",
             "expected a byte count such as \"500M\" or an integer");
  expect_one(load("rekey_packets = \"10K\"\n"), 12, "connections.c.children.net.rekey_packets",
             "expected an integer, got '10K'");
  expect_one(load("rand_packets = -1\n"), 12, "connections.c.children.net.rand_packets", "out of range");
  // A typo gets the usual hint rather than "not supported".
  auto r = load("rekey_packet = 5\n");
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_NE(r.problems[0].message.find("rekey_packets"), std::string::npos) << r.problems[0].message;
}

TEST(ConfigVolumeLifetime, ChangeIsSeenByReload) {
  auto a = load("rekey_packets = 200\n");
  auto b = load("rekey_packets = 300\n");
  ASSERT_TRUE(a.cfg && b.cfg);
  EXPECT_NE(policy(a).packets, policy(b).packets);
}

}  // namespace
}  // namespace aike::config
