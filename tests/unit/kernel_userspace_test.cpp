// The userspace ESP backend: inner packet parsing and selector matching, the routes it adds, and
// (in a fresh network namespace with a real TUN device) both packet paths: a packet sent to the
// remote subnet comes out sealed with the outbound SPI; an ESP packet sealed with the inbound keys
// arrives at a local socket, its replay is dropped and counted, and a packet outside the
// selectors, an unknown SPI and a forged ICV are dropped; the outbound SA follows installs,
// rekeys and removals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <algorithm>
#include <thread>

#include "engine/wire/constants.hpp"
#include "fresh_netns.hpp"
#include "kernel/esp/esp_sa.hpp"
#include "kernel/inner_packet.hpp"
#include "kernel/userspace_backend.hpp"

namespace aike {
namespace {
namespace esp = kernel::esp;

ts::selector sel(const char* s) { return *ts::selector::parse(s); }

// An IPv4 packet with a valid header checksum; UDP (checksum 0) or ICMP echo.
bytes ipv4(const char* src, const char* dst, std::uint8_t proto, std::uint16_t sport, std::uint16_t dport,
           std::size_t payload = 16) {
  bytes p(20 + 8 + payload, 0);
  p[0] = 0x45;
  p[2] = static_cast<std::uint8_t>(p.size() >> 8);
  p[3] = static_cast<std::uint8_t>(p.size());
  p[8] = 64;
  p[9] = proto;
  inet_pton(AF_INET, src, p.data() + 12);
  inet_pton(AF_INET, dst, p.data() + 16);
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = static_cast<std::uint8_t>(~sum >> 8);
  p[11] = static_cast<std::uint8_t>(~sum);
  if (proto == 1) {
    p[20] = static_cast<std::uint8_t>(sport >> 8);
    p[21] = static_cast<std::uint8_t>(sport);
  } else {
    p[20] = static_cast<std::uint8_t>(sport >> 8);
    p[21] = static_cast<std::uint8_t>(sport);
    p[22] = static_cast<std::uint8_t>(dport >> 8);
    p[23] = static_cast<std::uint8_t>(dport);
    p[24] = static_cast<std::uint8_t>((8 + payload) >> 8);
    p[25] = static_cast<std::uint8_t>(8 + payload);
  }
  return p;
}

TEST(InnerPacket, ReadsIpv4AndIpv6Flows) {
  auto f = kernel::parse_inner(ipv4("10.1.0.1", "10.2.0.5", 17, 5000, 53));
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->v6);
  EXPECT_EQ(f->protocol, 17);
  EXPECT_EQ(f->src_port, 5000);
  EXPECT_EQ(f->dst_port, 53);
  EXPECT_EQ(f->next_header(), 4);

  // IPv6, a hop-by-hop header before TCP.
  bytes p(40 + 8 + 20, 0);
  p[0] = 0x60;
  p[6] = 0;  // hop-by-hop
  inet_pton(AF_INET6, "2001:db8:1::1", p.data() + 8);
  inet_pton(AF_INET6, "2001:db8:2::1", p.data() + 24);
  p[40] = 6;  // then TCP
  p[41] = 0;  // 8 octets
  p[48] = 0x1f;
  p[49] = 0x90;  // 8080
  p[50] = 0x00;
  p[51] = 0x50;  // 80
  auto g = kernel::parse_inner(p);
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->v6);
  EXPECT_EQ(g->protocol, 6);
  EXPECT_EQ(g->src_port, 8080);
  EXPECT_EQ(g->dst_port, 80);
  EXPECT_EQ(g->next_header(), 41);
  EXPECT_TRUE(kernel::flow_matches(*g, sel("2001:db8:1::/48"), sel("2001:db8:2::/48[tcp/80]")));
  EXPECT_FALSE(kernel::flow_matches(*g, sel("2001:db8:1::/48"), sel("2001:db8:2::/48[tcp/443]")));

  EXPECT_FALSE(kernel::parse_inner(bytes{0x45, 0, 0}));
  EXPECT_FALSE(kernel::parse_inner(bytes(40, 0x70)));
}

