// Loading a complete, valid configuration: every field of tests/data/config/full.toml lands
// where the daemon and the engine expect it, and defaults follow swanctl.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "config/config.hpp"
#include "config/reload_plan.hpp"
#include "engine/proposal/parser.hpp"

namespace aike::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

const std::string kDir = AIKE_TEST_DATA_DIR "/config";

std::string problems_text(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

auth::identity id(std::string_view s) { return auth::identity::parse(s).value(); }

std::vector<std::string> selector_strings(const std::vector<ts::selector>& list) {
  std::vector<std::string> out;
  for (const auto& s : list) out.push_back(s.to_string());
  return out;
}

class FullConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    result_ = load_file(kDir + "/full.toml", creds_);
    ASSERT_TRUE(result_.cfg.has_value()) << problems_text(result_);
    cfg_ = &*result_.cfg;
  }
  credential_cache creds_;
  load_result result_;
  const config* cfg_ = nullptr;
};

TEST_F(FullConfig, NoProblemsNoWarnings) {
  EXPECT_TRUE(result_.problems.empty());
  EXPECT_TRUE(result_.warnings.empty()) << result_.warnings.front().to_string();
  EXPECT_EQ(cfg_->path, kDir + "/full.toml");
  EXPECT_EQ(cfg_->secrets, 3u);
  ASSERT_EQ(cfg_->connections.size(), 3u);
  // File order, not toml++'s alphabetical order.
  EXPECT_EQ(cfg_->connections[0].name(), "site");
  EXPECT_EQ(cfg_->connections[1].name(), "raw");
  EXPECT_EQ(cfg_->connections[2].name(), "cert");
  EXPECT_EQ(cfg_->find("raw"), &cfg_->connections[1]);
  EXPECT_EQ(cfg_->find("nope"), nullptr);
}

TEST_F(FullConfig, Daemon) {
  const daemon_config& d = cfg_->daemon;
  ASSERT_EQ(d.listen.size(), 2u);
  EXPECT_EQ(d.listen[0].to_string(), "192.0.2.1");
  EXPECT_EQ(d.listen[1].to_string(), "2001:db8::1");
  EXPECT_EQ(d.ike_port, 1500);
  EXPECT_EQ(d.natt_port, 14500);
  EXPECT_EQ(d.kernel, kernel_mode::userspace);
  EXPECT_EQ(d.control_host, "::1");
  EXPECT_EQ(d.control_port, 4511);
  EXPECT_EQ(d.control_token, kDir + "/run/control.token");  // relative to the config's folder
  EXPECT_EQ(d.control_cert, "");
  EXPECT_EQ(d.workers, 3u);
  EXPECT_EQ(d.half_open_cookie_threshold, 50u);
  EXPECT_FALSE(d.delete_on_stop);
  EXPECT_EQ(d.log.default_level, "warning");
  EXPECT_EQ(d.log.subsystems, (std::map<std::string, std::string>{{"ike", "debug"}, {"knl", "error"}}));
  EXPECT_EQ(d.log.file, "/var/log/aiked.log");
  EXPECT_EQ(d.retransmit.timeout, 2s);
  EXPECT_DOUBLE_EQ(d.retransmit.base, 2.0);
  EXPECT_EQ(d.retransmit.tries, 3);
  EXPECT_EQ(d.updown_max_parallel, 4u);
  EXPECT_EQ(d.updown_timeout, 10s);
  EXPECT_TRUE(d.flush_on_start);
}

