// XFRM marks (mark_in / mark_out) on a CHILD_SA's policies and SAs, reconciliation of marked
// policies after a crash, XFRM_MSG_ALLOCSPI and XFRM_MSG_MIGRATE built with libnl's message API,
// and the kernel's MIGRATE announcement read by the event listener — in a fresh network
// namespace (needs root; skipped otherwise).
#include <gtest/gtest.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "engine/wire/constants.hpp"
#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_events.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "kernel/xfrm_requests.hpp"
#include "tests/unit/fresh_netns.hpp"

using namespace aike;

// libnl 3.7's xfrmnl_sp_parse leaks the addresses it builds (see kernel_xfrm_test.cpp).
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:xfrmnl_sp_parse\n"; }

namespace {

ip_address ip(const char* s) { return *ip_address::parse(s); }

struct marked_policy {
  int dir = -1;
  std::uint32_t priority = 0, mark = 0, mask = 0, reqid = 0;
  std::string tmpl_src, tmpl_dst;
};

std::string addr_only(nl_addr* a) {
  char buf[128];
  nl_addr2str(a, buf, sizeof buf);
  std::string s = buf;
  if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  return s;
}

// The kernel's policies read back through libnl's own cache (not the backend's dump code).
std::vector<marked_policy> read_policies() {
  std::vector<marked_policy> out;
  nl_sock* sk = nl_socket_alloc();
  EXPECT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  nl_cache* cache = nullptr;
  EXPECT_EQ(xfrmnl_sp_alloc_cache(sk, &cache), 0);
  for (nl_object* o = cache ? nl_cache_get_first(cache) : nullptr; o; o = nl_cache_get_next(o)) {
    auto* sp = reinterpret_cast<xfrmnl_sp*>(o);
    marked_policy p;
    p.dir = xfrmnl_sp_get_dir(sp);
    if (p.dir >= XFRM_POLICY_MAX) continue;
    p.priority = static_cast<std::uint32_t>(xfrmnl_sp_get_priority(sp));
    unsigned mask = 0, value = 0;
    if (xfrmnl_sp_get_mark(sp, &mask, &value) == 0) {
      p.mark = value;
      p.mask = mask;
    }
    if (xfrmnl_sp_get_nusertemplates(sp) > 0) {
      xfrmnl_user_tmpl* t = xfrmnl_sp_usertemplate_n(sp, 0);
      p.reqid = static_cast<std::uint32_t>(xfrmnl_user_tmpl_get_reqid(t));
      p.tmpl_src = addr_only(xfrmnl_user_tmpl_get_saddr(t));
      p.tmpl_dst = addr_only(xfrmnl_user_tmpl_get_daddr(t));
    }
    out.push_back(p);
  }
  if (cache) nl_cache_free(cache);
  nl_socket_free(sk);
  return out;
}

// AES-256-GCM (ICV 16), no ESN: what the backend maps to rfc4106(gcm(aes)).
wire::proposal gcm256() {
  wire::proposal p;
  p.protocol = wire::protocol_id::esp;
  wire::transform encr;
  encr.type = wire::transform_type::encr;
  encr.id = wire::encr::aes_gcm_16;
  encr.attributes.push_back({wire::attr_key_length, true, 256, {}});
  wire::transform esn;
  esn.type = wire::transform_type::esn;
  esn.id = wire::esn::no;
  p.transforms = {encr, esn};
  return p;
}

kernel::child_install marked_child(std::uint32_t id) {
  kernel::child_install c;
  c.ike_id = 1;
  c.connection = "site";
  c.child.id = id;
  c.child.name = "net";
  c.child.reqid = kernel::reqid_at(id);
  c.child.spi_in = 0xc0000300u + id;
  c.child.spi_out = 0xc0000400u + id;
  c.child.proposal = gcm256();
  c.child.local_ts.push_back(*ts::selector::parse("10.1.0.0/24"));
  c.child.remote_ts.push_back(*ts::selector::parse("10.2.0.0/24"));
  c.child.encr_in = bytes(36, 0x11);
  c.child.encr_out = bytes(36, 0x22);
  c.local.addr = ip("192.0.2.1");
  c.remote.addr = ip("192.0.2.2");
  c.mark_in = {0x10, 0xff};
  c.mark_out = {0x20, 0xffffffff};
  return c;
}

std::unique_ptr<kernel::xfrm_backend> open_backend() {
  auto b = kernel::xfrm_backend::open();
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.err().message);
  return b.ok() ? std::move(*b) : nullptr;
}

}  // namespace