TEST(InnerPacket, MatchesSelectorPairs) {
  auto f = *kernel::parse_inner(ipv4("10.1.1.7", "10.2.0.5", 6, 40000, 22));
  std::vector<ts::selector> local{sel("10.1.0.0/24"), sel("10.1.1.0/24")}, remote{sel("10.2.0.0/24")};
  EXPECT_TRUE(kernel::flow_matches_any(f, local, remote));
  EXPECT_FALSE(kernel::flow_matches_any(f, remote, local));  // the wrong direction
  EXPECT_FALSE(kernel::flow_matches(f, sel("10.1.1.0/24[udp]"), sel("10.2.0.0/24")));
  EXPECT_TRUE(kernel::flow_matches(f, sel("10.1.1.0/24[tcp]"), sel("10.2.0.0/24[tcp/22]")));
  EXPECT_FALSE(kernel::flow_matches(f, sel("10.1.1.0/24"), sel("10.2.0.0/24[tcp/23]")));
  EXPECT_FALSE(kernel::flow_matches(f, sel("2001:db8::/32"), sel("10.2.0.0/24")));
  auto ping = *kernel::parse_inner(ipv4("10.1.1.7", "10.2.0.5", 1, 0x0800, 0));
  EXPECT_TRUE(kernel::flow_matches(ping, sel("10.1.1.0/24"), sel("10.2.0.0/24")));
  EXPECT_TRUE(kernel::flow_matches(ping, sel("10.1.1.0/24[icmp/8]"), sel("10.2.0.0/24[icmp/8]")));
  EXPECT_FALSE(kernel::flow_matches(ping, sel("10.1.1.0/24[icmp/0]"), sel("10.2.0.0/24[icmp/0]")));
}

TEST(TunRoutes, OnePerPrefixAndNeverThroughThePeer) {
  std::vector<std::string> skipped;
  auto src = ip_address::parse("10.1.0.1");
  auto r = kernel::routes_for({sel("10.2.0.0/24"), sel("10.3.0.1-10.3.0.2")}, src, *ip_address::parse("192.0.2.2"),
                              skipped);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].to_string(), "10.2.0.0/24 src 10.1.0.1");
  EXPECT_EQ(r[1].to_string(), "10.3.0.1/32 src 10.1.0.1");
  EXPECT_EQ(r[2].to_string(), "10.3.0.2/32 src 10.1.0.1");
  EXPECT_TRUE(skipped.empty());
  r = kernel::routes_for({sel("0.0.0.0/0")}, std::nullopt, *ip_address::parse("192.0.2.2"), skipped);
  EXPECT_TRUE(r.empty());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], "0.0.0.0/0");
  // A single local address is the preferred source without asking the kernel.
  auto one = kernel::inner_source({sel("10.9.9.9/32")});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->to_string(), "10.9.9.9");
}

// --- the data paths, with a real TUN device ------------------------------------------------------

wire::proposal gcm256() {
  wire::proposal p;
  p.protocol = wire::protocol_id::esp;
  wire::transform e{wire::transform_type::encr, wire::encr::aes_gcm_16, {}};
  e.attributes.push_back({wire::attr_key_length, true, 256, {}});
  p.transforms.push_back(e);
  p.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  return p;
}

class UserspaceBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why;
    if (access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "/dev/net/tun is absent";
    ASSERT_EQ(std::system("ip addr add 10.1.0.1/32 dev lo"), 0);
    kernel::userspace_options o;
    o.tun_name = "ut-us0";
    auto b = kernel::userspace_backend::open(o);
    ASSERT_TRUE(b) << b.err().message;
    backend = std::move(*b);
    backend->set_sender([this](const endpoint& l, const endpoint& r, std::span<const bytes_view> esp) {
      std::lock_guard<std::mutex> lock(mutex);
      for (bytes_view p : esp) sent.emplace_back(p.begin(), p.end());
      sent_from = l;
      sent_to = r;
      return esp.size();
    });
    ASSERT_TRUE(backend->start(false));

    c.ike_id = 1;
    c.connection = "site";
    c.child.id = 7;
    c.child.name = "net";
    c.child.spi_in = 0xc0000001;
    c.child.spi_out = 0xc0000002;
    c.child.proposal = gcm256();
    c.child.local_ts = {sel("10.1.0.0/24")};
    c.child.remote_ts = {sel("10.2.0.0/24")};
    c.child.encap = true;
    c.child.encr_in = bytes(36, 0x11);
    c.child.encr_out = bytes(36, 0x22);
    c.local = endpoint{*ip_address::parse("192.0.2.1"), 4500};
    c.remote = endpoint{*ip_address::parse("192.0.2.2"), 4500};
    auto ok = backend->install(c);
    ASSERT_TRUE(ok) << ok.err().message;
  }

  // An ESP packet as the peer would send it (sealed with our inbound keys).
  bytes from_peer(const bytes& inner, esp::outbound_sa& peer) {
    bytes out;
    EXPECT_EQ(peer.seal(inner, 4, out), esp::drop::none);
    return out;
  }

  std::unique_ptr<esp::outbound_sa> peer_sa(std::uint32_t spi, const bytes& key) {
    esp::sa_params p;
    p.spi = spi;
    p.proposal = gcm256();
    p.encr_key = key;
    auto sa = esp::outbound_sa::create(p);
    return std::move(sa.value());
  }

  kernel::child_install c;
  std::unique_ptr<kernel::userspace_backend> backend;
  std::mutex mutex;
  std::vector<bytes> sent;
  endpoint sent_from, sent_to;
};

int udp_socket(const char* addr, std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, addr, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

TEST_F(UserspaceBackend, SealsWhatIsRoutedThroughTheDevice) {
  int fd = udp_socket("10.1.0.1", 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  inet_pton(AF_INET, "10.2.0.5", &to.sin_addr);
  const char msg[] = "through the tunnel";
  ASSERT_EQ(sendto(fd, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), static_cast<long>(sizeof msg));
  close(fd);
  bytes esp_packet;
  for (int i = 0; i < 200 && esp_packet.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(mutex);
    if (!sent.empty()) esp_packet = sent.front();
  }
  ASSERT_FALSE(esp_packet.empty()) << "nothing left the TUN device sealed";
  EXPECT_EQ(esp::spi_of(esp_packet), 0xc0000002u);
  EXPECT_EQ(sent_from, c.local);
  EXPECT_EQ(sent_to, c.remote);
  // The peer opens it with our outbound keys.
  esp::sa_params p;
  p.spi = 0xc0000002;
  p.proposal = gcm256();
  p.encr_key = c.child.encr_out;
  auto created = esp::inbound_sa::create(p, 64);
  auto peer_in = std::move(created.value());
  bytes inner;
  auto opened = peer_in->open(esp_packet, inner);
  ASSERT_EQ(opened.reason, esp::drop::none);
  EXPECT_EQ(opened.next_header, 4);
  auto f = kernel::parse_inner(inner);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->dst_port, 9999);
  auto listed = backend->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].has_counters);
  EXPECT_GE(listed[0].packets_out, 1u);
}

// The SPI of the next packet sealed after sending one UDP datagram from 10.1.0.1:40001 to `dst`:9999
// (0 when none came within 2 s).
std::uint32_t spi_sealed_for(const char* dst, std::mutex& mutex, std::vector<bytes>& sent) {
  std::size_t before;
  {
    std::lock_guard<std::mutex> lock(mutex);
    before = sent.size();
  }
  int fd = udp_socket("10.1.0.1", 40001);  // the same flow every time for the same `dst`
  if (fd < 0) return 0;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  inet_pton(AF_INET, dst, &to.sin_addr);
  const char msg[] = "which SA?";
  sendto(fd, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(mutex);
    if (sent.size() > before) return esp::spi_of(sent[before]);
  }
  return 0;
}

