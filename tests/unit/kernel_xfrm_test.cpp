// The XFRM backend against the real kernel, inside a fresh network namespace of its own (so the
// host's XFRM state is never touched). Needs root; skipped otherwise. Where the kernel refuses ESP
// states (no ESP support), the SA checks are skipped with the kernel's words and the policy checks
// still run: policies do not need their SAs to exist.
#include <gtest/gtest.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/wire/constants.hpp"
#include "kernel/xfrm_algorithms.hpp"
#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "tests/unit/fresh_netns.hpp"
#include "kernel/xfrm_selectors.hpp"

using namespace aike;

// The read-back helpers use libnl's own policy cache (independent of the backend's dump code), and
// libnl 3.7's xfrmnl_sp_parse leaks every address it builds. Full stacks let LeakSanitizer name
// that function, and only leaks through it are suppressed.
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:xfrmnl_sp_parse\n"; }

namespace {

// Moves the test process into a new, empty network namespace with lo up; returns why not ("" = done).
// Every kernel test calls it first, so each test starts from an empty SPD and SAD of its own and
// the host's XFRM state is never touched.
using test::enter_fresh_netns;

struct seen_policy {
  int dir = -1;
  std::uint32_t priority = 0;
  std::string src, dst;  // "10.1.0.0/24"
  int ntmpl = 0;
  std::uint32_t reqid = 0;
  int tmpl_proto = 0, tmpl_mode = -1;
  std::string tmpl_src, tmpl_dst;
};

std::string addr_str(nl_addr* a, int prefix) {
  char buf[128];
  nl_addr2str(a, buf, sizeof buf);
  std::string s = buf;
  if (auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  return prefix >= 0 ? s + "/" + std::to_string(prefix) : s;
}

// Dumps one kernel table through libnl on a socket of its own, independent of the backend's.
template <class Object, class F>
void for_each_kernel(int (*alloc)(nl_sock*, nl_cache**), F f) {
  nl_sock* sk = nl_socket_alloc();
  EXPECT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  nl_cache* cache = nullptr;
  EXPECT_EQ(alloc(sk, &cache), 0);
  for (nl_object* o = cache ? nl_cache_get_first(cache) : nullptr; o; o = nl_cache_get_next(o))
    f(reinterpret_cast<Object*>(o));
  if (cache) nl_cache_free(cache);
  nl_socket_free(sk);
}

// Reads the kernel's policies back through libnl.
std::vector<seen_policy> read_policies() {
  std::vector<seen_policy> out;
  for_each_kernel<xfrmnl_sp>(xfrmnl_sp_alloc_cache, [&](xfrmnl_sp* sp) {
    seen_policy p;
    p.dir = xfrmnl_sp_get_dir(sp);
    if (p.dir >= XFRM_POLICY_MAX) return;  // socket policies
    p.priority = static_cast<std::uint32_t>(xfrmnl_sp_get_priority(sp));
    xfrmnl_sel* sel = xfrmnl_sp_get_sel(sp);
    p.src = addr_str(xfrmnl_sel_get_saddr(sel), xfrmnl_sel_get_prefixlen_s(sel));
    p.dst = addr_str(xfrmnl_sel_get_daddr(sel), xfrmnl_sel_get_prefixlen_d(sel));
    p.ntmpl = xfrmnl_sp_get_nusertemplates(sp);
    if (p.ntmpl > 0) {
      xfrmnl_user_tmpl* t = xfrmnl_sp_usertemplate_n(sp, 0);
      p.reqid = static_cast<std::uint32_t>(xfrmnl_user_tmpl_get_reqid(t));
      p.tmpl_proto = xfrmnl_user_tmpl_get_proto(t);
      p.tmpl_mode = xfrmnl_user_tmpl_get_mode(t);
      p.tmpl_src = addr_str(xfrmnl_user_tmpl_get_saddr(t), -1);
      p.tmpl_dst = addr_str(xfrmnl_user_tmpl_get_daddr(t), -1);
    }
    out.push_back(p);
  });
  return out;
}

struct seen_sa {
  std::uint32_t spi = 0, reqid = 0;
  std::string dst;
  std::uint64_t soft_bytes = 0, hard_bytes = 0, soft_packets = 0, hard_packets = 0;
  unsigned encap_sport = 0, encap_dport = 0;  // 0 without UDP encapsulation
};

std::vector<seen_sa> read_sas() {
  std::vector<seen_sa> out;
  for_each_kernel<xfrmnl_sa>(xfrmnl_sa_alloc_cache, [&](xfrmnl_sa* sa) {
    seen_sa s{static_cast<std::uint32_t>(xfrmnl_sa_get_spi(sa)), static_cast<std::uint32_t>(xfrmnl_sa_get_reqid(sa)),
              addr_str(xfrmnl_sa_get_daddr(sa), -1)};
    if (xfrmnl_ltime_cfg* lt = xfrmnl_sa_get_lifetime_cfg(sa)) {
      s.soft_bytes = xfrmnl_ltime_cfg_get_soft_bytelimit(lt);
      s.hard_bytes = xfrmnl_ltime_cfg_get_hard_bytelimit(lt);
      s.soft_packets = xfrmnl_ltime_cfg_get_soft_packetlimit(lt);
      s.hard_packets = xfrmnl_ltime_cfg_get_hard_packetlimit(lt);
    }
    unsigned type = 0;
    nl_addr* oa = nullptr;
    (void)xfrmnl_sa_get_encap_tmpl(sa, &type, &s.encap_sport, &s.encap_dport, &oa);
    out.push_back(s);
  });
  return out;
}

// A policy of someone else: priority 100, no template, added through libnl directly.
void add_foreign_policy(const char* src, const char* dst, unsigned priority) {
  nl_sock* sk = nl_socket_alloc();
  ASSERT_EQ(nl_connect(sk, NETLINK_XFRM), 0);
  xfrmnl_sp* sp = xfrmnl_sp_alloc();
  xfrmnl_sel* sel = xfrmnl_sel_alloc();
  nl_addr *s = nullptr, *d = nullptr;
  ASSERT_EQ(nl_addr_parse(src, AF_INET, &s), 0);
  ASSERT_EQ(nl_addr_parse(dst, AF_INET, &d), 0);
  xfrmnl_sel_set_saddr(sel, s);
  xfrmnl_sel_set_daddr(sel, d);
  xfrmnl_sel_set_prefixlen_s(sel, nl_addr_get_prefixlen(s));
  xfrmnl_sel_set_prefixlen_d(sel, nl_addr_get_prefixlen(d));
  xfrmnl_sel_set_family(sel, AF_INET);
  xfrmnl_sp_set_sel(sp, sel);
  xfrmnl_sp_set_dir(sp, XFRM_POLICY_OUT);
  xfrmnl_sp_set_priority(sp, priority);
  xfrmnl_sp_set_action(sp, XFRM_POLICY_ALLOW);
  EXPECT_EQ(xfrmnl_sp_add(sk, sp, 0), 0);
  xfrmnl_sel_put(sel);
  xfrmnl_sp_put(sp);
  nl_addr_put(s);
  nl_addr_put(d);
  nl_socket_free(sk);
}

wire::proposal gcm256() {
  wire::proposal p;
  p.protocol = wire::protocol_id::esp;
  wire::transform t;
  t.type = wire::transform_type::encr;
  t.id = wire::encr::aes_gcm_16;
  t.attributes.push_back({wire::attr_key_length, true, 256, {}});
  p.transforms.push_back(t);
  p.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  return p;
}

kernel::child_install make_child(std::uint32_t id, std::vector<const char*> local, std::vector<const char*> remote,
                                 sa::child_mode mode = sa::child_mode::tunnel) {
  kernel::child_install c;
  c.ike_id = 1;
  c.connection = "site";
  c.child.id = id;
  c.child.name = "net";
  c.child.mode = mode;
  c.child.reqid = kernel::reqid_at(id);
  c.child.spi_in = 0xc0000100u + id;
  c.child.spi_out = 0xc0000200u + id;
  c.child.proposal = gcm256();
  for (auto* s : local) c.child.local_ts.push_back(*ts::selector::parse(s));
  for (auto* s : remote) c.child.remote_ts.push_back(*ts::selector::parse(s));
  c.child.encr_in = bytes(36, 0x11);
  c.child.encr_out = bytes(36, 0x22);
  c.local.addr = *ip_address::parse("192.0.2.1");
  c.remote.addr = *ip_address::parse("192.0.2.2");
  c.local.port = c.remote.port = 4500;
  return c;
}

std::vector<seen_policy> owned(const std::vector<seen_policy>& all) {
  std::vector<seen_policy> out;
  for (const auto& p : all)
    if (kernel::owns_policy_priority(p.priority)) out.push_back(p);
  return out;
}

std::unique_ptr<kernel::xfrm_backend> open_backend() {
  auto b = kernel::xfrm_backend::open();
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.err().message);
  return b.ok() ? std::move(*b) : nullptr;
}

}  // namespace

