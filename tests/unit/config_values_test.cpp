// Value syntaxes of the config file: durations, secrets (swanctl's 0s/0x/plain forms), key hints.
#include <gtest/gtest.h>

#include <chrono>

#include "config/config.hpp"
#include "config/key_suggestion.hpp"

namespace aike::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

milliseconds must_duration(std::string_view s) {
  auto d = parse_duration(s);
  EXPECT_TRUE(d.ok()) << s << ": " << (d.ok() ? "" : d.err().message);
  return d.ok() ? *d : milliseconds(-1);
}

TEST(ConfigDuration, Units) {
  EXPECT_EQ(must_duration("500ms"), 500ms);
  EXPECT_EQ(must_duration("4s"), 4s);
  EXPECT_EQ(must_duration("30m"), 30min);
  EXPECT_EQ(must_duration("1h"), 1h);
  EXPECT_EQ(must_duration("2d"), 48h);
  EXPECT_EQ(must_duration("90"), 90s);  // a plain number is seconds
  EXPECT_EQ(must_duration("0"), 0ms);
  EXPECT_EQ(must_duration(" 10 s "), 10s);
  EXPECT_EQ(must_duration("+5m"), 5min);
}

TEST(ConfigDuration, Errors) {
  for (const char* bad : {"", " ", "s", "4x", "4 hours", "1.5h", "-3s", "h4", "4s5", "99999999999999999999",
                          "9999999999999999d"}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' parsed as " << (d.ok() ? d->count() : 0) << "ms";
    if (!d.ok()) {
      EXPECT_NE(d.err().message.find("invalid duration"), std::string::npos) << d.err().message;
    }
  }
  EXPECT_EQ(parse_duration("1.5h").err().message,
            "invalid duration '1.5h': fractions are not supported, use a smaller unit (a whole number with ms, s, m, h "
            "or d, e.g. '30s'; a plain number means seconds)");
}

TEST(ConfigDuration, Format) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(4h), "4h");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(2 * 24h), "2d");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(45s), "45s");
  for (auto d : {0ms, 1ms, 999ms, 1000ms, 61000ms, milliseconds(3600000 * 25)})
    EXPECT_EQ(must_duration(format_duration(d)), d) << format_duration(d);
}

TEST(ConfigDuration, IntegersInTomlAreSeconds) {
  credential_cache creds;
  auto r = load_string("[daemon.retransmit]\ntimeout = 7\n[daemon.updown]\ntimeout = \"250ms\"\n", "d.toml", creds);
  ASSERT_TRUE(r.cfg);
  EXPECT_EQ(r.cfg->daemon.retransmit.timeout, 7s);
  EXPECT_EQ(r.cfg->daemon.updown_timeout, 250ms);
}

TEST(ConfigSecret, ThreeFormatsSameBytes) {
  // "Sun and Moon!" written three ways.
  const bytes want = to_bytes("Sun and Moon!");
  auto plain = decode_secret("Sun and Moon!");
  auto hex = decode_secret("0x53756e20616e64204d6f6f6e21");
  auto b64 = decode_secret("0sU3VuIGFuZCBNb29uIQ==");
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(hex.ok()) << hex.err().message;
  ASSERT_TRUE(b64.ok()) << b64.err().message;
  EXPECT_EQ(*plain, want);
  EXPECT_EQ(*hex, want);
  EXPECT_EQ(*b64, want);
  // Upper-case prefixes, separators in hex and line breaks in base64, as swanctl allows.
  EXPECT_EQ(decode_secret("0X53:75:6e:20:61:6e:64:20:4d:6f:6f:6e:21").value(), want);
  EXPECT_EQ(decode_secret("0SU3VuIGFu\nZCBNb29uIQ==").value(), want);
}