// --- requests built with libnl's message API (no kernel needed) ----------------------------------

TEST(XfrmRequests, AllocSpiCarriesAddressesReqidAndRange) {
  nl_msg* m = kernel::build_allocspi(ip("10.250.0.2"), ip("10.250.0.1"), kernel::reqid_at(3));
  ASSERT_NE(m, nullptr);
  nlmsghdr* h = nlmsg_hdr(m);
  EXPECT_EQ(h->nlmsg_type, XFRM_MSG_ALLOCSPI);
  ASSERT_GE(nlmsg_datalen(h), static_cast<int>(sizeof(xfrm_userspi_info)));
  auto* u = static_cast<xfrm_userspi_info*>(nlmsg_data(h));
  EXPECT_EQ(u->min, 0xc0000000u);
  EXPECT_EQ(u->max, 0xcfffffffu);
  EXPECT_EQ(u->info.id.proto, IPPROTO_ESP);
  EXPECT_EQ(u->info.family, AF_INET);
  EXPECT_EQ(u->info.reqid, kernel::reqid_at(3));
  const auto* d = reinterpret_cast<const std::uint8_t*>(&u->info.id.daddr);
  const auto* s = reinterpret_cast<const std::uint8_t*>(&u->info.saddr);
  EXPECT_EQ(d[3], 1);
  EXPECT_EQ(s[3], 2);
  nlmsg_free(m);
  EXPECT_EQ(kernel::build_allocspi(ip("10.0.0.1"), ip("2001:db8::1"), 1), nullptr);  // two families
}

TEST(XfrmRequests, MigrateRoundTripsThroughTheEventParser) {
  kernel::kernel_selector sel;
  sel.src.addr[0] = 10, sel.src.addr[1] = 1, sel.src.prefix = 24;
  sel.dst.addr[0] = 10, sel.dst.addr[1] = 2, sel.dst.prefix = 24;
  kernel::xfrm_migration mv{ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), ip("192.0.2.2"), IPPROTO_ESP,
                            XFRM_MODE_TUNNEL, kernel::reqid_at(5)};
  nl_msg* m = kernel::build_migrate(XFRM_POLICY_OUT, sel, {mv});
  ASSERT_NE(m, nullptr);
  auto ev = kernel::parse_xfrm_event(nlmsg_hdr(m));
  nlmsg_free(m);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->what, kernel::xfrm_event::kind::migrate);
  EXPECT_EQ(ev->dir, XFRM_POLICY_OUT);
  EXPECT_EQ(ev->reqid, kernel::reqid_at(5));
  EXPECT_EQ(ev->sel_src.to_string(), "10.1.0.0");
  EXPECT_EQ(ev->sel_dst_prefix, 24u);
  ASSERT_EQ(ev->migrations.size(), 1u);
  EXPECT_EQ(ev->migrations[0], mv);
  // Not an XFRM event: ignored.
  nl_msg* other = nlmsg_alloc_simple(XFRM_MSG_NEWPOLICY, 0);
  EXPECT_FALSE(kernel::parse_xfrm_event(nlmsg_hdr(other)).has_value());
  nlmsg_free(other);
}

// --- against the kernel ---------------------------------------------------------------------------

