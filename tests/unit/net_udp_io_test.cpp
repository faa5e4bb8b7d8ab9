// udp_io over loopback: ephemeral ports only (port 0), 127.0.0.1 / 127.0.0.2 / ::1.
#include "actors/network/udp_io.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace aike::net {
namespace {

using namespace std::chrono_literals;

ip_address addr(const char* text) { return *ip_address::parse(text); }

// A plain UDP socket standing in for the peer.
class peer_socket {
 public:
  explicit peer_socket(const char* local = "127.0.0.1") {
    ip_address a = addr(local);
    fd_ = ::socket(a.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    int big = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    sockaddr_storage ss = make(a, 0);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len(a)) == 0;
    socklen_t l = sizeof ss;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &l);
    ep_.addr = a;
    ep_.port = a.v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ~peer_socket() { ::close(fd_); }
  bool bound() const { return bound_; }
  const endpoint& ep() const { return ep_; }

  void send_to(const endpoint& to, const bytes& data) {
    sockaddr_storage ss = make(to.addr, to.port);
    ASSERT_EQ(::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len(to.addr)),
              static_cast<ssize_t>(data.size()));
  }
  // One datagram and its source, or nothing after `timeout`.
  bool receive(bytes& data, endpoint& from, std::chrono::milliseconds timeout = 2000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    data.resize(65536);
    sockaddr_storage ss;
    socklen_t l = sizeof ss;
    ssize_t n = ::recvfrom(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), &l);
    if (n < 0) return false;
    data.resize(static_cast<std::size_t>(n));
    if (ss.ss_family == AF_INET6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      from.addr = ip_address::from_bytes(bytes_view(s6->sin6_addr.s6_addr, 16));
      from.port = ntohs(s6->sin6_port);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      from.addr = ip_address::from_bytes(bytes_view(reinterpret_cast<std::uint8_t*>(&s4->sin_addr), 4));
      from.port = ntohs(s4->sin_port);
    }
    return true;
  }

 private:
  static sockaddr_storage make(const ip_address& a, std::uint16_t port) {
    sockaddr_storage ss{};
    if (a.v6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(port);
      std::memcpy(&s6->sin6_addr, a.octets.data(), 16);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      std::memcpy(&s4->sin_addr, a.octets.data(), 4);
    }
    return ss;
  }
  static socklen_t len(const ip_address& a) { return a.v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }

  int fd_ = -1;
  bool bound_ = false;
  endpoint ep_;
};

// Collects what the receive thread hands over.
class inbox {
 public:
  udp_io::handler handler() {
    return [this](datagram&& d) {
      std::lock_guard<std::mutex> l(m_);
      items_.push_back(std::move(d));
      cv_.notify_all();
    };
  }
  // For ESP, which comes as a view of the receive buffer: kept as an owning copy.
  udp_io::esp_handler esp_handler() {
    return [this](bytes_view esp, const endpoint& local, const endpoint& remote) {
      std::lock_guard<std::mutex> l(m_);
      items_.push_back(datagram{bytes(esp.begin(), esp.end()), local, remote});
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 2000ms) {
    std::unique_lock<std::mutex> l(m_);
    return cv_.wait_for(l, timeout, [&] { return items_.size() >= n; });
  }
  std::vector<datagram> items() {
    std::lock_guard<std::mutex> l(m_);
    return items_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<datagram> items_;
};

// The inbox got exactly `want`, in order, each from `from` to `to`.
void expect_delivered_in_order(inbox& in, const std::vector<bytes>& want, const endpoint& from, const endpoint& to) {
  ASSERT_TRUE(in.wait_for(want.size()));
  auto got = in.items();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].data, want[i]) << i;
    EXPECT_EQ(got[i].remote, from);
    EXPECT_EQ(got[i].local, to);
  }
}

std::unique_ptr<udp_io> open_io(std::vector<const char*> listen) {
  udp_config cfg;
  for (const char* a : listen) cfg.listen.push_back(addr(a));
  cfg.ike_port = 0;
  cfg.natt_port = 0;
  auto r = udp_io::open(cfg);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
  return r.ok() ? std::move(r).value() : nullptr;
}