TEST_F(FullConfig, PskConnection) {
  const connection& c = cfg_->connections[0];
  const sa::connection& ike = *c.ike;
  EXPECT_EQ(ike.name, "site");
  ASSERT_EQ(ike.local_addrs.size(), 1u);
  EXPECT_EQ(ike.local_addrs[0].to_string(), "10.250.0.1");
  ASSERT_EQ(ike.remote_addrs.size(), 1u);
  EXPECT_EQ(ike.remote_addrs[0].to_string(), "10.250.0.2");
  EXPECT_FALSE(c.remote_any);
  EXPECT_EQ(c.local_port, 14500);
  EXPECT_EQ(ike.remote_port, 4500);

  ASSERT_EQ(ike.ike_proposals.size(), 2u);
  EXPECT_EQ(ike.ike_proposals[0].number, 1);
  EXPECT_EQ(ike.ike_proposals[1].number, 2);
  EXPECT_EQ(proposal::to_string(ike.ike_proposals[0]), "aes256gcm16-prfsha256-x25519");
  EXPECT_EQ(proposal::to_string(ike.ike_proposals[1]), "aes128-sha256-prfsha256-modp2048");

  EXPECT_EQ(c.rekey_time, 4h);
  EXPECT_EQ(c.reauth_time, 0s);
  EXPECT_EQ(c.life_time, 4h + 30min);  // rekey_time + over_time
  EXPECT_EQ(c.rand_time, 5min);
  EXPECT_EQ(ike.life_time, c.life_time);  // the engine's hard lifetime of the IKE SA
  EXPECT_EQ(ike.reauth_time, 0s);
  EXPECT_EQ(ike.dpd_delay, 30s);
  EXPECT_EQ(c.on_dpd, dpd_action::restart);
  EXPECT_EQ(c.unique, unique_policy::replace);
  EXPECT_TRUE(ike.force_encap);
  EXPECT_TRUE(ike.fragmentation);
  EXPECT_TRUE(c.fragmentation_force);
  EXPECT_EQ(c.keyingtries, 0u);
  EXPECT_FALSE(c.mobike);

  // [daemon.retransmit] is copied into every connection.
  EXPECT_EQ(ike.retransmit.timeout, 2s);
  EXPECT_DOUBLE_EQ(ike.retransmit.base, 2.0);
  EXPECT_EQ(ike.retransmit.tries, 3);

  EXPECT_EQ(ike.local.kind, sa::auth_kind::psk);
  EXPECT_TRUE(ike.local.id == id("moon.example"));
  EXPECT_EQ(ike.local.id.type, wire::id_type::fqdn);
  EXPECT_FALSE(ike.local.key.has_value());
  EXPECT_EQ(ike.remote.kind, sa::auth_kind::psk);
  EXPECT_TRUE(ike.remote.id == id("sun.example"));
  EXPECT_EQ(ike.remote.cas, nullptr);

  // site-psk (both ids listed) and catch-all (no ids); not other-psk (venus.example).
  ASSERT_EQ(ike.secrets.size(), 2u);
  EXPECT_EQ(ike.secrets[0].secret, to_bytes("secret key"));
  EXPECT_EQ(ike.secrets[0].ids.size(), 2u);
  EXPECT_EQ(ike.secrets[1].secret, to_bytes("fallback"));
  EXPECT_TRUE(ike.secrets[1].ids.empty());
  EXPECT_EQ(ike.find_psk(id("moon.example"), id("sun.example")), to_bytes("secret key"));
}