// --- pure parts ----------------------------------------------------------------------------------

TEST(XfrmSelectors, RangesBecomePrefixesAndPortMasks) {
  auto a = *ts::selector::parse("10.0.0.1-10.0.0.6");
  auto p = kernel::range_to_prefixes(a.start, a.end, false);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].second, 32u);
  EXPECT_EQ(p[1].second, 31u);
  EXPECT_EQ(p[1].first[3], 2);
  EXPECT_EQ(p[2].second, 31u);
  EXPECT_EQ(p[3].first[3], 6);
  auto all = *ts::selector::parse("0.0.0.0/0");
  auto q = kernel::range_to_prefixes(all.start, all.end, false);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].second, 0u);
  auto all6 = *ts::selector::parse("::/0");
  ASSERT_EQ(kernel::range_to_prefixes(all6.start, all6.end, true).size(), 1u);
  EXPECT_EQ(kernel::range_to_prefixes(all6.start, all6.end, true)[0].second, 0u);

  auto m = kernel::range_to_masks(1000, 1003);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], std::make_pair(std::uint16_t{1000}, std::uint16_t{0xfffc}));
  EXPECT_EQ(kernel::range_to_masks(0, 65535), (std::vector<std::pair<std::uint16_t, std::uint16_t>>{{0, 0}}));
  EXPECT_EQ(kernel::range_to_masks(80, 80).size(), 1u);
  EXPECT_EQ(kernel::range_to_masks(1, 65534).size(), 30u);

  auto k = kernel::to_kernel_selectors(*ts::selector::parse("10.1.0.0/24[tcp/80]"), *ts::selector::parse("10.2.0.0/16"));
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(k->size(), 1u);
  EXPECT_EQ((*k)[0].protocol, IPPROTO_TCP);
  EXPECT_EQ((*k)[0].src.port, 80);
  EXPECT_EQ((*k)[0].src.port_mask, 0xffff);
  EXPECT_EQ((*k)[0].dst.port_mask, 0);
  EXPECT_FALSE(kernel::to_kernel_selectors(*ts::selector::parse("10.1.0.0/24"), *ts::selector::parse("::/0")).ok());
  auto many = kernel::to_kernel_selectors(*ts::selector::parse("10.0.0.1-10.0.255.254"),
                                          *ts::selector::parse("10.9.0.1-10.9.255.254"));
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.err().message.find("kernel policies"), std::string::npos);
}