TEST(XfrmMarks, PoliciesCarryTheirDirectionsMark) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  (void)b->install(marked_child(1));  // SAs may be refused (no ESP); policies stay
  auto pols = read_policies();
  ASSERT_EQ(pols.size(), 3u);
  for (const auto& p : pols) {
    if (p.dir == XFRM_POLICY_OUT) {
      EXPECT_EQ(p.mark, 0x20u);
      EXPECT_EQ(p.mask, 0xffffffffu);
    } else {
      EXPECT_EQ(p.mark, 0x10u) << "dir " << p.dir;
      EXPECT_EQ(p.mask, 0xffu);
    }
    EXPECT_EQ(p.reqid, kernel::reqid_at(1));
  }
  // The same selectors unmarked are other policies for the kernel, and for the backend.
  auto plain = marked_child(2);
  plain.mark_in = plain.mark_out = {};
  (void)b->install(plain);
  EXPECT_EQ(read_policies().size(), 6u);
  ASSERT_TRUE(b->remove(1).ok());
  pols = read_policies();
  ASSERT_EQ(pols.size(), 3u);
  for (const auto& p : pols) EXPECT_EQ(p.mask, 0u);
  ASSERT_TRUE(b->remove(2).ok());
  EXPECT_TRUE(read_policies().empty());
}

TEST(XfrmMarks, MarkedPoliciesLeftByACrashAreReconciled) {
  REQUIRE_NETNS();
  auto first = open_backend();
  ASSERT_TRUE(first);
  (void)first->install(marked_child(3));
  first->abandon();  // as if aiked had been killed
  ASSERT_EQ(read_policies().size(), 3u);
  auto second = open_backend();
  ASSERT_TRUE(second);
  auto rep = second->reconcile();
  ASSERT_TRUE(rep.ok()) << rep.err().message;
  EXPECT_EQ(rep->policies_removed, 3u);
  EXPECT_TRUE(rep->failures.empty());
  EXPECT_TRUE(read_policies().empty());
}

TEST(XfrmAllocSpi, KernelReservesDistinctSpisInTheRange) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto one = b->alloc_spi(ip("192.0.2.2"), ip("192.0.2.1"), kernel::reqid_at(30));
  if (!one.ok() && one.err().message.find("type not found") != std::string::npos)
    GTEST_SKIP() << "XFRM_MSG_ALLOCSPI: " << one.err().message;
  ASSERT_TRUE(one.ok()) << one.err().message;
  // A second request with another reqid gets another SPI (the same parameters would find the
  // first larval state again).
  auto two = b->alloc_spi(ip("192.0.2.2"), ip("192.0.2.1"), kernel::reqid_at(31));
  ASSERT_TRUE(two.ok()) << two.err().message;
  EXPECT_NE(*one, *two);
  EXPECT_GE(*two, kernel::spi_min);
  EXPECT_LE(*two, kernel::spi_max);
}

// The SPI pool's reservations: a larval state to the local address from "any", which the kernel
// drops after net.core.xfrm_acq_expires — why the pool hands out only young reservations.
TEST(XfrmAllocSpi, ReservationsForThePoolAgeAndAreReleased) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto spi = b->reserve_spi(ip("192.0.2.1"), kernel::reqid_at(40));
  ASSERT_TRUE(spi.ok()) << spi.err().message;
  unsigned acq_expires = 0;
  if (FILE* f = std::fopen("/proc/sys/net/core/xfrm_acq_expires", "r")) {
    if (std::fscanf(f, "%u", &acq_expires) != 1) acq_expires = 0;
    std::fclose(f);
  }
  nl_sock* sk = nl_socket_alloc();
  ASSERT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  nl_cache* cache = nullptr;
  ASSERT_EQ(xfrmnl_sa_alloc_cache(sk, &cache), 0);
  int states = 0;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* sa = reinterpret_cast<xfrmnl_sa*>(o);
    ++states;
    EXPECT_EQ(static_cast<std::uint32_t>(xfrmnl_sa_get_spi(sa)), *spi);
    if (xfrmnl_ltime_cfg* lt = xfrmnl_sa_get_lifetime_cfg(sa); lt && acq_expires) {
      EXPECT_EQ(xfrmnl_ltime_cfg_get_hard_addexpires(lt), acq_expires);
    }
  }
  nl_cache_free(cache);
  nl_socket_free(sk);
  EXPECT_EQ(states, 1);
  b->release_spi(ip("192.0.2.1"), *spi);
  auto rep = b->reconcile();  // nothing of aike's left
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->sas_removed, 0u);
}

