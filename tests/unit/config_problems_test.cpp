// Every class of configuration problem is reported with the file, line, column and key where
// it was written, and a config with any problem is never returned.
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace aike::config {
namespace {

const std::string kDir = AIKE_TEST_DATA_DIR "/config";
const std::string kFile = kDir + "/inline.toml";  // relative paths resolve in tests/data/config

// A PSK connection that is valid as it is; tests append the key under test.
const std::string kValidPsk = R"([secrets.s]
ids = ["moon.example"]
secret = "x"
[connections.c]
remote_addrs = ["10.0.0.2"]
[connections.c.local]
auth = "psk"
id = "moon.example"
[connections.c.remote]
auth = "psk"
[connections.c.children.net]
)";

std::string all(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

load_result load(const std::string& text) {
  credential_cache creds;
  return load_string(text, kFile, creds);
}

// Exactly one problem, at line:column, for `key`, whose message contains `text`.
void expect_one(const load_result& r, int line, int column, const std::string& key, const std::string& text) {
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  const problem& p = r.problems[0];
  EXPECT_EQ(p.file, kFile);
  EXPECT_EQ(p.line, line) << p.to_string();
  EXPECT_EQ(p.column, column) << p.to_string();
  EXPECT_EQ(p.key, key) << p.to_string();
  EXPECT_NE(p.message.find(text), std::string::npos) << "message: " << p.message << "\nwanted: " << text;
}

TEST(ConfigProblems, ValidBaseLoads) {
  auto r = load(kValidPsk);
  ASSERT_TRUE(r.cfg) << all(r);
}

TEST(ConfigProblems, ToStringFormat) {
  problem p{"aiked.toml", 12, 5, "connections.site.proposals", "unknown algorithm 'aes257' in 'aes257-sha256'"};
  EXPECT_EQ(p.to_string(), "aiked.toml:12:5: connections.site.proposals: unknown algorithm 'aes257' in 'aes257-sha256'");
  EXPECT_EQ(p.to_warning_string(),
            "aiked.toml:12:5: warning: connections.site.proposals: unknown algorithm 'aes257' in 'aes257-sha256'");
  problem whole{"aiked.toml", 0, 0, "", "cannot read 'aiked.toml': No such file or directory"};
  EXPECT_EQ(whole.to_string(), "aiked.toml: cannot read 'aiked.toml': No such file or directory");
}

TEST(ConfigProblems, TomlSyntaxError) {
  auto r = load("[daemon]\nworkers = 3\nlisten = [\"::\",\n[kernel]\n");
  expect_one(r, 4, 2, "", "");  // where toml++ noticed it
  EXPECT_FALSE(r.problems[0].message.empty());
}

TEST(ConfigProblems, DuplicateKeyIsASyntaxError) {
  auto r = load("[daemon]\nworkers = 3\nworkers = 4\n");
  expect_one(r, 3, 11, "", "workers");
}

TEST(ConfigProblems, UnknownKeyWithHint) {
  auto r = load(kValidPsk + "[connections.d]\nremote_adrs = [\"10.0.0.3\"]\n");
  // Both the typo and the missing private_key of connection d (default auth pubkey, no local table).
  ASSERT_GE(r.problems.size(), 1u);
  bool found = false;
  for (const auto& p : r.problems)
    if (p.key == "connections.d.remote_adrs") {
      found = true;
      EXPECT_EQ(p.line, 13);
      EXPECT_EQ(p.column, 1);
      EXPECT_EQ(p.message, "unknown key 'remote_adrs' (did you mean 'remote_addrs'?)");
    }
  EXPECT_TRUE(found) << all(r);
}

TEST(ConfigProblems, UnknownKeysEverywhere) {
  auto r = load("[daemon]\nworker = 2\n[daemon.retransmit]\ntimout = \"2s\"\n[frobnicate]\nx = 1\n");
  ASSERT_EQ(r.problems.size(), 3u) << all(r);
  EXPECT_EQ(r.problems[0].key, "daemon.worker");
  EXPECT_EQ(r.problems[0].message, "unknown key 'worker' (did you mean 'workers'?)");
  EXPECT_EQ(r.problems[0].line, 2);
  EXPECT_EQ(r.problems[1].key, "daemon.retransmit.timout");
  EXPECT_EQ(r.problems[1].message, "unknown key 'timout' (did you mean 'timeout'?)");
  EXPECT_EQ(r.problems[1].line, 4);
  EXPECT_EQ(r.problems[2].key, "frobnicate");
  EXPECT_EQ(r.problems[2].message, "unknown key 'frobnicate'");  // nothing close: no hint
  EXPECT_EQ(r.problems[2].line, 5);
  EXPECT_EQ(r.problems[2].column, 2);
}

TEST(ConfigProblems, UnsupportedSwanctlOption) {
  auto r = load(kValidPsk + "pools = [\"p\"]\n");  // lands in [connections.c.children.net]
  expect_one(r, 12, 1, "connections.c.children.net.pools", "unknown key 'pools'");
  r = load(kValidPsk + "[connections.c.remote-2]\nauth = \"psk\"\n");
  expect_one(r, 12, 16, "connections.c.remote-2", "more than one authentication round");
  auto r2 = load(R"([connections.c]
pools = "p"
)");
  bool found = false;
  for (const auto& p : r2.problems)
    if (p.key == "connections.c.pools") {
      found = true;
      EXPECT_EQ(p.message, "the swanctl option 'pools' is not supported by aiked");
      EXPECT_EQ(p.line, 2);
    }
  EXPECT_TRUE(found) << all(r2);
}

TEST(ConfigProblems, WrongTypes) {
  expect_one(load("[daemon]\nike_port = \"abc\"\n"), 2, 12, "daemon.ike_port", "expected an integer, got 'abc'");
  expect_one(load("[daemon]\nworkers = true\n"), 2, 11, "daemon.workers", "expected an integer, got a boolean");
  expect_one(load("[daemon]\nkernel = 1\n"), 2, 10, "daemon.kernel", "expected a string, got an integer");
  expect_one(load("[daemon]\ndelete_on_stop = \"maybe\"\n"), 2, 18, "daemon.delete_on_stop",
             "expected true or false (or \"yes\"/\"no\"), got 'maybe'");
  expect_one(load("daemon = 3\n"), 1, 10, "daemon", "expected a table, got an integer");
  expect_one(load("[daemon]\nlisten = [\"::\", 4]\n"), 2, 17, "daemon.listen",
             "expected a list of strings, found an integer in it");
  expect_one(load("[daemon.retransmit]\nbase = \"x\"\n"), 2, 8, "daemon.retransmit.base",
             "expected a number, got a string");
}

TEST(ConfigProblems, OutOfRangeAndBadChoices) {
  expect_one(load("[daemon]\nnatt_port = 70000\n"), 2, 13, "daemon.natt_port", "70000 is out of range (0..65535)");
  expect_one(load("[daemon]\nkernel = \"netlink\"\n"), 2, 10, "daemon.kernel",
             "unknown value 'netlink' (expected one of: auto, xfrm, userspace, null)");
  expect_one(load("[daemon]\nike_port = 4500\n"), 2, 12, "daemon.ike_port",
             "natt_port must differ from ike_port (4500)");
  expect_one(load("[daemon.retransmit]\nbase = 0.5\n"), 2, 8, "daemon.retransmit.base", "0.5 is out of range (1..10)");
  expect_one(load("[daemon]\nlog = { default = \"verbose\" }\n"), 2, 19, "daemon.log.default",
             "unknown value 'verbose'");
  expect_one(load("[daemon]\nlog = { ike = \"debug\", kernel = \"info\" }\n"), 2, 24, "daemon.log.kernel",
             "unknown key 'kernel'");
}

TEST(ConfigProblems, BadDurations) {
  expect_one(load(kValidPsk + "rekey_time = \"4x\"\n"), 12, 14, "connections.c.children.net.rekey_time",
             "invalid duration '4x': unknown unit 'x'");
  expect_one(load("[daemon.retransmit]\ntimeout = \"1.5s\"\n"), 2, 11, "daemon.retransmit.timeout",
             "fractions are not supported");
  expect_one(load("[daemon.retransmit]\ntimeout = -3\n"), 2, 11, "daemon.retransmit.timeout", "out of range");
  expect_one(load("[daemon.retransmit]\ntimeout = \"0s\"\n"), 2, 11, "daemon.retransmit.timeout",
             "must be greater than 0");
}

TEST(ConfigProblems, BadAddresses) {
  expect_one(load("[daemon]\nlisten = [\"0.0.0.0\", \"10.0.0.300\"]\n"), 2, 22, "daemon.listen",
             "'10.0.0.300' is not an IP address");
  std::string base = kValidPsk;
  auto at = base.find("remote_addrs = [\"10.0.0.2\"]");
  auto with = [&](const std::string& addrs) {
    std::string t = base;
    t.replace(at, std::string("remote_addrs = [\"10.0.0.2\"]").size(), "remote_addrs = " + addrs);
    return load(t);
  };
  expect_one(with("[\"moon.example\"]"), 5, 17, "connections.c.remote_addrs",
             "'moon.example' is not an IP address (host names are not supported yet)");
  expect_one(with("[\"10.0.0.0/24\"]"), 5, 17, "connections.c.remote_addrs", "subnets and ranges are not supported");
  expect_one(with("[\"%any\", \"10.0.0.2\"]"), 5, 16, "connections.c.remote_addrs", "'%any' cannot be combined");
  expect_one(load("[daemon]\ncontrol = \"localhost:4510\"\n"), 2, 11, "daemon.control",
             "'localhost' is not an IP address (host names are not supported)");
  expect_one(load("[daemon]\ncontrol = \"127.0.0.1:0\"\n"), 2, 11, "daemon.control", "the port must be 1..65535");
  expect_one(load("[daemon]\ncontrol = \"10.0.0.1:4510\"\n"), 2, 11, "daemon.control",
             "is not loopback: set control_cert, control_key and control_ca");
}

TEST(ConfigProblems, ControlTls) {
  // Off loopback with a matching certificate and key: fine.
  auto r = load("[daemon]\ncontrol = \"0.0.0.0:4510\"\ncontrol_cert = \"moon.pem\"\ncontrol_key = \"moon_cert.key\"\n"
                "control_ca = \"ca.pem\"\n");
  ASSERT_TRUE(r.cfg) << all(r);
  EXPECT_EQ(r.cfg->daemon.control_host, "0.0.0.0");
  EXPECT_EQ(r.cfg->daemon.control_cert, kDir + "/moon.pem");
  EXPECT_EQ(r.cfg->daemon.control_key, kDir + "/moon_cert.key");
  EXPECT_EQ(r.cfg->daemon.control_ca, kDir + "/ca.pem");
  expect_one(load("[daemon]\ncontrol = \"0.0.0.0:4510\"\ncontrol_cert = \"moon.pem\"\ncontrol_key = \"moon_raw.key\"\n"
                  "control_ca = \"ca.pem\"\n"),
             4, 15, "daemon.control_key", "is not the key of control_cert");
  // A server certificate without a CA would let any client in (anonymous TLS).
  expect_one(load("[daemon]\ncontrol = \"0.0.0.0:4510\"\ncontrol_cert = \"moon.pem\"\ncontrol_key = \"moon_cert.key\"\n"), 3,
             16, "daemon.control_cert", "control_cert needs control_ca");
  expect_one(load("[daemon]\ncontrol_cert = \"moon.pem\"\n"), 2, 16, "daemon.control_cert",
             "control_cert and control_key go together");
  expect_one(load("[daemon]\ncontrol_ca = \"nope.pem\"\n"), 2, 14, "daemon.control_ca",
             "cannot read '" + kDir + "/nope.pem': No such file or directory");
}

TEST(ConfigProblems, BadProposalsPointAtTheString) {
  std::string t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "proposals = [\"aes256-sha256-x25519\",\n  \"aes257-sha256-x25519\"]\n");
  auto r = load(t);
  expect_one(r, 7, 3, "connections.c.proposals", "unknown algorithm 'aes257'");
  EXPECT_EQ(r.problems[0].to_string(), kFile +
                                           ":7:3: connections.c.proposals: unknown algorithm 'aes257' in proposal "
                                           "'aes257-sha256-x25519'");
  expect_one(load(kValidPsk + "esp_proposals = [\"aes128gcm16-sha256\"]\n"), 12, 18,
             "connections.c.children.net.esp_proposals", "AEAD cipher 'aes128gcm16' combined with integrity");
  expect_one(load(kValidPsk + "esp_proposals = []\n"), 12, 17, "connections.c.children.net.esp_proposals",
             "empty list");
}

TEST(ConfigProblems, BadSelectors) {
  auto r = load(kValidPsk + "local_ts = [\"10.1.0.0/24\", \"10.1.0.0/33\"]\n");
  expect_one(r, 12, 28, "connections.c.children.net.local_ts", "10.1.0.0/33");
  expect_one(load(kValidPsk + "remote_ts = [\"dynamic\", \"10.2.0.0/24\"]\n"), 12, 13,
             "connections.c.children.net.remote_ts", "'dynamic' (our address) cannot be combined");
}

TEST(ConfigProblems, BadSecrets) {
  auto with_secret = [](const std::string& s) {
    std::string t = kValidPsk;
    t.replace(t.find("secret = \"x\""), 12, "secret = \"" + s + "\"");
    return load(t);
  };
  auto r = with_secret("0sc2VjcmV0IGtleQ");  // 14 characters: the "==" padding is missing
  // Only the secret is blamed, not also the connection that would have used it.
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].line, 3);
  EXPECT_EQ(r.problems[0].column, 10);
  EXPECT_EQ(r.problems[0].key, "secrets.s.secret");
  EXPECT_NE(r.problems[0].message.find("not a multiple of 4"), std::string::npos) << r.problems[0].message;

  r = with_secret("0xabc");
  ASSERT_GE(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, "secrets.s.secret");
  EXPECT_NE(r.problems[0].message.find("bad hex"), std::string::npos);
  r = with_secret("");
  ASSERT_GE(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].message, "secret: empty");
  // The secret itself never appears in a message.
  r = with_secret("0sc2Vj*mV0IGtleQ==");
  ASSERT_GE(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].message.find("c2Vj"), std::string::npos) << r.problems[0].message;

  expect_one(load("[secrets.s]\nids = [\"moon.example\"]\n"), 1, 1, "secrets.s.secret", "missing");
}