// An IKE-sized message: `n` octets with a recognisable pattern.
bytes message(std::size_t n, std::uint8_t seed = 1) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i);
  return b;
}

bytes with_marker(const bytes& m) {
  bytes b(4 + m.size(), 0);
  std::copy(m.begin(), m.end(), b.begin() + 4);
  return b;
}

// Waits until a counter of io reaches n.
bool wait_count(const udp_io& io, std::uint64_t io_counters::*field, std::uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (io.counters().*field < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Waits until the receive thread has read `n` datagrams (counted even when dropped).
bool wait_received(const udp_io& io, std::uint64_t n) { return wait_count(io, &io_counters::received, n); }

TEST(UdpIo, OpensEphemeralPortsThatDiffer) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  EXPECT_NE(io->bound_port(false), 0);
  EXPECT_NE(io->bound_port(true), 0);
  EXPECT_NE(io->bound_port(false), io->bound_port(true));
}

TEST(UdpIo, ReceivesIkeWithLocalAndRemoteEndpoints) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike, esp;
  io->start(ike.handler(), esp.esp_handler());
  peer_socket peer;
  endpoint to{addr("127.0.0.1"), io->bound_port(false)};
  bytes m = message(40);
  peer.send_to(to, m);
  ASSERT_TRUE(ike.wait_for(1));
  auto got = ike.items();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, m);
  EXPECT_EQ(got[0].local, to);
  EXPECT_EQ(got[0].remote, peer.ep());
  EXPECT_EQ(io->counters().received, 1u);
  EXPECT_TRUE(esp.items().empty());
}

TEST(UdpIo, IkePortPassesAMarkerThrough) {
  // Only the NAT-T port knows the non-ESP marker; on the IKE port the octets are the message.
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  bytes m = with_marker(message(28));
  peer.send_to({addr("127.0.0.1"), io->bound_port(false)}, m);
  ASSERT_TRUE(ike.wait_for(1));
  EXPECT_EQ(ike.items()[0].data, m);
}

TEST(UdpIo, WildcardSocketReportsTheDestinationAddressAndAnswersFromIt) {
  // 127.0.0.2 is a loopback address too: IP_PKTINFO must report it rather than 0.0.0.0, and a
  // reply with local = 127.0.0.2 must leave from 127.0.0.2 although the socket is bound to 0.0.0.0.
  auto io = open_io({"0.0.0.0"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  endpoint to{addr("127.0.0.2"), io->bound_port(false)};
  peer.send_to(to, message(30));
  ASSERT_TRUE(ike.wait_for(1));
  datagram d = ike.items()[0];
  EXPECT_EQ(d.local, to);
  EXPECT_EQ(d.remote, peer.ep());

  bytes reply = message(33, 9);
  ASSERT_TRUE(io->send(d.local, d.remote, reply));
  bytes got;
  endpoint from;
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, reply);
  EXPECT_EQ(from, to);
}

TEST(UdpIo, NattMarkerIsStripped) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike, esp;
  io->start(ike.handler(), esp.esp_handler());
  peer_socket peer;
  endpoint to{addr("127.0.0.1"), io->bound_port(true)};
  bytes m = message(28);
  peer.send_to(to, with_marker(m));
  ASSERT_TRUE(ike.wait_for(1));
  auto got = ike.items();
  EXPECT_EQ(got[0].data, m);
  EXPECT_EQ(got[0].local, to);
  EXPECT_EQ(got[0].remote, peer.ep());
  EXPECT_TRUE(esp.items().empty());
  EXPECT_EQ(io->counters().esp, 0u);
}

