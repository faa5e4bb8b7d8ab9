// Byte/packet lifetimes in the userspace ESP backend, with a real TUN device in a fresh network
// namespace: crossing the soft limit (in either direction) hands exactly one expire_soft event to
// the expire sink, packets past the hard limit are dropped and counted, and the first such drop
// hands exactly one expire_hard event over, as the XFRM listener reports kernel expires.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "engine/wire/constants.hpp"
#include "fresh_netns.hpp"
#include "kernel/esp/esp_sa.hpp"
#include "kernel/userspace_backend.hpp"

namespace aike {
namespace {
namespace esp = kernel::esp;

// An IPv4/UDP packet from the peer's subnet to ours (checksums as the kernel accepts them).
bytes udp4(const char* src, const char* dst, std::uint16_t dport) {
  bytes p(20 + 8 + 16, 0);
  p[0] = 0x45;
  p[3] = static_cast<std::uint8_t>(p.size());
  p[8] = 64;
  p[9] = 17;
  inet_pton(AF_INET, src, p.data() + 12);
  inet_pton(AF_INET, dst, p.data() + 16);
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = static_cast<std::uint8_t>(~sum >> 8);
  p[11] = static_cast<std::uint8_t>(~sum);
  p[20] = 0x1e;
  p[22] = static_cast<std::uint8_t>(dport >> 8);
  p[23] = static_cast<std::uint8_t>(dport);
  p[25] = 8 + 16;
  return p;
}

wire::proposal gcm128() {
  wire::proposal p;
  p.protocol = wire::protocol_id::esp;
  wire::transform e{wire::transform_type::encr, wire::encr::aes_gcm_16, {}};
  e.attributes.push_back({wire::attr_key_length, true, 128, {}});
  p.transforms.push_back(e);
  p.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  return p;
}

class UserspaceLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why;
    if (access("/dev/net/tun", F_OK) != 0) GTEST_SKIP() << "/dev/net/tun is absent";
    ASSERT_EQ(std::system("ip addr add 10.1.0.1/32 dev lo"), 0);
    // Takes the peer's datagrams, so the kernel answers none with an ICMP error (which would
    // go back through the tunnel and count as outbound packets).
    sink_fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(9998);
    inet_pton(AF_INET, "10.1.0.1", &a.sin_addr);
    ASSERT_EQ(bind(sink_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    kernel::userspace_options o;
    o.tun_name = "lifet-us0";
    auto b = kernel::userspace_backend::open(o);
    ASSERT_TRUE(b) << b.err().message;
    backend = std::move(*b);
    backend->set_sender([this](const endpoint&, const endpoint&, std::span<const bytes_view> esp) {
      std::lock_guard<std::mutex> lock(mutex);
      for (bytes_view p : esp) last_spi = esp::spi_of(p);
      return esp.size();
    });
    backend->set_expire_sink([this](const kernel::xfrm_event& ev) {
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(ev);
    });
    ASSERT_TRUE(backend->start(false));

    c.ike_id = 1;
    c.connection = "site";
    c.child.id = 7;
    c.child.reqid = 42;
    c.child.name = "net";
    c.child.spi_in = 0xc0000001;
    c.child.spi_out = 0xc0000002;
    c.child.proposal = gcm128();
    c.child.local_ts = {*ts::selector::parse("10.1.0.0/24")};
    c.child.remote_ts = {*ts::selector::parse("10.2.0.0/24")};
    c.child.encap = true;
    c.child.encr_in = bytes(20, 0x11);
    c.child.encr_out = bytes(20, 0x22);
    c.local = endpoint{*ip_address::parse("192.0.2.1"), 4500};
    c.remote = endpoint{*ip_address::parse("192.0.2.2"), 4500};
    c.lifetime.soft_packets = 5;
    c.lifetime.hard_packets = 10;
    auto ok = backend->install(c);
    ASSERT_TRUE(ok) << ok.err().message;

    esp::sa_params p;
    p.spi = c.child.spi_in;
    p.proposal = gcm128();
    p.encr_key = c.child.encr_in;
    peer = std::move(esp::outbound_sa::create(p).value());
  }

  void receive_from_peer(int n) {
    for (int i = 0; i < n; ++i) {
      bytes out;
      ASSERT_EQ(peer->seal(udp4("10.2.0.5", "10.1.0.1", 9998), 4, out), esp::drop::none);
      backend->receive_esp(out);
    }
  }

  // Sends n datagrams into the tunnel and waits until the TUN thread handled them all.
  void send_to_peer(int n) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    inet_pton(AF_INET, "10.2.0.5", &to.sin_addr);
    const auto before = handled_out();
    for (int i = 0; i < n; ++i) ASSERT_EQ(sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
    close(fd);
    for (int i = 0; i < 300 && handled_out() < before + static_cast<std::uint64_t>(n); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(handled_out(), before + static_cast<std::uint64_t>(n)) << "the TUN thread did not see every packet";
  }

  std::uint64_t handled_out() {  // over every SA; no inbound drops in these tests
    std::uint64_t n = 0;
    for (const auto& i : backend->list()) n += i.packets_out + i.other_drops;
    return n;
  }

  std::vector<kernel::xfrm_event> seen() {
    std::lock_guard<std::mutex> lock(mutex);
    return events;
  }

  void TearDown() override {
    if (backend) backend->stop();
    if (sink_fd >= 0) close(sink_fd);
  }

  int sink_fd = -1;
  kernel::child_install c;
  std::unique_ptr<kernel::userspace_backend> backend;
  std::unique_ptr<esp::outbound_sa> peer;
  std::mutex mutex;
  std::vector<kernel::xfrm_event> events;
  std::uint32_t last_spi = 0;
};

TEST_F(UserspaceLifetime, SoftLimitReportsOnceHardLimitDrops) {
  receive_from_peer(4);
  EXPECT_TRUE(seen().empty()) << "a soft expire below the soft limit";
  receive_from_peer(1);  // the fifth packet reaches soft_packets
  auto ev = seen();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kernel::xfrm_event::kind::expire_soft);
  EXPECT_EQ(ev[0].spi, c.child.spi_in);
  EXPECT_EQ(ev[0].reqid, 42u);
  EXPECT_EQ(ev[0].dst, c.local.addr);

  // The outbound direction crosses its soft limit too: still one event for the CHILD_SA.
  send_to_peer(6);
  EXPECT_EQ(seen().size(), 1u);
  receive_from_peer(5);  // packets 6..10 inbound: up to the hard limit, all accepted
  EXPECT_EQ(seen().size(), 1u);
  auto l = backend->list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].packets_in, 10u);
  EXPECT_EQ(l[0].other_drops, 0u);