TEST(ConfigProblems, PskWithoutMatchingSecret) {
  std::string t = kValidPsk;
  t.replace(t.find("ids = [\"moon.example\"]"), 22, "ids = [\"venus.example\"]");
  t.insert(t.find("[connections.c.children.net]"), "id = \"sun.example\"\n");
  auto r = load(t);
  expect_one(r, 7, 8, "connections.c.local.auth", "no entry of [secrets] is for 'moon.example' or 'sun.example'");
  // A secret for either id is enough (the peer's, here).
  t.replace(t.find("ids = [\"venus.example\"]"), 23, "ids = [\"sun.example\"]");
  r = load(t);
  ASSERT_TRUE(r.cfg) << all(r);
  // With a %any remote every secret may be the one for the peer that turns up.
  r = load(kValidPsk);
  ASSERT_TRUE(r.cfg) << all(r);
  EXPECT_EQ(r.cfg->connections.at(0).ike->secrets.size(), 1u);
}

TEST(ConfigProblems, PubkeyWithoutPrivateKey) {
  auto r = load(R"([connections.c]
remote_addrs = ["10.0.0.2"]
[connections.c.local]
auth = "pubkey"
id = "moon.example"
[connections.c.remote]
pubkeys = ["sun_raw.pub"]
)");
  expect_one(r, 4, 8, "connections.c.local.private_key", "auth = pubkey needs private_key (a PEM file)");

  // No local table at all: swanctl's default is pubkey.
  r = load(R"([connections.c]
local_addrs = ["10.0.0.1"]
[connections.c.remote]
auth = "pubkey"
)");
  ASSERT_EQ(r.problems.size(), 2u) << all(r);
  EXPECT_EQ(r.problems[0].key, "connections.c.local.private_key");
  EXPECT_EQ(r.problems[0].line, 1);
  EXPECT_EQ(r.problems[0].message, "auth = pubkey (the default) needs private_key (a PEM file)");
  EXPECT_EQ(r.problems[1].key, "connections.c.remote.auth");
  EXPECT_EQ(r.problems[1].line, 4);
  EXPECT_EQ(r.problems[1].message, "auth = pubkey needs cacerts or pubkeys to check the peer with");
}

