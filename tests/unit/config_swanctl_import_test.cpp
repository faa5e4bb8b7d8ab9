// swanctl.conf -> aiked.toml: the settings parser on tricky syntax, the mapping of each key, and
// that what comes out loads with aiked's own loader.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/swanctl_import.hpp"

namespace aike::config::swanctl {
namespace {

using namespace std::chrono_literals;

const std::string kDir = AIKE_TEST_DATA_DIR "/config";

std::unique_ptr<section> parse_ok(std::string_view text) {
  auto r = parse_swanctl(text);
  EXPECT_TRUE(r.root) << r.error.line << ": " << r.error.message;
  return std::move(r.root);
}

parse_error parse_bad(std::string_view text) {
  auto r = parse_swanctl(text);
  EXPECT_FALSE(r.root);
  return r.error;
}

std::string value(const section& s, std::string_view key) {
  const setting* kv = s.find(key);
  return kv ? kv->value : "<missing>";
}

std::string report_text(const import_result& r) {
  std::string s;
  for (const auto& i : r.unsupported) s += i.to_string("in") + "\n";
  return s;
}

import_result convert(std::string_view text, import_options opts = {}) {
  auto root = parse_ok(text);
  if (!root) return {};
  return import_swanctl(*root, opts);
}

load_result load(const import_result& r) {
  credential_cache creds;
  return load_string(r.toml, kDir + "/imported.toml", creds);
}

std::string problems(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

bool reported(const import_result& r, std::string_view path, int line) {
  for (const auto& i : r.unsupported)
    if (i.path == path && i.line == line) return true;
  return false;
}

// --- parser ------------------------------------------------------------------------------------

TEST(SwanctlParser, SameLineBracesAndKeys) {
  auto root = parse_ok(
      "connections {\n"
      "  resp { local_addrs = 10.250.0.2\n"
      "         local { auth = psk\n"
      "                 id = b.test }\n"
      "         children { net { local_ts = 10.2.0.0/24 } } }\n"
      "}\n");
  ASSERT_TRUE(root);
  const section* resp = root->subsection("connections")->subsection("resp");
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->line, 2);
  EXPECT_EQ(value(*resp, "local_addrs"), "10.250.0.2");
  const section* local = resp->subsection("local");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(value(*local, "auth"), "psk");
  EXPECT_EQ(value(*local, "id"), "b.test");  // ends at '}'
  EXPECT_EQ(local->find("id")->line, 4);
  EXPECT_EQ(value(*resp->subsection("children")->subsection("net"), "local_ts"), "10.2.0.0/24");
}

TEST(SwanctlParser, QuotesCommentsAndBlanks) {
  auto root = parse_ok(
      "# a comment\n"
      "secrets {   # trailing comment\n"
      "  ike-1 {\n"
      "    secret = \"with # and } inside\"   # comment\n"
      "    id = moon.example#comment right after\n"
      "    id-b = \"multi\n"
      "line\"\n"
      "    empty =\n"
      "    esc = \"a\\\"b\\\\c\"\n"
      "  }\n"
      "}\n");
  ASSERT_TRUE(root);
  const section* s = root->subsection("secrets")->subsection("ike-1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(value(*s, "secret"), "with # and } inside");
  EXPECT_EQ(value(*s, "id"), "moon.example");
  EXPECT_EQ(value(*s, "id-b"), "multi\nline");
  EXPECT_EQ(value(*s, "empty"), "");
  EXPECT_EQ(value(*s, "esc"), "a\"b\\c");
  EXPECT_EQ(s->find("empty")->line, 8);  // the quoted line break was counted
}

TEST(SwanctlParser, NestedMergedSectionsAndOverrides) {
  auto root = parse_ok(
      "connections { a { version = 1 } }\n"
      "connections { a { version = 2\n remote_addrs = 10.0.0.1 } b { } }\n");
  ASSERT_TRUE(root);
  const section* conns = root->subsection("connections");
  ASSERT_EQ(conns->sections.size(), 2u);
  const section* a = conns->subsection("a");
  EXPECT_EQ(value(*a, "version"), "2");  // the later one wins
  EXPECT_EQ(a->find("version")->line, 2);
  EXPECT_EQ(a->settings.size(), 2u);
  EXPECT_EQ(a->line, 1);
}

TEST(SwanctlParser, IncludeAndReferences) {
  auto root = parse_ok("include conf.d/*.conf\nconnections { b : base, other { version = 2 } }\n");
  ASSERT_TRUE(root);
  ASSERT_EQ(root->includes.size(), 1u);
  EXPECT_EQ(root->includes[0].value, "conf.d/*.conf");
  const section* b = root->subsection("connections")->subsection("b");
  EXPECT_EQ(b->references, (std::vector<std::string>{"base", "other"}));
}

TEST(SwanctlParser, ErrorsWithLineNumbers) {
  auto e = parse_bad("connections {\n  a {\n    version = 2\n  }\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_NE(e.message.find("'connections' opened at line 1 is not closed"), std::string::npos) << e.message;

  e = parse_bad("a = 1\n}\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("without an open section"), std::string::npos);

  e = parse_bad("connections {\n  a b\n}\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("expected '=' or '{' after 'a'"), std::string::npos) << e.message;

  e = parse_bad("x {\n  s = \"open\n\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("not closed"), std::string::npos);

  e = parse_bad("x {\n  s = \"a\" b\n}\n");
  EXPECT_EQ(e.line, 2);

  e = parse_bad("x {\n = 3\n}");
  EXPECT_EQ(e.line, 2);
}

// --- mapping -----------------------------------------------------------------------------------

constexpr std::string_view kPskSite = R"(
connections {
  site {
    version = 2
    local_addrs = 192.0.2.1
    remote_addrs = 198.51.100.2, 198.51.100.3
    local_port = 4500
    remote_port = 4501
    proposals = aes256gcm16-prfsha256-x25519, aes256-sha256-modp3072
    encap = yes
    mobike = no
    dpd_delay = 30
    unique = replace
    keyingtries = %forever
    rekey_time = 4h
    reauth_time = 86400s
    over_time = 30m
    rand_time = 10m
    fragmentation = accept
    local { auth = psk
            id = moon.example }
    remote { auth = psk
             id = sun.example }
    children {
      net { local_ts = 10.1.0.0/24
            remote_ts = 10.2.0.0/24, 10.3.0.0/16[tcp/443]
            esp_proposals = aes256gcm16, aes128-sha256-esn
            mode = transport
            start_action = start
            dpd_action = restart
            close_action = none
            rekey_time = 1h
            life_time = 3960
            rand_time = 6m
            mark_in = 0x10/0xff
            mark_out = %unique
            replay_window = 64 }
    }
  }
}
secrets {
  ike-site { id = moon.example
             id-sun = sun.example
             secret = 0x0102030405 }
}
)";

TEST(SwanctlImport, EveryConnectionKeyCarriedOver) {
  auto r = convert(kPskSite);
  EXPECT_TRUE(r.unsupported.empty()) << report_text(r);
  auto loaded = load(r);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << r.toml;
  ASSERT_EQ(loaded.cfg->connections.size(), 1u);
  const connection& c = loaded.cfg->connections[0];
  EXPECT_EQ(c.name(), "site");
  EXPECT_EQ(c.local_port, 4500);
  ASSERT_EQ(c.ike->remote_addrs.size(), 2u);
  EXPECT_EQ(c.ike->remote_addrs[1].to_string(), "198.51.100.3");
  EXPECT_EQ(c.ike->ike_proposals.size(), 2u);
  EXPECT_TRUE(c.ike->force_encap);
  EXPECT_FALSE(c.mobike);
  EXPECT_EQ(c.unique, unique_policy::replace);
  EXPECT_EQ(c.keyingtries, 0u);
  EXPECT_EQ(c.rekey_time, 4h);
  EXPECT_EQ(c.reauth_time, 24h);
  EXPECT_EQ(c.life_time, 24h + 30min);
  EXPECT_EQ(c.rand_time, 10min);
  EXPECT_EQ(c.on_dpd, dpd_action::restart);  // from the child's dpd_action
  ASSERT_EQ(c.children.size(), 1u);
  const child_policy& ch = c.children[0];
  EXPECT_EQ(ch.name, "net");
  EXPECT_EQ(ch.start, start_action::start);
  EXPECT_EQ(ch.on_dpd, child_action::restart);
  EXPECT_EQ(ch.rekey_time, 1h);
  EXPECT_EQ(ch.life_time, 66min);
  EXPECT_EQ(ch.rand_time, 6min);
  EXPECT_EQ(ch.replay_window, 64u);
  ASSERT_EQ(c.ike->children.size(), 1u);
  EXPECT_EQ(c.ike->children[0].mark_in.value, 0x10u);
  EXPECT_EQ(c.ike->children[0].mark_in.mask, 0xffu);
  EXPECT_EQ(c.ike->children[0].mark_out.unique, sa::xfrm_mark::uniqueness::same);
  EXPECT_EQ(c.ike->children[0].remote_ts.size(), 2u);
  EXPECT_EQ(c.ike->children[0].esp_proposals.size(), 2u);
  EXPECT_EQ(loaded.cfg->secrets, 1u);
  // The text itself.
  EXPECT_NE(r.toml.find("[secrets.ike-site]\nids = [\"moon.example\", \"sun.example\"]\nsecret = \"0x0102030405\""),
            std::string::npos)
      << r.toml;
  EXPECT_NE(r.toml.find("dpd_delay = \"30s\""), std::string::npos);
  EXPECT_NE(r.toml.find("keyingtries = 0"), std::string::npos);
  EXPECT_NE(r.toml.find("reauth_time = \"1d\""), std::string::npos);
  EXPECT_NE(r.toml.find("mode = \"transport\""), std::string::npos);
  EXPECT_NE(r.toml.find("# connections.site (swanctl.conf line 3)"), std::string::npos);
  EXPECT_NE(r.toml.find("converted from swanctl.conf"), std::string::npos);
}

TEST(SwanctlImport, Durations) {
  for (auto [in, out] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"1h", "1h"}, {"30m", "30m"}, {"3600s", "1h"}, {"3600", "1h"}, {"90", "90s"}, {"2d", "2d"}, {"0", "0s"}}) {
    std::string text = "connections { c { rekey_time = " + std::string(in) +
                       "\n local { auth = psk\n id = a }\n remote { auth = psk } } }\nsecrets { ike { secret = x } }\n";
    auto r = convert(text);
    EXPECT_TRUE(r.unsupported.empty()) << in << ": " << report_text(r);
    EXPECT_NE(r.toml.find("rekey_time = \"" + std::string(out) + "\""), std::string::npos) << in << "\n" << r.toml;
    EXPECT_TRUE(load(r).cfg) << in << ": " << problems(load(r));
  }
  auto r = convert("connections { c { rekey_time = 1.5h\n dpd_delay = 1w } }");
  EXPECT_TRUE(reported(r, "connections.c.rekey_time", 1)) << report_text(r);
  EXPECT_TRUE(reported(r, "connections.c.dpd_delay", 2)) << report_text(r);
  EXPECT_EQ(r.toml.find("rekey_time ="), std::string::npos);
}

TEST(SwanctlImport, IntegersDecimalOrHex) {
  auto r = convert("connections { c { local_port = 0x1194\n remote_port = 4500\n keyingtries = 3\n"
                   " children { x { replay_window = 0X40 } } } }\n");
  EXPECT_NE(r.toml.find("local_port = 4500"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("remote_port = 4500"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("keyingtries = 3"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("replay_window = 64"), std::string::npos) << r.toml;
  r = convert("connections { c { local_port = 70000\n remote_port = 0x\n keyingtries = -1 } }");
  EXPECT_TRUE(reported(r, "connections.c.local_port", 1)) << report_text(r);
  EXPECT_TRUE(reported(r, "connections.c.remote_port", 2)) << report_text(r);
  EXPECT_TRUE(reported(r, "connections.c.keyingtries", 3)) << report_text(r);
}

TEST(SwanctlImport, AnyAndDefaults) {
  auto r = convert(
      "connections { rw { local_addrs = %any\n remote_addrs = %any\n local { auth = psk\n id = moon }\n"
      " remote { auth = psk\n id = %any }\n children { c { } } } }\nsecrets { ike { secret = s } }\n");
  EXPECT_TRUE(r.unsupported.empty()) << report_text(r);
  EXPECT_NE(r.toml.find("remote_addrs = [\"%any\"]"), std::string::npos);
  auto loaded = load(r);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << r.toml;
  EXPECT_TRUE(loaded.cfg->connections[0].remote_any);
}

TEST(SwanctlImport, PubkeyWithCertificatesAndOneKey) {
  std::string text = "connections { c {\n local { auth = pubkey\n certs = " + kDir + "/moon.pem }\n" +
                     " remote { auth = pubkey\n cacerts = " + kDir + "/ca.pem } } }\n" +
                     "secrets { private-moon { file = " + kDir + "/moon_cert.key } }\n";
  auto r = convert(text);
  EXPECT_TRUE(r.unsupported.empty()) << report_text(r);
  EXPECT_NE(r.toml.find("private_key = \"" + kDir + "/moon_cert.key\""), std::string::npos) << r.toml;
  auto loaded = load(r);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << r.toml;
  EXPECT_EQ(loaded.cfg->connections[0].ike->local.kind, sa::auth_kind::pubkey);
}

TEST(SwanctlImport, RelativeFilesGoIntoSwanctlFolders) {
  import_options opts;
  opts.swanctl_dir = "/etc/swanctl";
  opts.key_files = {"/etc/swanctl/ecdsa/moon.key"};
  auto r = convert("connections { c { local { certs = moon.pem\n pubkeys = me.pub }\n"
                   " remote { cacerts = ca.pem, /abs/ca2.pem\n pubkeys = sun.pub } } }\n",
                   opts);
  EXPECT_NE(r.toml.find("certs = [\"/etc/swanctl/x509/moon.pem\"]"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("pubkeys = [\"/etc/swanctl/pubkey/me.pub\"]"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("cacerts = [\"/etc/swanctl/x509ca/ca.pem\", \"/abs/ca2.pem\"]"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("private_key = \"/etc/swanctl/ecdsa/moon.key\""), std::string::npos) << r.toml;
  EXPECT_TRUE(r.unsupported.empty()) << report_text(r);

  opts.swanctl_dir.clear();
  opts.key_files.clear();
  r = convert("connections { c { local { certs = moon.pem } remote { cacerts = ca.pem } } }\n"
              "secrets { rsa-a { file = a.key } ecdsa-b { file = b.key\n secret = pass } }\n",
              opts);
  EXPECT_NE(r.toml.find("certs = [\"x509/moon.pem\"]"), std::string::npos) << r.toml;
  // Two keys: aiked needs to be told which one.
  EXPECT_NE(r.toml.find("# private_key = \"rsa/a.key\"\n# private_key = \"ecdsa/b.key\""), std::string::npos) << r.toml;
  EXPECT_TRUE(reported(r, "connections.c.local.auth", 1)) << report_text(r);
  EXPECT_TRUE(reported(r, "secrets.ecdsa-b.secret", 3)) << report_text(r);
}

TEST(SwanctlImport, UnsupportedItemsAreReportedWithPathAndLine) {
  constexpr std::string_view text = R"(include extra.conf
connections {
  old { version = 1
        local { auth = psk } }
  rw : base { remote_addrs = 192.0.2.9
    local_addrs = moon.example, 192.0.2.1
    pools = vpool
    dpd_timeout = 150s
    send_cert = always
    proposals = 3des-md5-modp1024, aes128-sha256-x25519
    local { auth = psk
            id = moon }
    local-2 { auth = eap }
    remote { auth = psk
             eap_id = %any }
    children {
      c { ah_proposals = sha256
          start_action = trap|start }
      bypass { mode = pass }
    }
  }
  eap { local { auth = eap-mschapv2 } }
}
pools { vpool { addrs = 10.3.0.0/24 } }
authorities { ca { cacert = ca.pem } }
secrets {
  eap-carol { id = carol
              secret = x }
  xauth-1 { secret = y }
  ike-1 { secret = psk
          extra = 1 }
}
)";
  auto r = convert(text);
  const std::vector<std::pair<std::string, int>> expected = {
      {"include", 1},
      {"connections.old.version", 3},
      {"connections.rw", 5},
      {"connections.rw.local_addrs", 6},
      {"connections.rw.pools", 7},
      {"connections.rw.dpd_timeout", 8},
      {"connections.rw.send_cert", 9},
      {"connections.rw.proposals", 10},
      {"connections.rw.local-2", 13},
      {"connections.rw.remote.eap_id", 15},
      {"connections.rw.children.c.ah_proposals", 17},
      {"connections.rw.children.c.start_action", 18},
      {"connections.rw.children.bypass.mode", 19},
      {"connections.eap.local.auth", 22},
      {"pools", 24},
      {"authorities", 25},
      {"secrets.eap-carol", 27},
      {"secrets.xauth-1", 29},
      {"secrets.ike-1.extra", 31},
  };
  for (const auto& [path, line] : expected) EXPECT_TRUE(reported(r, path, line)) << path << ":" << line << "\n" << report_text(r);
  EXPECT_EQ(r.unsupported.size(), expected.size()) << report_text(r);
  // In line order, and printable as FILE:LINE: PATH: MESSAGE.
  for (std::size_t i = 1; i < r.unsupported.size(); ++i) EXPECT_LE(r.unsupported[i - 1].line, r.unsupported[i].line);
  EXPECT_EQ(r.unsupported[0].to_string("x.conf").rfind("x.conf:1: include: ", 0), 0u);
  // What could be carried over still loads: the IKEv1 and EAP connections are left out.
  EXPECT_EQ(r.toml.find("[connections.old]"), std::string::npos);
  EXPECT_EQ(r.toml.find("[connections.eap]"), std::string::npos);
  EXPECT_EQ(r.toml.find("children.bypass"), std::string::npos);
  EXPECT_NE(r.toml.find("local_addrs = [\"192.0.2.1\"]"), std::string::npos);
  EXPECT_NE(r.toml.find("proposals = [\"aes128-sha256-x25519\"]"), std::string::npos);
  EXPECT_NE(r.toml.find("start_action = \"start\""), std::string::npos);
  auto loaded = load(r);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << r.toml;
  ASSERT_EQ(loaded.cfg->connections.size(), 1u);
  EXPECT_EQ(loaded.cfg->connections[0].name(), "rw");
}

TEST(SwanctlImport, ByteAndPacketLifetimesCarriedOver) {
  auto r = convert(R"(connections {
  c { remote_addrs = 192.0.2.9
      local { auth = psk
              id = moon }
      remote { auth = psk }
      children {
        net { rekey_bytes = 500M
              life_bytes = 600000000
              rand_bytes = 1k
              rekey_packets = 200
              life_packets = 300
              rand_packets = 10 }
        bad { rekey_bytes = 5X
              rekey_packets = many }
      }
  }
}
secrets { ike { secret = x } }
)");
  EXPECT_TRUE(reported(r, "connections.c.children.bad.rekey_bytes", 13)) << report_text(r);
  EXPECT_TRUE(reported(r, "connections.c.children.bad.rekey_packets", 14)) << report_text(r);
  EXPECT_EQ(r.unsupported.size(), 2u) << report_text(r);
  EXPECT_NE(r.toml.find("rekey_bytes = \"500M\""), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("life_bytes = 600000000"), std::string::npos) << r.toml;
  auto loaded = load(r);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << r.toml;
  const auto& ch = loaded.cfg->connections.at(0).ike->children.at(0);
  EXPECT_EQ(ch.bytes, (sa::volume_lifetime{500ull << 20, 600000000, 1024}));
  EXPECT_EQ(ch.packets, (sa::volume_lifetime{200, 300, 10}));
}

TEST(SwanctlImport, BadMarksAreReportedAndLeftOut) {
  auto r = convert(R"(connections {
  c { remote_addrs = 192.0.2.9
      local { auth = psk
              id = moon }
      remote { auth = psk }
      children {
        net { mark_in = 0x1ff/0xff
              mark_out = %unique-dir }
      }
  }
}
secrets { ike { secret = x } }
)");
  EXPECT_TRUE(reported(r, "connections.c.children.net.mark_in", 7)) << report_text(r);
  EXPECT_EQ(r.unsupported.size(), 1u) << report_text(r);
  EXPECT_EQ(r.toml.find("mark_in"), std::string::npos) << r.toml;
  EXPECT_NE(r.toml.find("mark_out = \"%unique-dir\""), std::string::npos) << r.toml;
}

TEST(SwanctlImport, OddNamesAreQuotedTomlKeys) {
  auto root = parse_ok("connections { my.conn { local { auth = psk\n id = a }\n remote { auth = psk } } }\n"
                       "secrets { ike { secret = s } }");
  ASSERT_TRUE(root);
  auto out = import_swanctl(*root);
  EXPECT_NE(out.toml.find("[connections.\"my.conn\"]"), std::string::npos) << out.toml;
  auto loaded = load(out);
  ASSERT_TRUE(loaded.cfg) << problems(loaded) << out.toml;
  EXPECT_EQ(loaded.cfg->connections[0].name(), "my.conn");
}

}  // namespace
}  // namespace aike::config::swanctl