TEST_F(FullConfig, PskConnectionChildren) {
  const connection& c = cfg_->connections[0];
  const sa::connection& ike = *c.ike;
  ASSERT_EQ(ike.children.size(), 2u);
  ASSERT_EQ(c.children.size(), 2u);

  const sa::child_config& net = ike.children[0];
  const child_policy& netp = c.children[0];
  EXPECT_EQ(net.name, "net");
  EXPECT_EQ(netp.name, "net");
  EXPECT_EQ(selector_strings(net.local_ts), (std::vector<std::string>{"10.1.0.0/24", "10.1.1.0/24"}));
  EXPECT_EQ(selector_strings(net.remote_ts), (std::vector<std::string>{"10.2.0.0/24"}));
  ASSERT_EQ(net.esp_proposals.size(), 1u);
  EXPECT_EQ(proposal::to_string(net.esp_proposals[0]), "aes256gcm16");
  EXPECT_EQ(net.esp_proposals[0].protocol, wire::protocol_id::esp);
  EXPECT_EQ(net.mode, sa::child_mode::tunnel);
  EXPECT_EQ(netp.start, start_action::start);
  EXPECT_EQ(netp.on_dpd, child_action::trap);
  EXPECT_EQ(netp.on_close, child_action::restart);
  EXPECT_EQ(netp.rekey_time, 1h);
  EXPECT_EQ(netp.life_time, 2h);
  EXPECT_EQ(netp.rand_time, 10min);
  EXPECT_EQ(netp.updown, kDir + "/updown.sh");
  EXPECT_EQ(netp.replay_window, 64u);
  EXPECT_EQ(ike.find_child("net"), &ike.children[0]);
  EXPECT_EQ(c.find_child("net"), &c.children[0]);

  const sa::child_config& host = ike.children[1];
  const child_policy& hostp = c.children[1];
  EXPECT_EQ(host.name, "host");
  EXPECT_TRUE(host.local_ts.empty());  // "dynamic": the engine uses our address
  EXPECT_TRUE(host.remote_ts.empty());
  EXPECT_EQ(host.mode, sa::child_mode::transport);
  ASSERT_EQ(host.esp_proposals.size(), 1u);
  EXPECT_EQ(proposal::to_string(host.esp_proposals[0]), "aes128gcm16-x25519");
  EXPECT_EQ(hostp.start, start_action::none);
  EXPECT_EQ(hostp.on_dpd, child_action::none);
  EXPECT_EQ(hostp.on_close, child_action::none);
  EXPECT_EQ(hostp.rekey_time, 1h);
  EXPECT_EQ(hostp.life_time, 66min);  // rekey + 10%
  EXPECT_EQ(hostp.rand_time, 6min);   // 10% of rekey
  EXPECT_EQ(hostp.updown, "");
  EXPECT_EQ(hostp.replay_window, 32u);
}

TEST_F(FullConfig, RawKeyConnectionAndDefaults) {
  const connection& c = cfg_->connections[1];
  const sa::connection& ike = *c.ike;
  EXPECT_TRUE(ike.local_addrs.empty());
  EXPECT_TRUE(ike.remote_addrs.empty());
  EXPECT_TRUE(c.remote_any);
  EXPECT_EQ(c.local_port, 1500);  // daemon.ike_port
  EXPECT_EQ(ike.remote_port, 500);
  EXPECT_GE(ike.ike_proposals.size(), 1u);  // "default"

  EXPECT_EQ(ike.local.kind, sa::auth_kind::pubkey);
  EXPECT_TRUE(ike.local.id == id("moon.example"));
  ASSERT_TRUE(ike.local.key.has_value());
  EXPECT_EQ(ike.local.key->type(), auth::key_type::ed25519);
  ASSERT_TRUE(ike.local.raw_key.has_value());
  EXPECT_TRUE(*ike.local.raw_key == ike.local.key->public_part());
  EXPECT_TRUE(ike.local.certs.empty());

  EXPECT_EQ(ike.remote.kind, sa::auth_kind::pubkey);
  EXPECT_TRUE(ike.remote.id.is_any());
  ASSERT_EQ(ike.remote.pubkeys.size(), 1u);
  EXPECT_EQ(ike.remote.pubkeys[0].type(), auth::key_type::ed25519);
  EXPECT_FALSE(ike.remote.pubkeys[0] == ike.local.key->public_part());
  EXPECT_EQ(ike.remote.cas, nullptr);
  EXPECT_TRUE(ike.secrets.empty());  // no psk side: no secrets copied

  // swanctl defaults.
  EXPECT_EQ(c.rekey_time, 4h);
  EXPECT_EQ(c.reauth_time, 0s);
  EXPECT_EQ(c.life_time, 4h + 24min);
  EXPECT_EQ(c.rand_time, 24min);
  EXPECT_EQ(ike.dpd_delay, 0s);
  EXPECT_EQ(c.on_dpd, dpd_action::clear);
  EXPECT_EQ(c.unique, unique_policy::no);
  EXPECT_FALSE(ike.force_encap);
  EXPECT_TRUE(ike.fragmentation);
  EXPECT_FALSE(c.fragmentation_force);
  EXPECT_EQ(c.keyingtries, 1u);

  ASSERT_EQ(ike.children.size(), 1u);
  EXPECT_TRUE(ike.children[0].local_ts.empty());
  // One string with swanctl's commas is a list.
  EXPECT_EQ(selector_strings(ike.children[0].remote_ts), (std::vector<std::string>{"0.0.0.0/0", "::/0"}));
  EXPECT_GE(ike.children[0].esp_proposals.size(), 1u);
}

