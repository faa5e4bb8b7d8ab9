// CHILD_SAs with identical selectors share their XFRM policies; their SAs must carry the reqid the
// shared templates name, also after the CHILD_SA that installed the policies is gone (the peer
// reauthenticated make-before-break, or a duplicate lived until `unique` replaced it). In a fresh
// network namespace (needs root; skipped otherwise). Where the kernel refuses ESP states, the SA
// read-backs are skipped with the kernel's words; the policy read-backs still run.
#include <gtest/gtest.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <iostream>
#include <set>

#include "engine/wire/constants.hpp"
#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "tests/unit/fresh_netns.hpp"

using namespace aike;

// libnl 3.7's xfrmnl_sp_parse leaks the addresses it builds (see kernel_xfrm_test.cpp).
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:xfrmnl_sp_parse\n"; }

namespace {

// One row per aike policy or SA as the kernel lists it: direction (policies; -1 for SAs), the
// destination prefix length of its selector (policies) or SPI (SAs), and the reqid.
struct row {
  int dir = -1;
  std::uint32_t tag = 0;  // policies: selector source address's first octets; SAs: SPI
  std::uint32_t reqid = 0;
};

// Lists through libnl's own caches on a socket of its own (not the backend's dump code).
std::vector<row> kernel_rows(bool policies) {
  std::vector<row> out;
  nl_sock* sk = nl_socket_alloc();
  EXPECT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  nl_cache* cache = nullptr;
  EXPECT_EQ(policies ? xfrmnl_sp_alloc_cache(sk, &cache) : xfrmnl_sa_alloc_cache(sk, &cache), 0);
  for (nl_object* o = cache ? nl_cache_get_first(cache) : nullptr; o; o = nl_cache_get_next(o)) {
    row r;
    if (policies) {
      auto* sp = reinterpret_cast<xfrmnl_sp*>(o);
      r.dir = xfrmnl_sp_get_dir(sp);
      if (r.dir >= XFRM_POLICY_MAX || !kernel::owns_policy_priority(static_cast<std::uint32_t>(xfrmnl_sp_get_priority(sp))))
        continue;
      auto* src = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(xfrmnl_sel_get_saddr(xfrmnl_sp_get_sel(sp))));
      r.tag = std::uint32_t{src[0]} << 8 | src[1];
      EXPECT_EQ(xfrmnl_sp_get_nusertemplates(sp), 1);
      if (xfrmnl_sp_get_nusertemplates(sp) > 0)
        r.reqid = static_cast<std::uint32_t>(xfrmnl_user_tmpl_get_reqid(xfrmnl_sp_usertemplate_n(sp, 0)));
    } else {
      auto* sa = reinterpret_cast<xfrmnl_sa*>(o);
      r.tag = static_cast<std::uint32_t>(xfrmnl_sa_get_spi(sa));
      r.reqid = static_cast<std::uint32_t>(xfrmnl_sa_get_reqid(sa));
    }
    out.push_back(r);
  }
  if (cache) nl_cache_free(cache);
  nl_socket_free(sk);
  return out;
}

kernel::child_install child(std::uint32_t id, std::uint32_t reqid, std::vector<const char*> local,
                            const char* remote = "10.2.0.0/24") {
  kernel::child_install c;
  c.ike_id = id;
  c.connection = "site";
  c.child.id = id;
  c.child.name = "net";
  c.child.mode = sa::child_mode::tunnel;
  c.child.reqid = reqid;
  c.child.spi_in = 0xc0000100u + id;
  c.child.spi_out = 0xc0000200u + id;
  wire::proposal p;
  p.protocol = wire::protocol_id::esp;
  p.transforms.push_back({wire::transform_type::encr, wire::encr::aes_gcm_16, {{wire::attr_key_length, true, 256, {}}}});
  p.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  c.child.proposal = p;
  for (auto* s : local) c.child.local_ts.push_back(*ts::selector::parse(s));
  c.child.remote_ts.push_back(*ts::selector::parse(remote));
  c.child.encr_in = bytes(36, 0x11);
  c.child.encr_out = bytes(36, 0x22);
  c.local.addr = *ip_address::parse("192.0.2.1");
  c.remote.addr = *ip_address::parse("192.0.2.2");
  return c;
}

std::unique_ptr<kernel::xfrm_backend> open_backend() {
  auto b = kernel::xfrm_backend::open();
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.err().message);
  return b.ok() ? std::move(*b) : nullptr;
}

// The policies' template reqids (there must be exactly `count` of aike's policies).
std::set<std::uint32_t> template_reqids(std::size_t count) {
  auto pols = kernel_rows(true);
  EXPECT_EQ(pols.size(), count);
  std::set<std::uint32_t> out;
  for (const auto& p : pols) out.insert(p.reqid);
  return out;
}