TEST(UdpIo, KeepaliveIsCountedAndDropped) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike, esp;
  io->start(ike.handler(), esp.esp_handler());
  peer_socket peer;
  peer.send_to({addr("127.0.0.1"), io->bound_port(true)}, bytes{0xFF});
  peer.send_to({addr("127.0.0.1"), io->bound_port(true)}, bytes{0xFF});
  ASSERT_TRUE(wait_received(*io, 2));
  auto c = io->counters();
  EXPECT_EQ(c.keepalives, 2u);
  EXPECT_EQ(c.runts, 0u);
  EXPECT_EQ(c.esp, 0u);
  EXPECT_TRUE(ike.items().empty());
  EXPECT_TRUE(esp.items().empty());
}

TEST(UdpIo, EspGoesToTheEspHandler) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike, esp;
  io->start(ike.handler(), esp.esp_handler());
  peer_socket peer;
  bytes packet = message(60, 0x10);  // SPI 0x10111213: not the zero marker
  peer.send_to({addr("127.0.0.1"), io->bound_port(true)}, packet);
  ASSERT_TRUE(esp.wait_for(1));
  auto got = esp.items();
  EXPECT_EQ(got[0].data, packet);
  EXPECT_EQ(got[0].local.port, io->bound_port(true));
  EXPECT_EQ(got[0].remote, peer.ep());
  EXPECT_EQ(io->counters().esp, 1u);
  EXPECT_EQ(io->counters().esp_unhandled, 0u);
  EXPECT_TRUE(ike.items().empty());
}

TEST(UdpIo, EspWithoutHandlerIsCountedAndDropped) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  peer.send_to({addr("127.0.0.1"), io->bound_port(true)}, message(60, 0x10));
  ASSERT_TRUE(wait_received(*io, 1));
  EXPECT_EQ(io->counters().esp, 1u);
  EXPECT_EQ(io->counters().esp_unhandled, 1u);
  EXPECT_TRUE(ike.items().empty());
}

TEST(UdpIo, RuntsAreDroppedAndCounted) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike, esp;
  io->start(ike.handler(), esp.esp_handler());
  peer_socket peer;
  endpoint ike_port{addr("127.0.0.1"), io->bound_port(false)};
  endpoint natt_port{addr("127.0.0.1"), io->bound_port(true)};
  peer.send_to(ike_port, message(27));               // one short of an IKE header
  peer.send_to(natt_port, with_marker(message(27)));  // the same behind the marker
  peer.send_to(natt_port, bytes{0, 0, 0});            // not even a whole marker: ESP, too short
  peer.send_to(natt_port, message(7, 0x20));          // ESP shorter than SPI + sequence number
  peer.send_to(natt_port, bytes{0xFF, 0xFF});         // not a keepalive (two octets): a runt
  peer.send_to(ike_port, message(28));                // exactly a header: delivered
  ASSERT_TRUE(wait_received(*io, 6));
  ASSERT_TRUE(ike.wait_for(1));
  auto c = io->counters();
  EXPECT_EQ(c.runts, 5u);
  EXPECT_EQ(c.keepalives, 0u);
  EXPECT_EQ(c.esp, 0u);
  auto got = ike.items();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, message(28));
  EXPECT_TRUE(esp.items().empty());
}

TEST(UdpIo, LargeDatagramArrivesWhole) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  bytes m = message(65000, 3);
  peer.send_to({addr("127.0.0.1"), io->bound_port(true)}, with_marker(m));
  ASSERT_TRUE(ike.wait_for(1));
  EXPECT_EQ(ike.items()[0].data, m);
  EXPECT_EQ(io->counters().runts, 0u);
}

TEST(UdpIo, ManyDatagramsArriveInOrder) {
  // More than one recvmmsg batch and more than one wake-up's worth.
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  constexpr std::size_t n = 600;
  for (std::size_t i = 0; i < n; ++i) {
    bytes m = message(32);
    put_u32(m, static_cast<std::uint32_t>(i));
    peer.send_to({addr("127.0.0.1"), io->bound_port(false)}, m);
  }
  ASSERT_TRUE(ike.wait_for(n, 5000ms));
  auto got = ike.items();
  ASSERT_EQ(got.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(got[i].data.size(), 36u);
    EXPECT_EQ(get_u32(got[i].data.data() + 32), i);
  }
  EXPECT_EQ(io->counters().received, n);
}