TEST_F(FullConfig, CertificateConnection) {
  const connection& c = cfg_->connections[2];
  const sa::connection& ike = *c.ike;
  EXPECT_FALSE(ike.fragmentation);
  EXPECT_EQ(ike.local.kind, sa::auth_kind::pubkey);
  ASSERT_EQ(ike.local.certs.size(), 1u);
  // With a certificate and no id, the id is the certificate's subject (as in swanctl).
  EXPECT_TRUE(ike.local.id == id("C=CH, O=aike test, CN=moon.example"));
  EXPECT_EQ(ike.local.id.type, wire::id_type::der_asn1_dn);
  ASSERT_TRUE(ike.local.key.has_value());
  EXPECT_EQ(ike.local.key->type(), auth::key_type::ecdsa_p256);
  EXPECT_FALSE(ike.local.raw_key.has_value());

  ASSERT_NE(ike.remote.cas, nullptr);
  EXPECT_EQ(ike.remote.cas->size(), 1u);
  EXPECT_TRUE(ike.remote.id == id("C=CH, O=aike test, CN=*"));
  // The trust store accepts our own certificate, which the test CA issued.
  EXPECT_TRUE(ike.remote.cas->verify(ike.local.certs[0], {}).ok());

  ASSERT_EQ(ike.children.size(), 1u);
  EXPECT_EQ(selector_strings(ike.children[0].local_ts), (std::vector<std::string>{"2001:db8:1::/48"}));
  EXPECT_EQ(selector_strings(ike.children[0].remote_ts), (std::vector<std::string>{"2001:db8:2::/48[tcp/443]"}));
}