TEST(ConfigProblems, UnreadableFilesNameThePathAndReason) {
  auto r = load(R"([connections.c]
[connections.c.local]
auth = "pubkey"
id = "moon.example"
private_key = "missing.key"
[connections.c.remote]
pubkeys = ["sun_raw.pub", "garbage.pem"]
)");
  ASSERT_EQ(r.problems.size(), 2u) << all(r);
  EXPECT_EQ(r.problems[0].line, 5);
  EXPECT_EQ(r.problems[0].column, 15);
  EXPECT_EQ(r.problems[0].key, "connections.c.local.private_key");
  EXPECT_EQ(r.problems[0].message, "cannot read '" + kDir + "/missing.key': No such file or directory");
  EXPECT_EQ(r.problems[1].line, 7);
  EXPECT_EQ(r.problems[1].column, 27);
  EXPECT_EQ(r.problems[1].key, "connections.c.remote.pubkeys");
  EXPECT_EQ(r.problems[1].message.rfind("'" + kDir + "/garbage.pem': ", 0), 0u) << r.problems[1].message;
  EXPECT_NE(r.problems[1].message.find("does not parse"), std::string::npos) << r.problems[1].message;

  expect_one(load(kValidPsk + "updown = \"nothere.sh\"\n"), 12, 10, "connections.c.children.net.updown",
             "cannot execute '" + kDir + "/nothere.sh': No such file or directory");
  expect_one(load(kValidPsk + "updown = \"README.md\"\n"), 12, 10, "connections.c.children.net.updown",
             "cannot execute '" + kDir + "/README.md'");
}