TEST(UdpIo, SendFromNattPortAddsMarker) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  peer_socket peer;
  endpoint local{addr("127.0.0.1"), io->bound_port(true)};
  bytes m = message(44);
  ASSERT_TRUE(io->send(local, peer.ep(), m));
  bytes got;
  endpoint from;
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, with_marker(m));
  EXPECT_EQ(from, local);
  EXPECT_EQ(io->counters().sent, 1u);
}

TEST(UdpIo, SendFromIkePortAndSendEspHaveNoMarker) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  peer_socket peer;
  bytes m = message(44);
  endpoint ike_local{addr("127.0.0.1"), io->bound_port(false)};
  ASSERT_TRUE(io->send(ike_local, peer.ep(), m));
  bytes got;
  endpoint from;
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, m);
  EXPECT_EQ(from, ike_local);

  endpoint natt_local{addr("127.0.0.1"), io->bound_port(true)};
  bytes esp = message(50, 0x30);
  ASSERT_TRUE(io->send_esp(natt_local, peer.ep(), esp));
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, esp);
  EXPECT_EQ(from, natt_local);
  EXPECT_EQ(io->counters().sent, 2u);
}

// A batch: equal sizes then a shorter one (one GSO run), then other sizes; each arrives as a
// datagram of its own, in order, at a plain socket.
std::vector<bytes> esp_batch() {
  std::vector<bytes> v;
  for (std::uint8_t i = 0; i < 40; ++i) v.push_back(message(1400, i));
  v.push_back(message(300, 0x70));
  v.push_back(message(1400, 0x71));
  v.push_back(message(9, 0x72));
  return v;
}

TEST(UdpIo, SendEspBatchArrivesAsSeparateDatagrams) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  peer_socket peer;
  auto packets = esp_batch();
  std::vector<bytes_view> views(packets.begin(), packets.end());
  endpoint natt_local{addr("127.0.0.1"), io->bound_port(true)};
  EXPECT_EQ(io->send_esp_batch(natt_local, peer.ep(), views), packets.size());
  for (const auto& want : packets) {
    bytes got;
    endpoint from;
    ASSERT_TRUE(peer.receive(got, from));
    EXPECT_EQ(got, want);
    EXPECT_EQ(from, natt_local);
  }
  EXPECT_EQ(io->counters().sent, packets.size());
  EXPECT_EQ(io->send_esp_batch({addr("127.0.0.2"), io->bound_port(true)}, peer.ep(), views), 0u);
  EXPECT_EQ(io->counters().send_errors, packets.size());
}

// Between two udp_io (the receiver takes UDP GRO): one ESP handler call per packet, in order,
// from a wildcard socket that sets the source address.
TEST(UdpIo, SendEspBatchToUdpIoGivesOneHandlerCallPerPacket) {
  auto rx = open_io({"127.0.0.1"});
  auto tx = open_io({"0.0.0.0"});
  ASSERT_TRUE(rx && tx);
  inbox ike, esp;
  rx->start(ike.handler(), esp.esp_handler());
  auto packets = esp_batch();
  std::vector<bytes_view> views(packets.begin(), packets.end());
  endpoint from{addr("127.0.0.1"), tx->bound_port(true)};
  endpoint to{addr("127.0.0.1"), rx->bound_port(true)};
  EXPECT_EQ(tx->send_esp_batch(from, to, views), packets.size());
  expect_delivered_in_order(esp, packets, from, to);
  EXPECT_TRUE(ike.items().empty());
  EXPECT_EQ(rx->counters().esp, packets.size());
}

// What a bulk operation queues: runs of equal sizes (GSO candidates), a shorter one, messages
// larger than a GSO segment may be (sent one by one).
std::vector<bytes> ike_burst(std::uint8_t seed) {
  std::vector<bytes> v;
  // Few enough that a plain socket's default receive buffer takes them all.
  for (std::uint8_t i = 0; i < 40; ++i) v.push_back(message(120, static_cast<std::uint8_t>(seed + i)));
  v.push_back(message(60, seed));
  for (std::uint8_t i = 0; i < 30; ++i) v.push_back(message(120, static_cast<std::uint8_t>(seed ^ i)));
  for (std::uint8_t i = 0; i < 3; ++i) v.push_back(message(1500, static_cast<std::uint8_t>(seed + 3 * i)));
  return v;
}

