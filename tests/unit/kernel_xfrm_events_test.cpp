// XFRM kernel events through the listener, in a fresh network namespace (root only): a packet
// that matches an installed policy without SA makes the kernel send ACQUIRE; an SA with short
// lifetimes sends soft and hard EXPIRE (skipped where the kernel refuses ESP states).
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "engine/wire/constants.hpp"
#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_events.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "tests/unit/fresh_netns.hpp"

using namespace aike;

namespace {

using test::enter_fresh_netns;

// Collects events from the listener thread.
struct inbox {
  std::mutex m;
  std::condition_variable cv;
  std::vector<kernel::xfrm_event> events;
  void push(const kernel::xfrm_event& e) {
    std::lock_guard<std::mutex> g(m);
    events.push_back(e);
    cv.notify_all();
  }
  // Waits (bounded, so a missing event fails instead of hanging) for an event of kind k.
  std::optional<kernel::xfrm_event> wait_for(kernel::xfrm_event::kind k, std::chrono::seconds limit) {
    std::unique_lock<std::mutex> g(m);
    std::optional<kernel::xfrm_event> found;
    cv.wait_for(g, limit, [&] {
      for (const auto& e : events)
        if (e.what == k) found = e;
      return found.has_value();
    });
    return found;
  }
};

kernel::child_install loopback_child(std::uint32_t id) {
  kernel::child_install c;
  c.child.id = id;
  c.child.name = "lo";
  c.child.mode = sa::child_mode::transport;
  c.child.reqid = kernel::reqid_at(id);
  c.child.spi_in = 0xc0000300u + id;
  c.child.spi_out = 0xc0000400u + id;
  wire::transform t;
  t.type = wire::transform_type::encr;
  t.id = wire::encr::aes_gcm_16;
  t.attributes.push_back({wire::attr_key_length, true, 128, {}});
  c.child.proposal.protocol = wire::protocol_id::esp;
  c.child.proposal.transforms.push_back(t);
  c.child.local_ts.push_back(*ts::selector::parse("127.0.0.1/32"));
  c.child.remote_ts.push_back(*ts::selector::parse("127.0.0.2/32"));
  c.child.encr_in = bytes(20, 1);
  c.child.encr_out = bytes(20, 2);
  c.local.addr = *ip_address::parse("127.0.0.1");
  c.remote.addr = *ip_address::parse("127.0.0.2");
  return c;
}

}  // namespace

TEST(XfrmEvents, APacketWithoutSaBringsAnAcquireForAikesPolicy) {
  if (auto why = enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why;
  inbox box;
  auto l = kernel::xfrm_event_listener::start([&](const kernel::xfrm_event& e) { box.push(e); });
  ASSERT_TRUE(l.ok()) << l.err().message;
  auto b = kernel::xfrm_backend::open();
  ASSERT_TRUE(b.ok()) << b.err().message;
  auto c = loopback_child(1);
  (void)(*b)->install(c);  // the SAs may be refused (no ESP); the policies are what matters here

  // lo skips XFRM by default (disable_xfrm = 1); in this private namespace let it through.
  for (const char* f : {"/proc/sys/net/ipv4/conf/lo/disable_xfrm", "/proc/sys/net/ipv4/conf/lo/disable_policy"}) {
    FILE* sys = std::fopen(f, "w");
    ASSERT_TRUE(sys) << f << ": " << std::strerror(errno);
    std::fputs("0\n", sys);
    std::fclose(sys);
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(0x7f000002);
  (void)sendto(fd, "x", 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);  // dropped: no SA
  close(fd);

  auto ev = box.wait_for(kernel::xfrm_event::kind::acquire, std::chrono::seconds(5));
  ASSERT_TRUE(ev) << "no ACQUIRE from the kernel";
  EXPECT_TRUE(kernel::owns_policy_priority(ev->policy_priority));
  EXPECT_EQ(ev->reqid, c.child.reqid);
  EXPECT_EQ(ev->sel_src.to_string(), "127.0.0.1");
  EXPECT_EQ(ev->sel_dst.to_string(), "127.0.0.2");
  EXPECT_EQ(ev->sel_proto, IPPROTO_UDP);
  EXPECT_EQ(ev->sel_dport, 9);
}

TEST(XfrmEvents, ShortLifetimesBringSoftAndHardExpire) {
  if (auto why = enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why;
  auto esp = kernel::probe_esp();
  if (!esp.esp) GTEST_SKIP() << "the kernel refuses ESP states: " << esp.detail;
  inbox box;
  auto l = kernel::xfrm_event_listener::start([&](const kernel::xfrm_event& e) { box.push(e); });
  ASSERT_TRUE(l.ok()) << l.err().message;
  auto b = kernel::xfrm_backend::open();
  ASSERT_TRUE(b.ok()) << b.err().message;
  auto c = loopback_child(2);
  c.lifetime.soft_seconds = 1;
  c.lifetime.hard_seconds = 2;
  auto r = (*b)->install(c);
  ASSERT_TRUE(r.ok()) << r.err().message;
  auto soft = box.wait_for(kernel::xfrm_event::kind::expire_soft, std::chrono::seconds(10));
  ASSERT_TRUE(soft);
  EXPECT_EQ(soft->reqid, c.child.reqid);
  auto hard = box.wait_for(kernel::xfrm_event::kind::expire_hard, std::chrono::seconds(10));
  ASSERT_TRUE(hard);
}