TEST(ConfigSecret, ThreeFormatsSameBytesThroughTheLoader) {
  credential_cache creds;
  auto r = load_string(R"(
[secrets.a]
ids = ["a.example"]
secret = "Sun and Moon!"
[secrets.b]
ids = ["b.example"]
secret = "0x53756e20616e64204d6f6f6e21"
[secrets.c]
ids = ["c.example"]
secret = "0sU3VuIGFuZCBNb29uIQ=="
[connections.a]
local_addrs = ["10.0.0.1"]
[connections.a.local]
auth = "psk"
id = "a.example"
[connections.a.remote]
auth = "psk"
id = "peer.example"
[connections.b]
local_addrs = ["10.0.0.1"]
[connections.b.local]
auth = "psk"
id = "b.example"
[connections.b.remote]
auth = "psk"
id = "peer.example"
[connections.c]
local_addrs = ["10.0.0.1"]
[connections.c.local]
auth = "psk"
id = "c.example"
[connections.c.remote]
auth = "psk"
id = "peer.example"
)",
                       "s.toml", creds);
  ASSERT_TRUE(r.cfg) << (r.problems.empty() ? "" : r.problems[0].to_string());
  EXPECT_EQ(r.cfg->secrets, 3u);
  const auto peer = auth::identity::parse("peer.example").value();
  for (const char* name : {"a", "b", "c"}) {
    const connection* c = r.cfg->find(name);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->ike->secrets.size(), 1u) << name;  // only the secret for its own id
    EXPECT_EQ(c->ike->find_psk(c->ike->local.id, peer), to_bytes("Sun and Moon!")) << name;
  }
}

TEST(ConfigSecret, Base64Padding) {
  EXPECT_EQ(decode_secret("0sYQ==").value(), to_bytes("a"));
  EXPECT_EQ(decode_secret("0sYWI=").value(), to_bytes("ab"));
  EXPECT_EQ(decode_secret("0sYWJj").value(), to_bytes("abc"));
  // Binary content with zero bytes at the end survives (the padding strip counts '=', not zeros).
  EXPECT_EQ(decode_secret("0sAAA=").value(), (bytes{0, 0}));
  EXPECT_EQ(decode_secret("0sAAAA").value(), (bytes{0, 0, 0}));
  for (const char* bad : {"0s", "0sYQ", "0sYQ=", "0sY===", "0sYQ==YQ==", "0s=YQ=", "0sYQ*=", "0s===="}) {
    auto r = decode_secret(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.err().message.rfind("secret: bad base64 after '0s'", 0), 0u) << r.err().message;
    }
  }
}

TEST(ConfigSecret, HexAndPlainErrors) {
  EXPECT_FALSE(decode_secret("0x").ok());
  EXPECT_FALSE(decode_secret("0xabc").ok());
  EXPECT_FALSE(decode_secret("0xzz").ok());
  EXPECT_FALSE(decode_secret("").ok());
  EXPECT_EQ(decode_secret("0xABcd").value(), (bytes{0xab, 0xcd}));
  EXPECT_EQ(decode_secret("0").value(), to_bytes("0"));  // too short for a prefix: plain text
  EXPECT_EQ(decode_secret("0y12").value(), to_bytes("0y12"));
}

TEST(ConfigKeySuggestion, CloseKeysOnly) {
  const std::vector<std::string> keys = {"local_addrs", "remote_addrs", "proposals", "rekey_time", "dpd_delay",
                                         "local", "remote"};
  EXPECT_EQ(closest_key("remote_adrs", keys), "remote_addrs");
  EXPECT_EQ(closest_key("remote-addrs", keys), "remote_addrs");  // '-' for '_'
  EXPECT_EQ(closest_key("Proposals", keys), "proposals");
  EXPECT_EQ(closest_key("proposal", keys), "proposals");
  EXPECT_EQ(closest_key("rekey_tiem", keys), "rekey_time");  // transposition
  EXPECT_EQ(closest_key("locl", keys), "local");
  EXPECT_EQ(closest_key("esp_proposals", keys), std::nullopt);
  EXPECT_EQ(closest_key("xyz", keys), std::nullopt);
  EXPECT_EQ(closest_key("", keys), std::nullopt);
  EXPECT_EQ(closest_key("remote_addrs", {}), std::nullopt);
}

}  // namespace
}  // namespace aike::config