// Sends from two threads to two peers at once (the queue is shared): every datagram arrives, as a
// datagram of its own, in the order its thread sent them, and the counters add up.
TEST(UdpIo, QueuedSendsFromSeveralThreadsArriveInOrder) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket p1, p2;
  endpoint ike_local{addr("127.0.0.1"), io->bound_port(false)};
  endpoint natt_local{addr("127.0.0.1"), io->bound_port(true)};
  auto a = ike_burst(1), b = ike_burst(2);
  std::thread t1([&] {
    for (const auto& m : a) EXPECT_TRUE(io->send(ike_local, p1.ep(), m));
  });
  std::thread t2([&] {
    for (const auto& m : b) EXPECT_TRUE(io->send(natt_local, p2.ep(), m));
  });
  t1.join();
  t2.join();
  for (const auto& want : a) {
    bytes got;
    endpoint from;
    ASSERT_TRUE(p1.receive(got, from));
    EXPECT_EQ(got, want);
    EXPECT_EQ(from, ike_local);
  }
  for (const auto& want : b) {  // from the NAT-T port: with the non-ESP marker
    bytes got;
    endpoint from;
    ASSERT_TRUE(p2.receive(got, from));
    EXPECT_EQ(got, with_marker(want));
    EXPECT_EQ(from, natt_local);
  }
  ASSERT_TRUE(wait_count(*io, &io_counters::sent, a.size() + b.size()));
  EXPECT_EQ(io->counters().send_errors, 0u);
}

// Between two udp_io (the receiver takes UDP GRO, so a batched run may arrive as one buffer):
// one handler call per message, in order.
TEST(UdpIo, QueuedSendsToUdpIoGiveOneHandlerCallPerMessage) {
  auto rx = open_io({"127.0.0.1"});
  auto tx = open_io({"0.0.0.0"});
  ASSERT_TRUE(rx && tx);
  inbox rx_in, tx_in;
  rx->start(rx_in.handler(), nullptr);
  tx->start(tx_in.handler(), nullptr);
  auto msgs = ike_burst(7);
  endpoint from{addr("127.0.0.1"), tx->bound_port(false)};
  endpoint to{addr("127.0.0.1"), rx->bound_port(false)};
  for (const auto& m : msgs) ASSERT_TRUE(tx->send(from, to, m));
  expect_delivered_in_order(rx_in, msgs, from, to);
  EXPECT_EQ(rx->counters().received, msgs.size());
}

// What is queued when the I/O thread stops is still sent; later sends go out at once.
TEST(UdpIo, StopSendsWhatIsQueuedAndLaterSendsGoDirectly) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  endpoint local{addr("127.0.0.1"), io->bound_port(false)};
  auto msgs = ike_burst(9);
  for (const auto& m : msgs) ASSERT_TRUE(io->send(local, peer.ep(), m));
  io->stop();
  EXPECT_EQ(io->counters().sent, msgs.size());
  bytes late = message(44, 0x55);
  ASSERT_TRUE(io->send(local, peer.ep(), late));
  EXPECT_EQ(io->counters().sent, msgs.size() + 1);
  for (const auto& want : msgs) {
    bytes got;
    endpoint from;
    ASSERT_TRUE(peer.receive(got, from));
    EXPECT_EQ(got, want);
  }
  bytes got;
  endpoint from;
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, late);
}