TEST(ConfigProblems, CertificateChecks) {
  // The id must be in the certificate, and the key must be the certificate's.
  auto r = load(R"([connections.c]
[connections.c.local]
auth = "pubkey"
id = "venus.example"
certs = ["moon.pem"]
private_key = "moon_raw.key"
[connections.c.remote]
cacerts = "ca.pem"
[connections.c.children.x]
)");
  ASSERT_EQ(r.problems.size(), 2u) << all(r);
  EXPECT_EQ(r.problems[0].key, "connections.c.local.id");
  EXPECT_EQ(r.problems[0].line, 4);
  EXPECT_EQ(r.problems[0].column, 6);
  EXPECT_NE(r.problems[0].message.find("neither the subject nor a subjectAltName"), std::string::npos);
  EXPECT_EQ(r.problems[1].key, "connections.c.local.private_key");
  EXPECT_EQ(r.problems[1].line, 6);
  EXPECT_NE(r.problems[1].message.find("is not the key of the first certificate"), std::string::npos);

  // A raw key that is not the private key's public part.
  r = load(R"([connections.c]
[connections.c.local]
auth = "pubkey"
id = "moon.example"
private_key = "moon_raw.key"
pubkeys = ["sun_raw.pub"]
[connections.c.remote]
pubkeys = "sun_raw.pub"
[connections.c.children.x]
)");
  expect_one(r, 6, 11, "connections.c.local.pubkeys", "not the public key of private_key");
}

