// Trap policies of the XFRM backend (start_action = "trap") against the real kernel, in a fresh
// network namespace: installed in the trap band with the trap's reqid, replaced by a CHILD_SA's
// policy of the same selector and restored when that CHILD_SA goes, removed with the trap, and
// kept by reconciliation. Needs root; skipped otherwise.
#include <gtest/gtest.h>

#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_dump.hpp"
#include "engine/wire/constants.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "tests/unit/fresh_netns.hpp"

using namespace aike;
using namespace aike::kernel;

namespace {

std::vector<xfrm_policy_view> policies() {
  auto sock = xfrm_socket::open();
  EXPECT_TRUE(sock.ok());
  std::vector<dumped_policy> d;
  EXPECT_TRUE(dump_policies(*sock, d).ok());
  std::vector<xfrm_policy_view> out;
  for (const auto& p : d)
    if (p.info.dir < XFRM_POLICY_MAX) out.push_back(to_view(p));
  return out;
}

trap_install make_trap(std::uint32_t n) {
  trap_install t;
  t.connection = "site";
  t.child = "net";
  t.reqid = reqid_at(1000 + n);
  t.local = *ip_address::parse("192.0.2.1");
  t.remote = *ip_address::parse("192.0.2.2");
  t.local_ts.push_back(*ts::selector::parse("10.1.0.0/24"));
  t.local_ts.push_back(*ts::selector::parse("10.1.1.0/24"));
  t.remote_ts.push_back(*ts::selector::parse("10.2.0.0/24"));
  return t;
}

// A CHILD_SA of the trap's child for 10.1.0.0/24 -> 10.2.0.0/24 (one of the trap's two pairs).
child_install make_child(std::uint32_t id, const trap_install& t) {
  child_install c;
  c.ike_id = 1;
  c.connection = "site";
  c.child.id = id;
  c.child.name = "net";
  c.child.reqid = reqid_at(id);
  c.child.spi_in = 0xc0000100 + id;
  c.child.spi_out = 0xc0000200 + id;
  c.child.local_ts.push_back(*ts::selector::parse("10.1.0.0/24"));
  c.child.remote_ts.push_back(*ts::selector::parse("10.2.0.0/24"));
  wire::proposal prop;
  prop.protocol = wire::protocol_id::esp;
  wire::transform gcm;
  gcm.type = wire::transform_type::encr;
  gcm.id = wire::encr::aes_gcm_16;
  gcm.attributes.push_back({wire::attr_key_length, true, 256, {}});
  prop.transforms.push_back(gcm);
  prop.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  c.child.proposal = prop;
  c.child.encr_in = bytes(36, 0x11);
  c.child.encr_out = bytes(36, 0x22);
  c.local.addr = t.local;
  c.remote.addr = t.remote;
  c.mark_out = t.mark_out;
  return c;
}

bool trap_band(std::uint32_t prio) {
  return owns_policy_priority(prio) && prio - policy_priority_first >= static_cast<std::uint32_t>(policy_kind::trap);
}

}  // namespace

TEST(XfrmTrap, InstallsOutPoliciesInTheTrapBandWithTheTrapsReqid) {
  REQUIRE_NETNS();
  auto b = xfrm_backend::open();
  ASSERT_TRUE(b.ok()) << b.err().message;
  auto t = make_trap(1);
  ASSERT_TRUE((*b)->install_trap(t).ok());
  auto p = policies();
  ASSERT_EQ(p.size(), 2u);  // one out policy per local subnet, nothing inbound
  for (const auto& x : p) {
    EXPECT_EQ(x.dir, xfrm_dir::out);
    EXPECT_TRUE(trap_band(x.priority)) << x.to_string();
    ASSERT_EQ(x.tmpls.size(), 1u);
    EXPECT_EQ(x.tmpls[0].reqid, t.reqid);
    EXPECT_EQ(x.tmpls[0].dst.to_string(), "192.0.2.2");
  }
  EXPECT_FALSE((*b)->install_trap(t).ok());  // the same reqid twice

  // Reconciliation keeps the traps this backend holds.
  auto rep = (*b)->reconcile();
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->policies_removed, 0u);
  EXPECT_EQ(policies().size(), 2u);

  // The doctor does not call a trap policy without SA a problem.
  doctor_input in;
  in.counters = std::vector<xfrm_counter>{};
  in.policies = policies();
  in.sas = std::vector<xfrm_sa_view>{};
  in.daemon.reachable = true;
  EXPECT_TRUE(diagnose(in).findings.empty());

  ASSERT_TRUE((*b)->remove_trap(t.reqid).ok());
  EXPECT_TRUE(policies().empty());
}