TEST(UdpIo, SendWithoutAMatchingSocketFailsAndIsCounted) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  peer_socket peer;
  std::uint16_t unused = static_cast<std::uint16_t>(io->bound_port(false) ^ io->bound_port(true) ^ 1);
  if (unused == io->bound_port(false) || unused == io->bound_port(true)) unused = 1;
  EXPECT_FALSE(io->send({addr("127.0.0.1"), unused}, peer.ep(), message(30)));        // no such port
  EXPECT_FALSE(io->send({addr("127.0.0.2"), io->bound_port(false)}, peer.ep(), message(30)));  // no such address
  EXPECT_FALSE(io->send({addr("::1"), io->bound_port(false)}, {addr("::1"), 1}, message(30)));  // no v6 socket
  endpoint v6_peer{addr("::1"), peer.ep().port};
  EXPECT_FALSE(io->send({addr("127.0.0.1"), io->bound_port(false)}, v6_peer, message(30)));  // family mismatch
  auto c = io->counters();
  EXPECT_EQ(c.send_errors, 4u);
  EXPECT_EQ(c.sent, 0u);
}

TEST(UdpIo, ConcurrentSendsFromSeveralThreads) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  peer_socket peer;
  constexpr int threads = 4, each = 100;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i)
        io->send({addr("127.0.0.1"), io->bound_port(t % 2 == 1)}, peer.ep(), message(30, static_cast<std::uint8_t>(t)));
    });
  for (auto& t : ts) t.join();
  auto c = io->counters();
  EXPECT_EQ(c.sent + c.send_errors, static_cast<std::uint64_t>(threads * each));
  EXPECT_EQ(c.sent, static_cast<std::uint64_t>(threads * each));  // a 1 MiB buffer holds them all
  int received = 0;
  bytes got;
  endpoint from;
  while (received < threads * each && peer.receive(got, from)) ++received;
  EXPECT_EQ(received, threads * each);
  EXPECT_FALSE(peer.receive(got, from, 50ms));  // and nothing more
}