TEST(XfrmOwnership, PriorityPutsSpecificSelectorsFirstInsideTheBand) {
  using kernel::selector_shape;
  auto prio = [](selector_shape s) { return kernel::policy_priority(kernel::policy_kind::ipsec, s); };
  selector_shape host{false, 32, 32, true, true, true};
  selector_shape net24{false, 24, 24, true, true, true};
  selector_shape net16{false, 16, 24, true, true, true};
  selector_shape any{false, 0, 0, true, true, true};
  selector_shape tcp80 = net24;
  tcp80.any_protocol = false;
  tcp80.any_dst_port = false;
  EXPECT_LT(prio(host), prio(net24));
  EXPECT_LT(prio(net24), prio(net16));
  EXPECT_LT(prio(net16), prio(any));
  EXPECT_LT(prio(tcp80), prio(net24));
  selector_shape host6{true, 128, 128, true, true, true};
  EXPECT_EQ(prio(host6), prio(host));
  for (auto s : {host, net24, net16, any, tcp80, host6}) EXPECT_TRUE(kernel::owns_policy_priority(prio(s)));
  EXPECT_LT(kernel::policy_priority(kernel::policy_kind::ipsec, any),
            kernel::policy_priority(kernel::policy_kind::trap, host));
  EXPECT_FALSE(kernel::owns_policy_priority(0));
  EXPECT_FALSE(kernel::owns_policy_priority(kernel::policy_priority_first + kernel::policy_priority_span));
  EXPECT_TRUE(kernel::owns_reqid(kernel::reqid_at(0)));
  EXPECT_TRUE(kernel::owns_reqid(kernel::reqid_at(0xffffffffu)));
  EXPECT_FALSE(kernel::owns_reqid(1));
}