TEST(ConfigProblems, StartActionNeedsARemoteAddress) {
  std::string t = kValidPsk;
  t.replace(t.find("remote_addrs = [\"10.0.0.2\"]"), 27, "remote_addrs = [\"%any\"]");
  auto r = load(t + "start_action = \"start\"\n");
  expect_one(r, 12, 16, "connections.c.children.net.start_action",
             "start_action = start needs remote_addrs: with a %any remote we can only respond");
  r = load(t + "start_action = \"trap\"\n");
  expect_one(r, 12, 16, "connections.c.children.net.start_action", "start_action = trap needs remote_addrs");
}

TEST(ConfigProblems, LocalIdAndPorts) {
  auto r = load(R"([secrets.s]
secret = "x"
[connections.c]
local_port = 501
[connections.c.local]
auth = "psk"
[connections.c.remote]
auth = "psk"
)");
  ASSERT_EQ(r.problems.size(), 2u) << all(r);
  EXPECT_EQ(r.problems[0].key, "connections.c.local_port");
  EXPECT_EQ(r.problems[0].message, "501 is neither daemon.ike_port (500) nor daemon.natt_port (4500)");
  EXPECT_EQ(r.problems[1].key, "connections.c.local.id");
  EXPECT_EQ(r.problems[1].line, 5);
  EXPECT_EQ(r.problems[1].column, 1);
  EXPECT_NE(r.problems[1].message.find("no local address"), std::string::npos);
}

TEST(ConfigProblems, LifetimeConsistency) {
  std::string t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "rekey_time = \"1h\"\nlife_time = \"30m\"\n");
  expect_one(load(t), 7, 13, "connections.c.life_time", "would expire (at 30m) before it is renewed (at 1h)");
  expect_one(load(kValidPsk + "rekey_time = \"1h\"\nlife_time = \"1h\"\n"), 13, 13,
             "connections.c.children.net.life_time", "1h must be longer than rekey_time (1h)");
  expect_one(load(kValidPsk + "rand_time = \"2h\"\n"), 12, 13, "connections.c.children.net.rand_time",
             "2h must be shorter than rekey_time (1h)");
}