TEST(XfrmMigrate, KernelAnnouncesAMigrateToTheListener) {
  REQUIRE_NETNS();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<kernel::xfrm_event> seen;
  auto listener = kernel::xfrm_event_listener::start([&](const kernel::xfrm_event& ev) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(ev);
    cv.notify_all();
  });
  ASSERT_TRUE(listener.ok()) << listener.err().message;
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = marked_child(4);
  c.mark_in = c.mark_out = {};
  (void)b->install(c);
  // Move the out policy's template from 192.0.2.1 -> 192.0.2.2 to 192.0.2.11 -> 192.0.2.2.
  kernel::kernel_selector sel;
  sel.src.addr[0] = 10, sel.src.addr[1] = 1, sel.src.prefix = 24;
  sel.dst.addr[0] = 10, sel.dst.addr[1] = 2, sel.dst.prefix = 24;
  kernel::xfrm_migration mv{ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), ip("192.0.2.2"), IPPROTO_ESP,
                            XFRM_MODE_TUNNEL, c.child.reqid};
  nl_sock* sk = nl_socket_alloc();
  ASSERT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  nl_msg* m = kernel::build_migrate(XFRM_POLICY_OUT, sel, {mv});
  ASSERT_NE(m, nullptr);
  int e = nl_send_auto(sk, m);
  nlmsg_free(m);
  if (e >= 0) e = nl_wait_for_ack(sk);
  nl_socket_free(sk);
  if (e == -NLE_OPNOTSUPP || e == -NLE_PROTO_MISMATCH)
    GTEST_SKIP() << "the kernel refuses XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE off?): " << nl_geterror(e);
  ASSERT_GE(e, 0) << nl_geterror(e);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !seen.empty(); }));
    EXPECT_EQ(seen[0].what, kernel::xfrm_event::kind::migrate);
    EXPECT_EQ(seen[0].reqid, c.child.reqid);
    ASSERT_EQ(seen[0].migrations.size(), 1u);
    EXPECT_EQ(seen[0].migrations[0].new_src.to_string(), "192.0.2.11");
  }
  // The kernel moved the template; the backend follows its records.
  bool moved = false;
  for (const auto& p : read_policies())
    if (p.dir == XFRM_POLICY_OUT) {
      EXPECT_EQ(p.tmpl_src, "192.0.2.11");
      moved = true;
    }
  EXPECT_TRUE(moved);
  EXPECT_EQ(b->note_migrate(c.child.reqid, ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), ip("192.0.2.2")), 1u);
  auto listed = b->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].local.addr.to_string(), "192.0.2.11");
  EXPECT_EQ(b->note_migrate(c.child.reqid, ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), ip("192.0.2.2")), 0u);
}

// What a reload does to a changed trap: remove it, install it again with other selectors and the
// same reqid, and later remove it for good.
TEST(XfrmTraps, ReplacedUnderTheSameReqidAndRemoved) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  kernel::trap_install t;
  t.connection = "lazy";
  t.child = "t";
  t.reqid = kernel::reqid_at(50);
  t.local = ip("192.0.2.1");
  t.remote = ip("192.0.2.2");
  t.local_ts.push_back(*ts::selector::parse("10.1.5.0/24"));
  t.remote_ts.push_back(*ts::selector::parse("10.2.5.0/24"));
  ASSERT_TRUE(b->install_trap(t).ok());
  ASSERT_EQ(read_policies().size(), 1u);
  ASSERT_TRUE(b->remove_trap(t.reqid).ok());
  t.remote_ts = {*ts::selector::parse("10.2.6.0/24")};
  auto r = b->install_trap(t);
  ASSERT_TRUE(r.ok()) << r.err().message;
  ASSERT_EQ(read_policies().size(), 1u);
  ASSERT_TRUE(b->remove_trap(t.reqid).ok());
  EXPECT_TRUE(read_policies().empty());
}