TEST(XfrmAlgorithms, NegotiatedTransformsMapToLinuxNames) {
  auto g = kernel::map_esp_proposal(gcm256(), 36, 0);
  ASSERT_TRUE(g.ok()) << g.err().message;
  EXPECT_TRUE(g->aead);
  EXPECT_EQ(g->aead_name, "rfc4106(gcm(aes))");
  EXPECT_EQ(g->aead_key_bits, 288u);
  EXPECT_EQ(g->icv_bits, 128u);

  wire::proposal cbc;
  cbc.protocol = wire::protocol_id::esp;
  cbc.transforms.push_back({wire::transform_type::encr, wire::encr::aes_cbc, {{wire::attr_key_length, true, 128, {}}}});
  cbc.transforms.push_back({wire::transform_type::integ, wire::integ::hmac_sha2_256_128, {}});
  cbc.transforms.push_back({wire::transform_type::esn, wire::esn::yes, {}});
  auto c = kernel::map_esp_proposal(cbc, 16, 32);
  ASSERT_TRUE(c.ok()) << c.err().message;
  EXPECT_FALSE(c->aead);
  EXPECT_EQ(c->cipher_name, "cbc(aes)");
  EXPECT_EQ(c->cipher_key_bits, 128u);
  EXPECT_EQ(c->auth_name, "hmac(sha256)");
  EXPECT_EQ(c->auth_trunc_bits, 128u);
  EXPECT_TRUE(c->esn);

  EXPECT_FALSE(kernel::map_esp_proposal(cbc, 32, 32).ok());   // key does not fit AES-128
  EXPECT_FALSE(kernel::map_esp_proposal(gcm256(), 32, 0).ok());  // salt missing
  wire::proposal bare;
  bare.transforms.push_back({wire::transform_type::encr, wire::encr::aes_cbc, {{wire::attr_key_length, true, 128, {}}}});
  EXPECT_FALSE(kernel::map_esp_proposal(bare, 16, 0).ok());  // CBC without integrity
  wire::proposal cha;
  cha.transforms.push_back({wire::transform_type::encr, wire::encr::chacha20_poly1305, {}});
  auto ch = kernel::map_esp_proposal(cha, 36, 0);
  ASSERT_TRUE(ch.ok()) << ch.err().message;
  EXPECT_EQ(ch->aead_name, "rfc7539esp(chacha20,poly1305)");
}

// --- against the kernel --------------------------------------------------------------------------

TEST(XfrmBackend, TwoLocalSubnetsGetAllPoliciesWithOneReqid) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->start(false).ok());
  auto c = make_child(7, {"10.1.0.0/24", "10.1.1.0/24"}, {"10.2.0.0/24"});
  auto r = b->install(c);
  auto esp = kernel::probe_esp();
  if (esp.esp) {
    EXPECT_TRUE(r.ok()) << r.err().message;
  } else {
    // Fail closed: the SAs are missing, the error says why, the policies stay.
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.err().message.find("ESP SA"), std::string::npos) << r.err().message;
    auto l = b->list();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_FALSE(l[0].kernel_error.empty());
  }
  auto pols = owned(read_policies());
  ASSERT_EQ(pols.size(), 6u);  // 2 pairs × (out, in, fwd)
  int out = 0, in = 0, fwd = 0;
  for (const auto& p : pols) {
    EXPECT_EQ(p.ntmpl, 1);
    EXPECT_EQ(p.reqid, c.child.reqid) << "policy " << p.src << " -> " << p.dst;
    EXPECT_EQ(p.tmpl_proto, IPPROTO_ESP);
    EXPECT_EQ(p.tmpl_mode, XFRM_MODE_TUNNEL);
    if (p.dir == XFRM_POLICY_OUT) {
      ++out;
      EXPECT_TRUE(p.src == "10.1.0.0/24" || p.src == "10.1.1.0/24") << p.src;
      EXPECT_EQ(p.dst, "10.2.0.0/24");
      EXPECT_EQ(p.tmpl_src, "192.0.2.1");
      EXPECT_EQ(p.tmpl_dst, "192.0.2.2");
    } else {
      p.dir == XFRM_POLICY_IN ? ++in : ++fwd;
      EXPECT_EQ(p.src, "10.2.0.0/24");
      EXPECT_TRUE(p.dst == "10.1.0.0/24" || p.dst == "10.1.1.0/24") << p.dst;
      EXPECT_EQ(p.tmpl_src, "192.0.2.2");
      EXPECT_EQ(p.tmpl_dst, "192.0.2.1");
    }
  }
  EXPECT_EQ(out, 2);
  EXPECT_EQ(in, 2);
  EXPECT_EQ(fwd, 2);

  EXPECT_TRUE(b->remove(7).ok());
  EXPECT_TRUE(owned(read_policies()).empty());
  EXPECT_TRUE(b->list().empty());
  EXPECT_TRUE(b->remove(7).ok());  // removing what is not there is not an error
}