TEST(ConfigLoad, EmptyFileIsAValidConfigWithDefaults) {
  credential_cache creds;
  auto r = load_string("", "empty.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  const daemon_config& d = r.cfg->daemon;
  ASSERT_EQ(d.listen.size(), 2u);
  EXPECT_EQ(d.listen[0].to_string(), "0.0.0.0");
  EXPECT_EQ(d.listen[1].to_string(), "::");
  EXPECT_EQ(d.ike_port, 500);
  EXPECT_EQ(d.natt_port, 4500);
  EXPECT_EQ(d.kernel, kernel_mode::auto_);
  EXPECT_EQ(d.control_host, "127.0.0.1");
  EXPECT_EQ(d.control_port, 4510);
  EXPECT_EQ(d.control_token, "/run/aike/control.token");
  EXPECT_EQ(d.retransmit.timeout, 4s);
  EXPECT_EQ(d.retransmit.tries, 5);
  EXPECT_TRUE(d.delete_on_stop);
  EXPECT_FALSE(d.flush_on_start);
  EXPECT_EQ(d.log.default_level, "info");
  EXPECT_TRUE(r.cfg->connections.empty());
  EXPECT_EQ(r.cfg->secrets, 0u);
}

TEST(ConfigLoad, SwanctlSpellings) {
  credential_cache creds;
  auto r = load_string(R"(
[daemon]
delete_on_stop = "no"
log = "debug"
control = "127.0.0.1"
[secrets.s]
id = "moon.example"
secret = "x"
[connections.c]
local_addrs = "10.0.0.1, 10.0.0.3"
remote_addrs = "10.0.0.2"
encap = "yes"
fragmentation = "accept"
keyingtries = "%forever"
dpd_action = "hold"
version = 2
[connections.c.local]
auth = "psk"
[connections.c.remote]
auth = "psk"
[connections.c.children.x]
rekey_time = 600
dpd_action = "clear"
)",
                       "swanctl.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_FALSE(r.cfg->daemon.delete_on_stop);
  EXPECT_EQ(r.cfg->daemon.log.default_level, "debug");
  EXPECT_EQ(r.cfg->daemon.control_port, 4510);
  const connection& c = r.cfg->connections.at(0);
  EXPECT_EQ(c.ike->local_addrs.size(), 2u);
  EXPECT_TRUE(c.ike->force_encap);
  EXPECT_TRUE(c.ike->fragmentation);
  EXPECT_FALSE(c.fragmentation_force);
  EXPECT_EQ(c.keyingtries, 0u);
  EXPECT_EQ(c.on_dpd, dpd_action::trap);
  // The local id defaults to the first local address.
  EXPECT_TRUE(c.ike->local.id == id("10.0.0.1"));
  EXPECT_EQ(c.ike->local.id.type, wire::id_type::ipv4_addr);
  EXPECT_TRUE(c.ike->remote.id.is_any());
  ASSERT_EQ(c.ike->secrets.size(), 1u);
  EXPECT_EQ(c.children.at(0).rekey_time, 600s);  // a plain number is seconds
  EXPECT_EQ(c.children.at(0).on_dpd, child_action::clear);
}

// RFC 7383 sizes: fragment_size per connection (default from [daemon]), the reassembly limits
// from [daemon] on every connection; out-of-range values are errors.
TEST(ConfigLoad, FragmentationSizesAndLimits) {
  credential_cache creds;
  const std::string conns = R"(
[secrets.s]
secret = "x"
[connections.a]
remote_addrs = "10.0.0.2"
local_addrs = "10.0.0.1"
local.auth = "psk"
remote.auth = "psk"
[connections.b]
remote_addrs = "10.0.0.3"
local_addrs = "10.0.0.1"
fragment_size = 576
local.auth = "psk"
remote.auth = "psk"
)";
  auto defaults = load_string(conns, "f.toml", creds);
  ASSERT_TRUE(defaults.cfg) << problems_text(defaults);
  const sa::connection& a0 = *defaults.cfg->connections.at(0).ike;
  EXPECT_EQ(a0.fragment_size, 1280u);
  EXPECT_EQ(a0.reassembly.max_size, 10000u);
  EXPECT_EQ(a0.reassembly.max_fragments, 64u);
  EXPECT_EQ(a0.fragment_timeout, 30s);
  EXPECT_EQ(defaults.cfg->connections.at(1).ike->fragment_size, 576u);

  auto set = load_string("[daemon]\nfragment_size = 1400\nmax_packet = 20000\nmax_fragments = 32\n"
                         "fragment_timeout = \"10s\"\n" + conns, "f.toml", creds);
  ASSERT_TRUE(set.cfg) << problems_text(set);
  const sa::connection& a = *set.cfg->connections.at(0).ike;
  EXPECT_EQ(a.fragment_size, 1400u);
  EXPECT_EQ(a.reassembly.max_size, 20000u);
  EXPECT_EQ(a.reassembly.max_fragments, 32u);
  EXPECT_EQ(a.fragment_timeout, 10s);
  EXPECT_EQ(set.cfg->connections.at(1).ike->fragment_size, 576u);  // the connection's own wins

  for (const char* bad : {"[daemon]\nfragment_size = 500\n", "[daemon]\nmax_fragments = 0\n",
                          "[daemon]\nfragment_timeout = \"0s\"\n", "[daemon]\nmax_packet = 100\n"}) {
    auto r = load_string(std::string(bad) + conns, "f.toml", creds);
    EXPECT_FALSE(r.cfg) << bad;
  }
}

TEST(ConfigLoad, WarningsDoNotStopTheLoad) {
  credential_cache creds;
  auto r = load_string(R"([secrets.s]
secret = "x"
[connections.c]
remote_addrs = ["10.0.0.2"]
dpd_timeout = "150s"
mobike = true
[connections.c.local]
auth = "psk"
id = "moon.example"
pubkeys = ["moon_raw.pub"]
[connections.c.remote]
auth = "psk"
)",
                       kDir + "/warn.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  ASSERT_EQ(r.warnings.size(), 4u);
  EXPECT_EQ(r.warnings[0].key, "connections.c.children");
  EXPECT_EQ(r.warnings[0].line, 3);  // the connection table, since the key is absent
  EXPECT_EQ(r.warnings[0].message.rfind("no children", 0), 0u) << r.warnings[0].message;
  EXPECT_EQ(r.warnings[1].key, "connections.c.dpd_timeout");
  EXPECT_EQ(r.warnings[1].line, 5);
  EXPECT_EQ(r.warnings[1].column, 15);
  EXPECT_EQ(r.warnings[2].key, "connections.c.mobike");
  EXPECT_EQ(r.warnings[2].line, 6);
  EXPECT_EQ(r.warnings[3].key, "connections.c.local.pubkeys");
  EXPECT_EQ(r.warnings[3].message, "ignored with auth = psk");
  EXPECT_EQ(r.warnings[3].to_warning_string(),
            kDir + "/warn.toml:10:11: warning: connections.c.local.pubkeys: ignored with auth = psk");
  EXPECT_TRUE(r.cfg->connections.at(0).mobike);
}