TEST(XfrmTrap, AChildSaTakesTheSelectorAndGivesItBack) {
  REQUIRE_NETNS();
  auto b = xfrm_backend::open();
  ASSERT_TRUE(b.ok()) << b.err().message;
  auto t = make_trap(2);
  ASSERT_TRUE((*b)->install_trap(t).ok());

  child_install c = make_child(7, t);
  (void)(*b)->install(c);  // the SAs may be refused (no ESP in this kernel); the policies stay

  auto p = policies();
  unsigned trap_out = 0, child_out = 0;
  for (const auto& x : p) {
    if (x.dir != xfrm_dir::out) continue;
    if (x.tmpls.at(0).reqid == t.reqid) {
      ++trap_out;
      EXPECT_EQ(x.sel.src.to_string(), "10.1.1.0");  // only the subnet the CHILD_SA does not cover
    }
    if (x.tmpls.at(0).reqid == c.child.reqid) ++child_out;
  }
  EXPECT_EQ(trap_out, 1u);
  EXPECT_EQ(child_out, 1u);

  (void)(*b)->remove(7);
  p = policies();
  ASSERT_EQ(p.size(), 2u);  // both trap policies again
  for (const auto& x : p) {
    EXPECT_EQ(x.tmpls.at(0).reqid, t.reqid);
    EXPECT_TRUE(trap_band(x.priority));
  }
  (*b)->stop();
  EXPECT_TRUE(policies().empty());
}

TEST(XfrmTrap, OtherBackendsSayTheyCannot) {
  struct none final : backend {
    const char* name() const override { return "none"; }
    status install(const child_install&) override { return ok_v; }
    status remove(std::uint32_t) override { return ok_v; }
    std::vector<installed_child> list() const override { return {}; }
  } n;
  auto r = n.install_trap(make_trap(3));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("cannot install trap policies"), std::string::npos);
}

TEST(XfrmTrap, CarriesTheChildsMarkOutSoTheChildSaReplacesIt) {
  REQUIRE_NETNS();
  auto b = xfrm_backend::open();
  ASSERT_TRUE(b.ok()) << b.err().message;
  auto t = make_trap(3);
  t.mark_out = {0x20, 0xff};
  ASSERT_TRUE((*b)->install_trap(t).ok());
  auto p = policies();
  ASSERT_EQ(p.size(), 2u);
  for (const auto& x : p) {
    EXPECT_EQ(x.mark_value, 0x20u) << x.to_string();
    EXPECT_EQ(x.mark_mask, 0xffu) << x.to_string();
  }

  // The CHILD_SA's out policy has the same selector and mark: it takes the trap's slot (no
  // second, unmarked policy) and gives it back.
  (void)(*b)->install(make_child(8, t));
  p = policies();
  unsigned out = 0;
  for (const auto& x : p) {
    if (x.dir != xfrm_dir::out) continue;
    ++out;
    EXPECT_EQ(x.mark_value, 0x20u) << x.to_string();
  }
  EXPECT_EQ(out, 2u) << "one trap policy (10.1.1.0/24) and the CHILD_SA's (10.1.0.0/24)";
  (void)(*b)->remove(8);
  p = policies();
  ASSERT_EQ(p.size(), 2u);
  for (const auto& x : p) {
    EXPECT_EQ(x.tmpls.at(0).reqid, t.reqid);
    EXPECT_EQ(x.mark_value, 0x20u) << x.to_string();
  }
  // Removing the trap finds its marked policies (the kernel needs the mark to find them).
  ASSERT_TRUE((*b)->remove_trap(t.reqid).ok());
  EXPECT_TRUE(policies().empty());
}