TEST(UdpIo, Ipv6Loopback) {
  peer_socket peer("::1");
  if (!peer.bound()) GTEST_SKIP() << "no IPv6 loopback here";
  auto io = open_io({"::1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  endpoint to{addr("::1"), io->bound_port(true)};
  bytes m = message(29);
  peer.send_to(to, with_marker(m));
  ASSERT_TRUE(ike.wait_for(1));
  datagram d = ike.items()[0];
  EXPECT_EQ(d.data, m);
  EXPECT_EQ(d.local, to);
  EXPECT_EQ(d.remote, peer.ep());

  ASSERT_TRUE(io->send(d.local, d.remote, m));
  bytes got;
  endpoint from;
  ASSERT_TRUE(peer.receive(got, from));
  EXPECT_EQ(got, with_marker(m));
  EXPECT_EQ(from, to);
}

TEST(UdpIo, Ipv4AndIpv6WildcardsTogether) {
  // IPV6_V6ONLY lets 0.0.0.0 and :: share a port.
  peer_socket peer6("::1");
  if (!peer6.bound()) GTEST_SKIP() << "no IPv6 loopback here";
  auto io = open_io({"0.0.0.0", "::"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  peer_socket peer4;
  peer4.send_to({addr("127.0.0.1"), io->bound_port(false)}, message(28));
  ASSERT_TRUE(ike.wait_for(1));
  peer6.send_to({addr("::1"), io->bound_port(false)}, message(28));
  ASSERT_TRUE(ike.wait_for(2));
  auto got = ike.items();
  EXPECT_EQ(got[0].local, (endpoint{addr("127.0.0.1"), io->bound_port(false)}));
  EXPECT_EQ(got[1].local, (endpoint{addr("::1"), io->bound_port(false)}));
}

TEST(UdpIo, StopIsPromptAndIdempotent) {
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  io->start(ike.handler(), nullptr);
  std::this_thread::sleep_for(20ms);  // let the thread block in epoll_wait
  auto t0 = std::chrono::steady_clock::now();
  io->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1000ms);  // the eventfd wakes it at once (~1 ms); the margin is for a loaded machine
  io->stop();
  // Stopped means stopped: nothing is delivered and start() does not revive it.
  io->start(ike.handler(), nullptr);
  peer_socket peer;
  peer.send_to({addr("127.0.0.1"), io->bound_port(false)}, message(30));
  EXPECT_FALSE(ike.wait_for(1, 100ms));
  EXPECT_EQ(io->counters().received, 0u);
  // Sending still works after stop: the sockets live until destruction.
  EXPECT_TRUE(io->send({addr("127.0.0.1"), io->bound_port(false)}, peer.ep(), message(30)));
}

TEST(UdpIo, StopWithoutStartAndFromAHandler) {
  auto idle = open_io({"127.0.0.1"});
  ASSERT_TRUE(idle);
  idle->stop();
  idle->stop();

  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  inbox ike;
  udp_io* raw = io.get();
  auto forward = ike.handler();
  io->start(
      [raw, forward](datagram&& d) {
        raw->stop();  // must not deadlock or join itself
        forward(std::move(d));
      },
      nullptr);
  peer_socket peer;
  peer.send_to({addr("127.0.0.1"), io->bound_port(false)}, message(30));
  ASSERT_TRUE(ike.wait_for(1));
  io->stop();  // joins the thread the handler asked to end
  peer.send_to({addr("127.0.0.1"), io->bound_port(false)}, message(30));
  EXPECT_FALSE(ike.wait_for(2, 100ms));
}

TEST(UdpIo, PortInUseIsReportedWithAddressPortAndHint) {
  peer_socket holder;  // holds 127.0.0.1:<port> like another daemon would
  udp_config cfg;
  cfg.listen = {addr("127.0.0.1")};
  cfg.ike_port = holder.ep().port;
  cfg.natt_port = 0;
  auto r = udp_io::open(cfg);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.err().message;
  EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("port " + std::to_string(holder.ep().port)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::strerror(EADDRINUSE)), std::string::npos) << msg;
  // The hint names who holds the port: this test process itself.
  EXPECT_NE(msg.find("holds this port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(pid " + std::to_string(getpid()) + ")"), std::string::npos) << msg;
}

TEST(UdpIo, SecondInstanceOnTheSamePortsIsRefused) {
  // No SO_REUSEADDR: two daemons must not silently share (and split) the IKE port.
  auto first = open_io({"127.0.0.1"});
  ASSERT_TRUE(first);
  udp_config cfg;
  cfg.listen = {addr("127.0.0.1")};
  cfg.ike_port = 0;
  cfg.natt_port = first->bound_port(true);
  auto r = udp_io::open(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("port " + std::to_string(first->bound_port(true))), std::string::npos)
      << r.err().message;
  EXPECT_NE(r.err().message.find("NAT-T"), std::string::npos) << r.err().message;
}

TEST(UdpIo, ConfigurationErrors) {
  udp_config none;
  none.listen.clear();
  auto r = udp_io::open(none);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("no listen address"), std::string::npos);

  udp_config same;
  same.listen = {addr("127.0.0.1")};
  same.ike_port = 4500;
  same.natt_port = 4500;
  r = udp_io::open(same);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("4500"), std::string::npos);

  udp_config overlap;
  overlap.listen = {addr("0.0.0.0"), addr("127.0.0.1")};
  overlap.ike_port = overlap.natt_port = 0;
  r = udp_io::open(overlap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("overlap"), std::string::npos) << r.err().message;

  udp_config twice;
  twice.listen = {addr("127.0.0.1"), addr("127.0.0.1")};
  twice.ike_port = twice.natt_port = 0;
  r = udp_io::open(twice);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("twice"), std::string::npos) << r.err().message;
}

TEST(UdpIo, BypassPolicyWarningsNameTheSocket) {
  // Where the kernel has XFRM (this machine) there is no warning; elsewhere each says which socket.
  auto io = open_io({"127.0.0.1"});
  ASSERT_TRUE(io);
  for (const std::string& w : io->warnings()) {
    EXPECT_NE(w.find("bypass"), std::string::npos) << w;
    EXPECT_NE(w.find("127.0.0.1"), std::string::npos) << w;
  }
}

}  // namespace
}  // namespace aike::net