TEST(ConfigProblems, ReauthTimeReachesTheEngine) {
  using namespace std::chrono_literals;
  std::string t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "reauth_time = \"6s\"\nrekey_time = \"0\"\n");
  auto r = load(t);
  ASSERT_TRUE(r.cfg.has_value()) << all(r);
  const auto& ike = *r.cfg->connections[0].ike;
  EXPECT_EQ(ike.reauth_time, 6s);
  EXPECT_EQ(ike.rekey_time, 0s);
  EXPECT_EQ(ike.life_time, 6600ms);  // reauth_time + 10 %
  EXPECT_EQ(ike.rand_time, 600ms);   // 10 % of reauth_time
  // rand_time defaults to 10 % of the shorter of rekey_time and reauth_time.
  t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "reauth_time = \"1h\"\nrekey_time = \"4h\"\n");
  r = load(t);
  ASSERT_TRUE(r.cfg.has_value()) << all(r);
  EXPECT_EQ(r.cfg->connections[0].ike->rand_time, 6min);
  EXPECT_EQ(r.cfg->connections[0].ike->life_time, 4h + 24min);
  t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "reauth_time = \"6s\"\nrand_time = \"6s\"\n");
  expect_one(load(t), 7, 13, "connections.c.rand_time", "6s must be shorter than reauth_time (6s)");
}

TEST(ConfigProblems, RefusedValuesSayWhy) {
  expect_one(load(kValidPsk + "mode = \"beet\"\n"), 12, 8, "connections.c.children.net.mode",
             "mode 'beet' is not supported");
  std::string t = kValidPsk;
  t.replace(t.find("auth = \"psk\"\nid"), 12, "auth = \"eap-mschapv2\"");
  expect_one(load(t), 7, 8, "connections.c.local.auth", "'eap-mschapv2' is not supported (use psk or pubkey)");
  t = kValidPsk;
  t.insert(t.find("[connections.c.local]"), "version = 1\n");
  expect_one(load(t), 6, 11, "connections.c.version", "IKEv1 is not supported");
}

TEST(ConfigProblems, NamesWithWhiteSpace) {
  std::string t = kValidPsk;
  t += "[connections.c.children.\"two words\"]\n";
  expect_one(load(t), 12, 1, "connections.c.children.two words", "must not be empty or contain white space");
}

TEST(ConfigProblems, SeveralProblemsAreAllReportedInFileOrder) {
  auto r = load(R"([daemon]
ike_port = -1
kernel = "bsd"
[connections.a]
remote_addrs = ["10.0.0.x"]
proposals = ["aes128-x25519"]
[connections.a.local]
auth = "psk"
id = "moon.example"
[connections.a.remote]
auth = "psk"
[connections.a.children.net]
local_ts = ["10.0.0.0/24[tcpp]"]
rekey_time = "soon"
[connections.b]
remote_adrs = "10.0.0.3"
)");
  EXPECT_FALSE(r.cfg.has_value());
  std::vector<std::string> keys;
  std::vector<int> lines;
  for (const auto& p : r.problems) {
    keys.push_back(p.key);
    lines.push_back(p.line);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"daemon.ike_port", "daemon.kernel", "connections.a.remote_addrs",
                                            "connections.a.proposals", "connections.a.local.auth",
                                            "connections.a.children.net.local_ts",
                                            "connections.a.children.net.rekey_time", "connections.b.local.private_key",
                                            "connections.b.local.id", "connections.b.remote.auth",
                                            "connections.b.remote_adrs"}))
      << all(r);
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end())) << all(r);
}

TEST(ConfigProblems, MissingFile) {
  credential_cache creds;
  auto r = load_file(kDir + "/no-such.toml", creds);
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].file, kDir + "/no-such.toml");
  EXPECT_EQ(r.problems[0].line, 0);
  EXPECT_EQ(r.problems[0].key, "");
  EXPECT_EQ(r.problems[0].to_string(),
            kDir + "/no-such.toml: cannot read '" + kDir + "/no-such.toml': No such file or directory");
}

}  // namespace
}  // namespace aike::config