TEST(XfrmBackend, MoreSpecificSelectorsGetLowerPriorities) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = make_child(8, {"10.1.0.0/16", "10.1.2.0/24"}, {"10.2.0.0/24"});
  (void)b->install(c);
  auto pols = owned(read_policies());
  ASSERT_EQ(pols.size(), 6u);
  std::uint32_t wide = 0, narrow = 0;
  for (const auto& p : pols)
    if (p.dir == XFRM_POLICY_OUT) (p.src == "10.1.0.0/16" ? wide : narrow) = p.priority;
  ASSERT_NE(wide, 0u);
  ASSERT_NE(narrow, 0u);
  EXPECT_LT(narrow, wide);
}

TEST(XfrmBackend, TransportModeHasNoForwardPolicies) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = make_child(9, {"192.0.2.1/32"}, {"192.0.2.2/32"}, sa::child_mode::transport);
  (void)b->install(c);
  auto pols = owned(read_policies());
  ASSERT_EQ(pols.size(), 2u);
  for (const auto& p : pols) {
    EXPECT_NE(p.dir, XFRM_POLICY_FWD);
    EXPECT_EQ(p.tmpl_mode, XFRM_MODE_TRANSPORT);
  }
}

TEST(XfrmBackend, ACleanStopRemovesEverything) {
  REQUIRE_NETNS();
  {
    auto b = open_backend();
    ASSERT_TRUE(b);
    (void)b->install(make_child(10, {"10.1.0.0/24"}, {"10.2.0.0/24"}));
    (void)b->install(make_child(11, {"10.3.0.0/24"}, {"10.4.0.0/24"}));
    EXPECT_EQ(owned(read_policies()).size(), 6u);
  }
  EXPECT_TRUE(owned(read_policies()).empty());
  EXPECT_TRUE(read_sas().empty());
}

TEST(XfrmBackend, ReconcileRemovesWhatAikeLeftAndKeepsForeignPolicies) {
  REQUIRE_NETNS();
  add_foreign_policy("10.9.0.0/24", "10.8.0.0/24", 100);
  {
    auto crashed = open_backend();
    ASSERT_TRUE(crashed);
    (void)crashed->install(make_child(12, {"10.1.0.0/24", "10.1.1.0/24"}, {"10.2.0.0/24"}));
    crashed->abandon();  // what kill -9 leaves behind
  }
  ASSERT_EQ(owned(read_policies()).size(), 6u);
  ASSERT_EQ(read_policies().size(), 7u);

  auto b = open_backend();
  ASSERT_TRUE(b);
  auto lines = b->start(false);
  ASSERT_TRUE(lines.ok()) << lines.err().message;
  ASSERT_FALSE(lines->empty());
  EXPECT_NE((*lines)[0].find("removed 6 policies"), std::string::npos) << (*lines)[0];
  auto left = read_policies();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].priority, 100u);
  EXPECT_EQ(left[0].src, "10.9.0.0/24");

  // What the running backend holds itself is not stale.
  (void)b->install(make_child(13, {"10.1.0.0/24"}, {"10.2.0.0/24"}));
  auto again = b->reconcile();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->policies_removed, 0u);
  EXPECT_EQ(owned(read_policies()).size(), 3u);
}