// The TUN thread finds the SA through kernel/outbound_index with a flow cache in front: a new
// table must not reuse the old table's answers, and the newest of equal selectors sends.
TEST_F(UserspaceBackend, OutboundLookupFollowsInstallsRekeysAndRemovals) {
  EXPECT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  // A newer SA for another subnet comes first in the table; the cached answer (position 0)
  // would now name it.
  kernel::child_install other = c;
  other.child.id = 8;
  other.child.spi_in = 0xc0000003;
  other.child.spi_out = 0xc0000004;
  other.child.remote_ts = {sel("10.3.0.0/24")};
  ASSERT_TRUE(backend->install(other));
  EXPECT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  EXPECT_EQ(spi_sealed_for("10.3.0.5", mutex, sent), 0xc0000004u);
  // A rekey of CHILD_SA 7: the new SA has equal selectors; the old one sends until the peer
  // has used the new one, then the new one, being newer, sends.
  kernel::child_install rekeyed = c;
  rekeyed.child.id = 9;
  rekeyed.child.spi_in = 0xc0000005;
  rekeyed.child.spi_out = 0xc0000006;
  ASSERT_TRUE(backend->install(rekeyed));
  EXPECT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  auto peer_new = peer_sa(0xc0000005, rekeyed.child.encr_in);
  backend->receive_esp(from_peer(ipv4("10.2.0.5", "10.1.0.1", 17, 7777, 9997), *peer_new));
  EXPECT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000006u);
  ASSERT_TRUE(backend->remove(9));
  EXPECT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  ASSERT_TRUE(backend->remove(7));
  EXPECT_EQ(spi_sealed_for("10.3.0.5", mutex, sent), 0xc0000004u);
}

// After a rekey the old SA's inbound half still opens packets for retired_inbound_grace (the
// peer may have sealed some with it just before switching); a plain removal ends it at once.
TEST_F(UserspaceBackend, RekeyedSaStillOpensInboundForTheGraceTime) {
  int fd = udp_socket("10.1.0.1", 9996);
  ASSERT_GE(fd, 0);
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto old_peer = peer_sa(0xc0000001, c.child.encr_in);
  auto packet = [&] { return from_peer(ipv4("10.2.0.5", "10.1.0.1", 17, 7777, 9996), *old_peer); };
  char buf[256];

  kernel::child_install rekeyed = c;
  rekeyed.child.id = 9;
  rekeyed.child.spi_in = 0xc0000005;
  rekeyed.child.spi_out = 0xc0000006;
  ASSERT_TRUE(backend->install(rekeyed));
  ASSERT_TRUE(backend->remove(7));
  auto wait = backend->purge_retired();
  EXPECT_GT(wait.count(), 0);
  EXPECT_LE(wait.count(), 2000);
  backend->receive_esp(packet());
  EXPECT_EQ(recv(fd, buf, sizeof buf, 0), 16) << "a packet sealed with the old SA right after the rekey was lost";
  EXPECT_EQ(backend->drops().unknown_spi, 0u);
  auto listed = backend->list();
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(), [](const auto& i) { return i.child_id == 7u; }));

  // A CHILD_SA removed without a successor: its SPI is unknown at once.
  kernel::child_install other = c;
  other.child.id = 8;
  other.child.spi_in = 0xc0000003;
  other.child.spi_out = 0xc0000004;
  other.child.remote_ts = {sel("10.3.0.0/24")};
  ASSERT_TRUE(backend->install(other));
  ASSERT_TRUE(backend->remove(8));
  auto other_peer = peer_sa(0xc0000003, other.child.encr_in);
  backend->receive_esp(from_peer(ipv4("10.3.0.5", "10.1.0.1", 17, 7777, 9996), *other_peer));
  EXPECT_EQ(backend->drops().unknown_spi, 1u);

  // Once the grace time is over, the old SPI is unknown too.
  for (int i = 0; i < 40 && backend->purge_retired().count() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(backend->purge_retired().count(), 0);
  backend->receive_esp(packet());
  EXPECT_EQ(backend->drops().unknown_spi, 2u);
  close(fd);
}