  receive_from_peer(3);  // past the hard limit: dropped, one hard expire
  ev = seen();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].what, kernel::xfrm_event::kind::expire_hard);
  EXPECT_EQ(ev[1].spi, c.child.spi_in);
  EXPECT_EQ(ev[1].reqid, 42u);
  l = backend->list();
  EXPECT_EQ(l[0].packets_in, 10u);
  EXPECT_EQ(l[0].other_drops, 3u);

  send_to_peer(6);  // outbound 7..12: 4 carried, 2 dropped at the hard limit, no new event
  l = backend->list();
  EXPECT_EQ(l[0].packets_out, 10u);
  EXPECT_EQ(l[0].other_drops, 5u);
  EXPECT_EQ(seen().size(), 2u);
}

TEST_F(UserspaceLifetime, OutboundSoftLimitNamesTheOutboundSpi) {
  send_to_peer(5);
  auto ev = seen();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kernel::xfrm_event::kind::expire_soft);
  EXPECT_EQ(ev[0].spi, c.child.spi_out);
  EXPECT_EQ(ev[0].dst, c.remote.addr);
  receive_from_peer(6);
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(UserspaceLifetime, WithoutLimitsNothingIsReported) {
  ASSERT_TRUE(backend->remove(7));
  c.lifetime = {};
  c.child.id = 8;
  ASSERT_TRUE(backend->install(c));
  receive_from_peer(50);
  send_to_peer(20);
  EXPECT_TRUE(seen().empty());
  EXPECT_EQ(backend->list().at(0).packets_in, 50u);
}

// A rekey's new SA (same selectors) is installed beside the old one: sending stays on the old SA
// until a packet arrives on the new inbound SPI (the peer has it), or the old SA is removed.
TEST_F(UserspaceLifetime, RekeyedSaSendsOnceThePeerUsesIt) {
  kernel::child_install fresh = c;
  fresh.child.id = 8;
  fresh.child.spi_in = 0xc0000011;
  fresh.child.spi_out = 0xc0000012;
  fresh.lifetime = {};
  ASSERT_TRUE(backend->install(fresh));
  auto last = [this] {
    std::lock_guard<std::mutex> lock(mutex);
    return last_spi;
  };
  send_to_peer(1);
  EXPECT_EQ(last(), c.child.spi_out) << "the new SA sent before the peer used it";
  esp::sa_params p;
  p.spi = fresh.child.spi_in;
  p.proposal = gcm128();
  p.encr_key = fresh.child.encr_in;
  auto peer_new = std::move(esp::outbound_sa::create(p).value());
  bytes out;
  ASSERT_EQ(peer_new->seal(udp4("10.2.0.5", "10.1.0.1", 9998), 4, out), esp::drop::none);
  backend->receive_esp(out);  // the peer uses the new SA: it sends from now on, the old one still there
  send_to_peer(1);
  EXPECT_EQ(last(), fresh.child.spi_out);
  ASSERT_TRUE(backend->remove(7));

  kernel::child_install third = c;
  third.child.id = 9;
  third.child.spi_in = 0xc0000021;
  third.child.spi_out = 0xc0000022;
  third.lifetime = {};
  ASSERT_TRUE(backend->install(third));
  ASSERT_TRUE(backend->remove(8));  // the old one goes: the new one sends without a packet
  send_to_peer(1);
  EXPECT_EQ(last(), third.child.spi_out);
}

}  // namespace
}  // namespace aike