// [kernel] reqid_range / policy_priority_base: a backend with other marks installs in its own
// band and, on start, removes only what lies in that band and range; the default band's policies
// (another aike's, as far as it knows) stay.
TEST(XfrmBackend, ReconcileRemovesOnlyTheConfiguredBand) {
  REQUIRE_NETNS();
  kernel::xfrm_ownership own;
  own.policy_priority_first = 2'000'000;
  own.reqid_first = 0x00100000;
  own.reqid_count = 0x1000;
  auto open_with = [&] {
    auto b = kernel::xfrm_backend::open(own);
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.err().message);
    return b.ok() ? std::move(*b) : nullptr;
  };
  auto in_band = [&] {
    unsigned n = 0;
    for (const auto& p : read_policies()) n += own.owns_policy_priority(p.priority) ? 1 : 0;
    return n;
  };
  {
    auto other = open_backend();  // the default marks
    ASSERT_TRUE(other);
    (void)other->install(make_child(20, {"10.1.0.0/24"}, {"10.2.0.0/24"}));
    other->abandon();
    auto crashed = open_with();
    ASSERT_TRUE(crashed);
    auto c = make_child(21, {"10.1.7.0/24"}, {"10.2.7.0/24"});
    c.child.reqid = own.reqid_at(21);
    (void)crashed->install(c);
    // A CHILD_SA whose reqid lies outside the configured range is refused.
    auto wrong = make_child(22, {"10.1.8.0/24"}, {"10.2.8.0/24"});
    EXPECT_FALSE(crashed->install(wrong).ok());
    crashed->abandon();
  }
  ASSERT_EQ(owned(read_policies()).size(), 3u);  // default band
  ASSERT_EQ(in_band(), 3u);                       // configured band
  for (const auto& p : read_policies())
    if (own.owns_policy_priority(p.priority)) {
      EXPECT_EQ(p.reqid, own.reqid_at(21));
      EXPECT_EQ(p.priority, kernel::policy_priority(kernel::policy_kind::ipsec, kernel::selector_shape{false, 24, 24}, own));
    }

  auto b = open_with();
  ASSERT_TRUE(b);
  auto lines = b->start(false);
  ASSERT_TRUE(lines.ok()) << lines.err().message;
  ASSERT_FALSE(lines->empty());
  EXPECT_NE((*lines)[0].find("removed 3 policies"), std::string::npos) << (*lines)[0];
  EXPECT_EQ(in_band(), 0u);
  auto left = owned(read_policies());
  ASSERT_EQ(left.size(), 3u);
  for (const auto& p : left) EXPECT_EQ(p.reqid, kernel::reqid_at(20));
}

TEST(XfrmBackend, FlushOnStartRemovesEveryonesState) {
  REQUIRE_NETNS();
  add_foreign_policy("10.9.0.0/24", "10.8.0.0/24", 100);
  {
    auto crashed = open_backend();
    ASSERT_TRUE(crashed);
    (void)crashed->install(make_child(14, {"10.1.0.0/24"}, {"10.2.0.0/24"}));
    crashed->abandon();
  }
  ASSERT_EQ(read_policies().size(), 4u);
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto lines = b->start(true);
  ASSERT_TRUE(lines.ok()) << lines.err().message;
  EXPECT_TRUE(read_policies().empty());
  EXPECT_TRUE(read_sas().empty());
}

TEST(XfrmBackend, ReservedSpiIsInRangeAndReleasedOnStop) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto spi = b->alloc_spi(*ip_address::parse("192.0.2.2"), *ip_address::parse("192.0.2.1"), kernel::reqid_at(20));
  ASSERT_TRUE(spi.ok()) << spi.err().message;
  EXPECT_GE(*spi, 0xc0000000u);
  EXPECT_LE(*spi, 0xcfffffffu);
  auto sas = read_sas();
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].spi, *spi);
  EXPECT_EQ(sas[0].reqid, kernel::reqid_at(20));
  b->stop();
  EXPECT_TRUE(read_sas().empty());
}