// The SAs of one CHILD_SA carry `reqid` (skipped, with the kernel's words, without ESP).
void expect_sa_reqid(const kernel::child_install& c, std::uint32_t reqid, const std::string& esp_refused) {
  if (!esp_refused.empty()) return;
  int seen = 0;
  for (const auto& s : kernel_rows(false))
    if (s.tag == c.child.spi_in || s.tag == c.child.spi_out) {
      ++seen;
      EXPECT_EQ(s.reqid, reqid) << "SA 0x" << std::hex << s.tag;
    }
  EXPECT_EQ(seen, 2);
}

}  // namespace

TEST(XfrmSharedReqid, PoliciesOutliveTheFirstChildWithATemplateTheOthersSasCarry) {
  REQUIRE_NETNS();
  auto esp = kernel::probe_esp();
  ASSERT_TRUE(esp.xfrm) << esp.detail;
  std::string refused = esp.esp ? "" : esp.detail;
  if (!refused.empty()) std::cout << "[ NOTE     ] SA read-backs skipped: the kernel refuses ESP states: " << refused << "\n";
  auto b = open_backend();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->start(false).ok());

  const std::uint32_t r1 = kernel::reqid_at(40), r2 = kernel::reqid_at(41);
  auto first = child(40, r1, {"10.1.0.0/24"});
  auto second = child(41, r2, {"10.1.0.0/24"});  // the peer's reauthentication: new reqid, same selectors
  (void)b->install(first);
  (void)b->install(second);
  EXPECT_TRUE(b->take_warnings().empty());
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{r1});
  EXPECT_EQ(b->kernel_reqid(40), r1);
  EXPECT_EQ(b->kernel_reqid(41), r1) << "its SAs must carry the reqid of the shared policies' templates";
  expect_sa_reqid(first, r1, refused);
  expect_sa_reqid(second, r1, refused);

  // The first CHILD_SA goes: its SAs do, the shared policies stay and still name the second's SAs.
  ASSERT_TRUE(b->remove(40).ok());
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{b->kernel_reqid(41)});
  expect_sa_reqid(second, b->kernel_reqid(41), refused);
  // What a kernel MIGRATE of the templates' reqid reaches: the second CHILD_SA, not r2.
  EXPECT_EQ(b->children_with_kernel_reqid(r1), std::vector<std::uint32_t>{41});
  EXPECT_TRUE(b->children_with_kernel_reqid(r2).empty());

  // A rekey of the second CHILD_SA (same reqid) keeps the kernel reqid, also once the old one is gone.
  auto rekeyed = child(42, r2, {"10.1.0.0/24"});
  (void)b->install(rekeyed);
  EXPECT_EQ(b->kernel_reqid(42), r1);
  ASSERT_TRUE(b->remove(41).ok());
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{b->kernel_reqid(42)});
  expect_sa_reqid(rekeyed, r1, refused);

  // A restart's reconciliation must not take the shared policies or SAs away from the live backend.
  auto rep = b->reconcile();
  ASSERT_TRUE(rep.ok()) << rep.err().message;
  EXPECT_EQ(rep->policies_removed, 0u);
  EXPECT_EQ(rep->sas_removed, 0u);
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{r1});

  ASSERT_TRUE(b->remove(42).ok());
  EXPECT_TRUE(kernel_rows(true).empty());
  EXPECT_EQ(b->kernel_reqid(42), 0u);
}

TEST(XfrmSharedReqid, NewestRemovedFirstLeavesTheFirstAsItWas) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  const std::uint32_t r1 = kernel::reqid_at(50), r2 = kernel::reqid_at(51);
  (void)b->install(child(50, r1, {"10.1.0.0/24"}));
  (void)b->install(child(51, r2, {"10.1.0.0/24"}));
  ASSERT_TRUE(b->remove(51).ok());
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{r1});
  EXPECT_EQ(b->kernel_reqid(51), 0u);
  // Both gone, then a CHILD_SA of reqid r2 alone: its own reqid again.
  ASSERT_TRUE(b->remove(50).ok());
  (void)b->install(child(52, r2, {"10.1.0.0/24"}));
  EXPECT_EQ(template_reqids(3), std::set<std::uint32_t>{r2});
  EXPECT_EQ(b->kernel_reqid(52), r2);
}

TEST(XfrmSharedReqid, PartialOverlapKeepsItsOwnReqidAndWarns) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  const std::uint32_t r1 = kernel::reqid_at(60), r2 = kernel::reqid_at(61);
  (void)b->install(child(60, r1, {"10.1.0.0/24"}));
  (void)b->take_warnings();
  (void)b->install(child(61, r2, {"10.1.0.0/24", "10.3.0.0/24"}));
  EXPECT_EQ(b->kernel_reqid(61), r2);
  auto w = b->take_warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("site/net{61}"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("site/net{60}"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("3 of its 6"), std::string::npos) << w[0];
  auto pols = kernel_rows(true);
  ASSERT_EQ(pols.size(), 6u);
  // The out policies tell their local subnet by source: 10.3.0.0/24 is the second's alone.
  for (const auto& p : pols) {
    if (p.dir == XFRM_POLICY_OUT) {
      EXPECT_EQ(p.reqid, p.tag == (10u << 8 | 3) ? r2 : r1);
    }
  }
  EXPECT_TRUE(b->take_warnings().empty()) << "a warning is handed out once";
}