TEST_F(UserspaceBackend, OpensChecksAndDropsReplays) {
  int fd = udp_socket("10.1.0.1", 9998);
  ASSERT_GE(fd, 0);
  auto peer = peer_sa(0xc0000001, c.child.encr_in);
  bytes good = from_peer(ipv4("10.2.0.5", "10.1.0.1", 17, 7777, 9998), *peer);
  backend->receive_esp(good);
  char buf[256];
  long n = recv(fd, buf, sizeof buf, 0);
  EXPECT_EQ(n, 16) << "the decrypted packet did not reach the local socket";

  backend->receive_esp(good);  // a captured packet sent again
  bytes outside = from_peer(ipv4("10.3.0.5", "10.1.0.1", 17, 7777, 9998), *peer);
  backend->receive_esp(outside);
  bytes forged = from_peer(ipv4("10.2.0.5", "10.1.0.1", 17, 7777, 9998), *peer);
  forged.back() ^= 1;
  backend->receive_esp(forged);
  auto stranger = peer_sa(0xdeadbeef, c.child.encr_in);
  backend->receive_esp(from_peer(ipv4("10.2.0.5", "10.1.0.1", 17, 7777, 9998), *stranger));
  close(fd);

  auto listed = backend->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].replay_drops, 1u);
  EXPECT_EQ(listed[0].auth_failures, 1u);
  EXPECT_EQ(listed[0].packets_in, 2u);  // the good one and the one outside the selectors
  auto d = backend->drops();
  EXPECT_EQ(d.selector_mismatch, 1u);
  EXPECT_EQ(d.unknown_spi, 1u);

  // After removal the SPI is unknown.
  ASSERT_TRUE(backend->remove(7));
  backend->receive_esp(good);
  EXPECT_EQ(backend->drops().unknown_spi, 2u);
  EXPECT_TRUE(backend->list().empty());
}

TEST_F(UserspaceBackend, RoutesComeAndGoAndStopRemovesTheDevice) {
  auto routes = [] {
    std::string out;
    FILE* p = popen("ip route show dev ut-us0 2>&1", "r");
    char line[256];
    while (p && fgets(line, sizeof line, p)) out += line;
    if (p) pclose(p);
    return out;
  };
  EXPECT_NE(routes().find("10.2.0.0/24"), std::string::npos) << routes();
  EXPECT_NE(routes().find("src 10.1.0.1"), std::string::npos) << routes();
  ASSERT_TRUE(backend->remove(7));
  EXPECT_EQ(routes().find("10.2.0.0/24"), std::string::npos) << routes();
  backend->stop();
  EXPECT_NE(std::system("ip link show ut-us0 >/dev/null 2>&1"), 0) << "the device outlived stop()";
}

TEST(UserspaceBackendOpen, RefusesANameTakenByAnotherKindOfDevice) {
  if (auto why = test::enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why;
  if (access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "/dev/net/tun is absent";
  kernel::userspace_options o;
  o.tun_name = "lo";
  auto b = kernel::userspace_backend::open(o);
  ASSERT_FALSE(b);
  EXPECT_NE(b.err().message.find("tun_name"), std::string::npos) << b.err().message;
}


// RFC 7296 §2.23: the peer's NAT mapping changed; its CHILD_SA's ESP follows to the new endpoint.
TEST_F(UserspaceBackend, UpdateRemoteSendsToThePeersNewEndpoint) {
  auto sent_to_now = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return sent_to;
  };
  ASSERT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  EXPECT_EQ(sent_to_now(), c.remote);
  auto moved = c;
  moved.remote.port = 31337;
  auto ok = backend->update_remote(moved);
  ASSERT_TRUE(ok) << ok.err().message;
  ASSERT_EQ(spi_sealed_for("10.2.0.5", mutex, sent), 0xc0000002u);
  EXPECT_EQ(sent_to_now(), moved.remote);
  auto listed = backend->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].remote, moved.remote);
  auto unknown = c;
  unknown.child.id = 99;
  EXPECT_FALSE(backend->update_remote(unknown));
}

}  // namespace
}  // namespace aike