TEST(XfrmBackend, RefusesUnusableRequestsBeforeTouchingTheKernel) {
  REQUIRE_NETNS();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = make_child(15, {"10.1.0.0/24"}, {"10.2.0.0/24"});
  c.child.reqid = 1;  // outside aike's range: would not be recognised after a crash
  EXPECT_FALSE(b->install(c).ok());
  c = make_child(15, {"10.1.0.0/24"}, {"10.2.0.0/24"});
  c.child.encr_in = bytes(20, 1);  // wrong key size for AES-256-GCM
  auto r = b->install(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("key"), std::string::npos);
  EXPECT_TRUE(read_policies().empty());
}

TEST(XfrmBackend, SasCarryTheReqidOfThePolicies) {
  REQUIRE_NETNS();
  auto esp = kernel::probe_esp();
  ASSERT_TRUE(esp.xfrm) << esp.detail;
  if (!esp.esp) GTEST_SKIP() << "the kernel refuses ESP states: " << esp.detail;
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = make_child(16, {"10.1.0.0/24", "10.1.1.0/24"}, {"10.2.0.0/24"});
  c.child.encap = true;
  c.lifetime.soft_seconds = 3000;
  c.lifetime.hard_seconds = 3600;
  // rekey_bytes/life_bytes and rekey_packets/life_packets reach both states; 0 stays unlimited.
  c.lifetime.soft_bytes = 500000000;
  c.lifetime.hard_bytes = 550000000;
  c.lifetime.soft_packets = 190;
  c.lifetime.hard_packets = 220;
  c.replay_window = 128;
  auto r = b->install(c);
  ASSERT_TRUE(r.ok()) << r.err().message;
  auto sas = read_sas();
  ASSERT_EQ(sas.size(), 2u);
  for (const auto& s : sas) {
    EXPECT_EQ(s.reqid, c.child.reqid);
    EXPECT_EQ(s.soft_bytes, 500000000u);
    EXPECT_EQ(s.hard_bytes, 550000000u);
    EXPECT_EQ(s.soft_packets, 190u);
    EXPECT_EQ(s.hard_packets, 220u);
  }
  EXPECT_TRUE(b->remove(16).ok());
  EXPECT_TRUE(read_sas().empty());
}

// RFC 7296 §2.23: the peer's NAT mapping changed. A new port moves both SAs' encap (UPDSA); a new
// address is refused (it would need XFRM_MSG_MIGRATE) and nothing moves.
TEST(XfrmBackend, UpdateRemoteMovesTheEncapPortButNotTheAddress) {
  REQUIRE_NETNS();
  auto esp = kernel::probe_esp();
  auto b = open_backend();
  ASSERT_TRUE(b);
  auto c = make_child(17, {"10.1.0.0/24"}, {"10.2.0.0/24"});
  c.child.encap = true;
  auto r = b->install(c);
  if (esp.esp) {
    ASSERT_TRUE(r.ok()) << r.err().message;
  }
  auto elsewhere = c;
  elsewhere.remote.addr = *ip_address::parse("192.0.2.3");
  auto refused = b->update_remote(elsewhere);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.err().message.find("XFRM_MSG_MIGRATE"), std::string::npos) << refused.err().message;
  ASSERT_EQ(b->list().size(), 1u);
  EXPECT_EQ(b->list()[0].remote, c.remote);

  auto moved = c;
  moved.remote.port = 31337;
  auto ok = b->update_remote(moved);
  ASSERT_TRUE(ok.ok()) << ok.err().message;
  EXPECT_EQ(b->list()[0].remote, moved.remote);
  if (esp.esp) {
    auto sas = read_sas();
    ASSERT_EQ(sas.size(), 2u);
    for (const auto& s : sas) {
      if (s.spi == c.child.spi_out) {
        EXPECT_EQ(s.encap_sport, 4500u);
        EXPECT_EQ(s.encap_dport, 31337u);
      } else {
        EXPECT_EQ(s.encap_sport, 31337u);
        EXPECT_EQ(s.encap_dport, 4500u);
      }
    }
  }
  EXPECT_FALSE(b->update_remote(make_child(99, {"10.1.0.0/24"}, {"10.2.0.0/24"})).ok());  // not installed
  EXPECT_TRUE(b->remove(17).ok());
}