TEST(ConfigLoad, SharedEngineConnectionOutlivesTheConfig) {
  credential_cache creds;
  std::shared_ptr<const sa::connection> kept;
  {
    auto r = load_file(kDir + "/full.toml", creds);
    ASSERT_TRUE(r.cfg) << problems_text(r);
    kept = r.cfg->find("raw")->ike;
  }
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->name, "raw");
  ASSERT_TRUE(kept->local.key.has_value());
  EXPECT_NE(kept->local.key->get(), nullptr);
}

}  // namespace
}  // namespace aike::config

namespace aike::config {
namespace {

TEST(ConfigLoad, UserspaceKernelSettings) {
  credential_cache creds;
  auto r = load_string("", "empty.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_EQ(r.cfg->daemon.tun_name, "aike0");
  EXPECT_EQ(r.cfg->daemon.tun_mtu, 1400u);
  EXPECT_EQ(r.cfg->daemon.replay_window, 64u);
  EXPECT_FALSE(r.cfg->daemon.encap_all);

  r = load_string("[kernel]\ntun_name = \"vpn7\"\ntun_mtu = 1280\nreplay_window = 4096\n", "k.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_EQ(r.cfg->daemon.tun_name, "vpn7");
  EXPECT_EQ(r.cfg->daemon.tun_mtu, 1280u);
  EXPECT_EQ(r.cfg->daemon.replay_window, 4096u);

  for (const char* bad : {"tun_name = \"a-name-far-too-long\"", "tun_name = \"a/b\"", "tun_name = \"\"",
                          "tun_mtu = 100", "replay_window = 32", "replay_window = 8192"}) {
    r = load_string(std::string("[kernel]\n") + bad + "\n", "k.toml", creds);
    EXPECT_FALSE(r.cfg) << bad;
    ASSERT_EQ(r.problems.size(), 1u) << bad;
    EXPECT_NE(r.problems[0].to_string().find("kernel."), std::string::npos) << r.problems[0].to_string();
  }
}

TEST(ConfigLoad, ForcedUdpEncapsulationSurvivesReload) {
  credential_cache creds;
  const std::string text = R"([connections.c]
remote_addrs = ["192.0.2.2"]
[connections.c.local]
auth = "psk"
id = "a.test"
[connections.c.remote]
auth = "psk"
[connections.c.children.net]
[secrets.s]
secret = "a-secret-of-some-length"
)";
  auto r = load_string(text, "c.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_FALSE(r.cfg->connections[0].ike->force_encap);
  config running = std::move(*r.cfg);
  force_udp_encapsulation(running);
  EXPECT_TRUE(running.daemon.encap_all);
  EXPECT_TRUE(running.connections[0].ike->force_encap);

  auto again = load_string(text + "[connections.d]\nremote_addrs = [\"192.0.2.3\"]\n[connections.d.local]\nauth = \"psk\"\nid = \"a.test\"\n"
                                  "[connections.d.remote]\nauth = \"psk\"\n",
                           "c.toml", creds);
  ASSERT_TRUE(again.cfg) << problems_text(again);
  auto plan = plan_reload(running, std::move(*again.cfg));
  EXPECT_TRUE(plan.effective.daemon.encap_all);
  for (const auto& c : plan.effective.connections) EXPECT_TRUE(c.ike->force_encap) << c.name();
  EXPECT_EQ(plan.unchanged, std::vector<std::string>{"c"});
  EXPECT_TRUE(plan.restart_needed.empty());
}

}  // namespace
}  // namespace aike::config
