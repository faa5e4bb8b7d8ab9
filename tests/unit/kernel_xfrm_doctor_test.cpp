// kernel/xfrm_doctor: every finding and the counter explanations, on fabricated kernel state.
#include <gtest/gtest.h>

#include "kernel/xfrm_doctor.hpp"
#include "kernel/xfrm_ownership.hpp"

using namespace aike;
using namespace aike::kernel;

namespace {

ip_address ip(const char* s) { return *ip_address::parse(s); }

xfrm_sel sel(const char* src, unsigned sp, const char* dst, unsigned dp) {
  xfrm_sel s;
  s.src = ip(src);
  s.dst = ip(dst);
  s.v6 = s.src.v6;
  s.src_prefix = sp;
  s.dst_prefix = dp;
  return s;
}

xfrm_policy_view policy(xfrm_dir d, xfrm_sel s, std::uint32_t reqid, std::uint32_t priority = 100) {
  xfrm_policy_view p;
  p.dir = d;
  p.sel = s;
  p.priority = priority;
  xfrm_tmpl_view t;
  t.src = ip("192.0.2.1");
  t.dst = ip("192.0.2.2");
  t.reqid = reqid;
  p.tmpls.push_back(t);
  return p;
}

xfrm_sa_view sa(std::uint32_t spi, std::uint32_t reqid) {
  xfrm_sa_view s;
  s.src = ip("192.0.2.1");
  s.dst = ip("192.0.2.2");
  s.spi = spi;
  s.reqid = reqid;
  return s;
}

doctor_input clean() {
  doctor_input in;
  in.counters = std::vector<xfrm_counter>{{"XfrmInError", 0}, {"XfrmInTmplMismatch", 0}};
  in.policies = std::vector<xfrm_policy_view>{};
  in.sas = std::vector<xfrm_sa_view>{};
  in.esp_supported = true;
  in.daemon.reachable = true;
  return in;
}

// A live CHILD_SA as list-sas describes it: its own reqid, SPIs and negotiated selectors.
daemon_child child(std::uint32_t reqid, std::uint32_t spi_in, std::uint32_t spi_out, const char* local,
                   const char* remote) {
  daemon_child c;
  c.reqid = reqid;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.local_ts.push_back(*ts::selector::parse(local));
  c.remote_ts.push_back(*ts::selector::parse(remote));
  return c;
}

std::vector<finding> of_kind(const doctor_report& r, const std::string& kind) {
  std::vector<finding> out;
  for (const auto& f : r.findings)
    if (f.kind == kind) out.push_back(f);
  return out;
}

}  // namespace

TEST(XfrmStat, ParsesTheProcFile) {
  auto c = parse_xfrm_stat("XfrmInError             \t0\nXfrmInTmplMismatch      \t395\n\ngarbage\nXfrmX 12x\n"
                           "XfrmOutNoStates 7");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].name, "XfrmInError");
  EXPECT_EQ(c[1].name, "XfrmInTmplMismatch");
  EXPECT_EQ(c[1].value, 395u);
  EXPECT_EQ(c[2].value, 7u);
}

TEST(XfrmStat, EveryCounterOfThisKernelGenerationIsExplained) {
  // The list /proc/net/xfrm_stat prints on Linux 6.18 (net/xfrm/xfrm_proc.c), in its order.
  const char* names[] = {"XfrmInError", "XfrmInBufferError", "XfrmInHdrError", "XfrmInNoStates",
                         "XfrmInStateProtoError", "XfrmInStateModeError", "XfrmInStateSeqError",
                         "XfrmInStateExpired", "XfrmInStateMismatch", "XfrmInStateInvalid", "XfrmInTmplMismatch",
                         "XfrmInNoPols", "XfrmInPolBlock", "XfrmInPolError", "XfrmOutError",
                         "XfrmOutBundleGenError", "XfrmOutBundleCheckError", "XfrmOutNoStates",
                         "XfrmOutStateProtoError", "XfrmOutStateModeError", "XfrmOutStateSeqError",
                         "XfrmOutStateExpired", "XfrmOutPolBlock", "XfrmOutPolDead", "XfrmOutPolError",
                         "XfrmFwdHdrError", "XfrmOutStateInvalid", "XfrmAcquireError", "XfrmOutStateDirError",
                         "XfrmInStateDirError", "XfrmInIptfsError", "XfrmOutNoQueueSpace"};
  for (const char* n : names) {
    const auto* e = explain_counter(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_GT(std::string(e->meaning).size(), 20u) << n;
    EXPECT_GT(std::string(e->check).size(), 20u) << n;
  }
  EXPECT_EQ(all_counter_explanations().size(), std::size(names));
  EXPECT_EQ(explain_counter("XfrmSomethingNew"), nullptr);
}

TEST(XfrmStat, TheCountersThatMatterSayWhatToCheck) {
  EXPECT_NE(std::string(explain_counter("XfrmInTmplMismatch")->meaning).find("template"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmInTmplMismatch")->check).find("reqid"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmInNoStates")->meaning).find("SPI"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmOutNoStates")->check).find("reqid"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmInStateProtoError")->meaning).find("integrity"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmInStateMismatch")->check).find("encapsulation"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmOutPolBlock")->meaning).find("block"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmInNoPols")->meaning).find("no inbound policy"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmAcquireError")->check).find("trap"), std::string::npos);
  EXPECT_NE(std::string(explain_counter("XfrmFwdHdrError")->check).find("fwd policy"), std::string::npos);
}

TEST(Doctor, CleanStateHasNoFindings) {
  auto r = diagnose(clean());
  EXPECT_TRUE(r.findings.empty());
  EXPECT_NE(render_text(r).find("no findings"), std::string::npos);
  EXPECT_EQ(render_json(r).rfind("{\"findings\":[]", 0), 0u);
}

TEST(Doctor, ExplainsOnlyNonZeroCounters) {
  auto in = clean();
  in.counters = std::vector<xfrm_counter>{{"XfrmInTmplMismatch", 395}, {"XfrmInNoStates", 0}, {"XfrmNew", 2}};
  auto r = diagnose(in);
  auto c = of_kind(r, "counter");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].subject, "XfrmInTmplMismatch");
  EXPECT_NE(c[0].what.find("395"), std::string::npos);
  EXPECT_NE(c[0].todo.find("reqid"), std::string::npos);
  EXPECT_NE(c[1].what.find("does not know"), std::string::npos);
}

TEST(Doctor, PolicyWhoseReqidHasNoSa) {
  auto in = clean();
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 7));
  in.policies->push_back(policy(xfrm_dir::in, sel("10.2.0.0", 24, "10.1.0.0", 24), 7));
  auto f = of_kind(diagnose(in), "policy-without-sa");
  ASSERT_EQ(f.size(), 1u);  // one finding per reqid
  EXPECT_EQ(f[0].subject, "reqid 7");
  EXPECT_EQ(f[0].level, severity::error);
  EXPECT_NE(f[0].what.find("out 10.1.0.0/24 -> 10.2.0.0/24"), std::string::npos);
  EXPECT_NE(f[0].what.find("in 10.2.0.0/24"), std::string::npos);

  in.sas->push_back(sa(0xc0000001, 7));
  EXPECT_TRUE(of_kind(diagnose(in), "policy-without-sa").empty());
}

TEST(Doctor, ReqidZeroTemplateIsMatchedByAddressAndProtocol) {
  auto in = clean();
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 0));
  EXPECT_EQ(of_kind(diagnose(in), "policy-without-sa").size(), 1u);
  in.sas->push_back(sa(0xc0000001, 99));  // same outer destination, any reqid
  auto r = diagnose(in);
  EXPECT_TRUE(of_kind(r, "policy-without-sa").empty());
  EXPECT_TRUE(of_kind(r, "sa-without-policy").empty());
}

TEST(Doctor, TrapPoliciesAreExpectedToHaveNoSa) {
  auto in = clean();
  selector_shape shape;
  auto prio = policy_priority(policy_kind::trap, shape);
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), reqid_at(3), prio));
  auto r = diagnose(in);
  EXPECT_TRUE(of_kind(r, "policy-without-sa").empty());
  EXPECT_TRUE(of_kind(r, "stale").empty());  // the running daemon does not list trap policies
}

TEST(Doctor, PassAndBlockPoliciesNeedNoSa) {
  auto in = clean();
  auto pass = policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 0);
  pass.tmpls.clear();
  in.policies->push_back(pass);
  auto block = policy(xfrm_dir::in, sel("10.2.0.0", 24, "10.1.0.0", 24), 9);
  block.block = true;
  in.policies->push_back(block);
  EXPECT_TRUE(diagnose(in).findings.empty());
}

TEST(Doctor, SaWithoutPolicy) {
  auto in = clean();
  in.sas->push_back(sa(0xc0000001, 11));
  in.sas->push_back(sa(0xc0000002, 11));
  auto f = of_kind(diagnose(in), "sa-without-policy");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].subject, "reqid 11");
  EXPECT_NE(f[0].what.find("0xc0000001"), std::string::npos);
  EXPECT_NE(f[0].what.find("0xc0000002"), std::string::npos);
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 11));
  EXPECT_TRUE(of_kind(diagnose(in), "sa-without-policy").empty());
}

TEST(Doctor, OverlappingSelectorsWithDifferentReqids) {
  auto in = clean();
  // Several subnets of one tunnel as separate CHILD_SAs: 10.1.0.0/16 and 10.1.5.0/24 to one remote.
  for (auto [local, prefix, reqid] : {std::tuple{"10.1.0.0", 16u, 1u}, std::tuple{"10.1.5.0", 24u, 2u}}) {
    in.policies->push_back(policy(xfrm_dir::out, sel(local, prefix, "10.2.0.0", 24), reqid));
    in.policies->push_back(policy(xfrm_dir::in, sel("10.2.0.0", 24, local, prefix), reqid));
    in.policies->push_back(policy(xfrm_dir::fwd, sel("10.2.0.0", 24, local, prefix), reqid));
    in.sas->push_back(sa(0xc0000000 + reqid, reqid));
  }
  auto r = diagnose(in);
  auto f = of_kind(r, "overlapping-reqids");
  ASSERT_EQ(f.size(), 1u);  // one per reqid pair, naming the directions
  EXPECT_EQ(f[0].subject, "reqids 1 and 2");
  EXPECT_EQ(f[0].level, severity::error);
  EXPECT_NE(f[0].what.find("out, in, fwd"), std::string::npos);
  EXPECT_NE(f[0].why.find("XfrmInTmplMismatch"), std::string::npos);
  EXPECT_NE(f[0].todo.find("one CHILD_SA"), std::string::npos);
  EXPECT_EQ(r.findings.size(), 1u);
}

TEST(Doctor, NoOverlapFindingForDisjointSameReqidOtherDirectionOrMark) {
  auto in = clean();
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 1));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.1.0", 24, "10.2.0.0", 24), 2));  // disjoint
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 25, "10.2.0.0", 24), 1));  // same reqid
  in.policies->push_back(policy(xfrm_dir::in, sel("10.1.0.0", 24, "10.2.0.0", 24), 3));   // other direction
  auto marked = policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 4);
  marked.mark_value = 1;
  marked.mark_mask = 0xff;
  auto marked2 = marked;
  marked2.mark_value = 2;
  marked2.tmpls[0].reqid = 5;
  in.policies->push_back(marked);
  in.policies->push_back(marked2);  // overlaps `marked` but never matches the same packet
  for (std::uint32_t r = 1; r <= 5; ++r) in.sas->push_back(sa(0xc0000000 + r, r));
  auto f = of_kind(diagnose(in), "overlapping-reqids");
  // Only the unmarked reqid-1 policies overlap the marked ones (no mark matches every packet);
  // marks 1 and 2 never meet, and 10.1.1.0/24, the in policy and reqid 1's own /25 do not count.
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].subject, "reqids 1 and 4");
  EXPECT_EQ(f[1].subject, "reqids 1 and 5");
}

TEST(Doctor, SelectorOverlapRules) {
  auto a = sel("10.1.0.0", 16, "10.2.0.0", 24);
  EXPECT_TRUE(selectors_overlap(a, sel("10.1.200.0", 24, "10.2.0.7", 32)));
  EXPECT_FALSE(selectors_overlap(a, sel("10.3.0.0", 16, "10.2.0.0", 24)));
  EXPECT_FALSE(selectors_overlap(a, sel("10.1.0.0", 16, "10.2.1.0", 24)));
  EXPECT_TRUE(selectors_overlap(a, sel("0.0.0.0", 0, "0.0.0.0", 0)));
  EXPECT_FALSE(selectors_overlap(a, sel("::", 0, "::", 0)));
  auto tcp = a, udp = a;
  tcp.proto = 6;
  udp.proto = 17;
  EXPECT_FALSE(selectors_overlap(tcp, udp));
  EXPECT_TRUE(selectors_overlap(tcp, a));
  auto p80 = tcp, p443 = tcp;
  p80.dport = 80;
  p80.dport_mask = 0xffff;
  p443.dport = 443;
  p443.dport_mask = 0xffff;
  EXPECT_FALSE(selectors_overlap(p80, p443));
  EXPECT_TRUE(selectors_overlap(p80, tcp));
}

TEST(Doctor, StaleAikeStateTheDaemonDoesNotOwn) {
  auto in = clean();
  selector_shape shape;
  auto prio = policy_priority(policy_kind::ipsec, shape);
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), reqid_at(1), prio));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.9.0", 24, "10.2.9.0", 24), reqid_at(2), prio));
  in.sas->push_back(sa(0xc0000001, reqid_at(1)));
  in.sas->push_back(sa(0xc0000002, reqid_at(2)));
  in.sas->push_back(sa(0xc0000003, 42));  // someone else's, not aike's
  in.policies->push_back(policy(xfrm_dir::out, sel("10.7.0.0", 24, "10.8.0.0", 24), 42));
  daemon_child held;
  held.reqid = reqid_at(1);
  in.daemon.children.push_back(held);
  auto f = of_kind(diagnose(in), "stale");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].what.find("reqid " + std::to_string(reqid_at(2))), std::string::npos);
  EXPECT_EQ(f[0].what.find("reqid " + std::to_string(reqid_at(1))), std::string::npos);
  EXPECT_EQ(f[0].what.find("reqid 42"), std::string::npos);
  EXPECT_NE(f[0].todo.find("restart aiked"), std::string::npos);

  in.daemon.children.front().reqid = reqid_at(2);
  in.daemon.children.push_back(held);
  EXPECT_TRUE(of_kind(diagnose(in), "stale").empty());
}

// A daemon with `[kernel] reqid_range` / `policy_priority_base` of its own: state in its band is
// judged as its own, state in the default band (someone else's now) is not aike's.
TEST(Doctor, StaleIsJudgedByTheDaemonsConfiguredBand) {
  xfrm_ownership own;
  own.reqid_first = 0x00100000;
  own.reqid_count = 0x1000;
  own.policy_priority_first = 2'000'000;
  auto prio = policy_priority(policy_kind::ipsec, selector_shape{}, own);
  auto in = clean();
  in.daemon.ownership = own;
  daemon_child held;
  held.reqid = own.reqid_at(1);
  in.daemon.children.push_back(held);
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), own.reqid_at(1), prio));
  in.sas->push_back(sa(0xc0000001, own.reqid_at(1)));
  // Not held by the daemon, in its band and range: stale.
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.9.0", 24, "10.2.9.0", 24), own.reqid_at(2), prio));
  in.sas->push_back(sa(0xc0000002, own.reqid_at(2)));
  // In the default band and range, which this daemon does not use: not aike's.
  in.policies->push_back(policy(xfrm_dir::out, sel("10.5.0.0", 24, "10.6.0.0", 24), reqid_at(3),
                                policy_priority(policy_kind::ipsec, selector_shape{})));
  in.sas->push_back(sa(0xc0000003, reqid_at(3)));
  auto r = diagnose(in);
  auto f = of_kind(r, "stale");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].what.find("reqid " + std::to_string(own.reqid_at(2))), std::string::npos) << f[0].what;
  EXPECT_EQ(f[0].what.find("reqid " + std::to_string(own.reqid_at(1))), std::string::npos) << f[0].what;
  EXPECT_EQ(f[0].what.find("reqid " + std::to_string(reqid_at(3))), std::string::npos) << f[0].what;
  EXPECT_NE(render_text(r).find("0x00100000-0x00100fff or a policy priority in 2000000-2065535 (aiked's"),
            std::string::npos)
      << render_text(r);

  // --reqid-range replaces the range: the default one's SA is now aike's and stale.
  in.reqid_override = reqid_span{reqid_first, reqid_count};
  f = of_kind(diagnose(in), "stale");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].what.find("reqid " + std::to_string(reqid_at(3))), std::string::npos) << f[0].what;
  EXPECT_NE(render_text(diagnose(in)).find("the reqid range from --reqid-range"), std::string::npos);
}

// The shared-reqid case (kernel/shared_reqids.hpp): CHILD_SA reqid_at(2), made by the peer's
// make-before-break reauthentication, found all its policies installed by CHILD_SA reqid_at(1) and
// took reqid_at(1) as its kernel reqid for its SAs; then reqid_at(1) went. Its SAs (by SPI), its
// policies (by the held SAs' reqid, or by its selectors when there are no SAs) are not stale.
TEST(Doctor, ChildSaWithAnotherGoneChildSasKernelReqidIsNotStale) {
  auto prio = policy_priority(policy_kind::ipsec, selector_shape{});
  auto in = clean();
  in.daemon.children.push_back(child(reqid_at(2), 0xc0000011, 0xc0000012, "10.1.0.0/24", "10.2.0.0/24"));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), reqid_at(1), prio));
  in.policies->push_back(policy(xfrm_dir::in, sel("10.2.0.0", 24, "10.1.0.0", 24), reqid_at(1), prio));
  in.policies->push_back(policy(xfrm_dir::fwd, sel("10.2.0.0", 24, "10.1.0.0", 24), reqid_at(1), prio));
  in.sas->push_back(sa(0xc0000011, reqid_at(1)));
  in.sas->push_back(sa(0xc0000012, reqid_at(1)));
  EXPECT_TRUE(of_kind(diagnose(in), "stale").empty()) << render_text(diagnose(in));

  // Without selectors in the daemon's view the policies are held through the held SAs' reqid.
  auto no_ts = in;
  no_ts.daemon.children.front().local_ts.clear();
  no_ts.daemon.children.front().remote_ts.clear();
  EXPECT_TRUE(of_kind(diagnose(no_ts), "stale").empty()) << render_text(diagnose(no_ts));

  // A kernel without ESP states: no SAs at all, the selectors hold the policies.
  auto no_esp = in;
  no_esp.sas->clear();
  no_esp.esp_supported = false;
  no_esp.esp_detail = "Requested type not found";
  EXPECT_TRUE(of_kind(diagnose(no_esp), "stale").empty()) << render_text(diagnose(no_esp));
}

// Next to such a CHILD_SA, what none of SPI, reqid or selectors ties to a live CHILD_SA is still
// stale — including an SA with the shared kernel reqid whose SPI no live CHILD_SA has.
TEST(Doctor, StateWithNeitherSpiReqidNorSelectorsOfALiveChildSaIsStale) {
  auto prio = policy_priority(policy_kind::ipsec, selector_shape{});
  auto in = clean();
  in.daemon.children.push_back(child(reqid_at(2), 0xc0000011, 0xc0000012, "10.1.0.0/24", "10.2.0.0/24"));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), reqid_at(1), prio));
  in.sas->push_back(sa(0xc0000011, reqid_at(1)));
  in.sas->push_back(sa(0xc0000012, reqid_at(1)));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.9.0", 24, "10.2.9.0", 24), reqid_at(3), prio));
  in.sas->push_back(sa(0xc0000099, reqid_at(3)));
  in.sas->push_back(sa(0xc0000077, reqid_at(1)));  // the gone CHILD_SA's SA, left behind
  auto f = of_kind(diagnose(in), "stale");
  ASSERT_EQ(f.size(), 1u);
  const auto& w = f[0].what;
  EXPECT_NE(w.find("10.1.9.0/24 -> 10.2.9.0/24"), std::string::npos) << w;
  EXPECT_NE(w.find("0xc0000099"), std::string::npos) << w;
  EXPECT_NE(w.find("0xc0000077"), std::string::npos) << w;
  EXPECT_EQ(w.find("10.1.0.0/24 -> 10.2.0.0/24"), std::string::npos) << w;
  EXPECT_EQ(w.find("0xc0000011"), std::string::npos) << w;
  EXPECT_EQ(w.find("0xc0000012"), std::string::npos) << w;
  EXPECT_NE(w.find("1 policies in aike's priority band"), std::string::npos) << w;
  EXPECT_NE(w.find("2 SAs with a reqid in aike's range"), std::string::npos) << w;
  EXPECT_NE(w.find("no CHILD_SA of the running aiked has their SPI, reqid or selectors"), std::string::npos) << w;
}

// Selectors hold a policy only as the backend installs them: out local -> remote, in/fwd remote ->
// local, with the same prefixes, protocol and ports. Kernel without ESP, so no SA reqid helps.
TEST(Doctor, SelectorsInTheWrongDirectionOrWithOtherPrefixesDoNotHoldAPolicy) {
  auto prio = policy_priority(policy_kind::ipsec, selector_shape{});
  auto base = clean();
  base.esp_supported = false;
  base.esp_detail = "Requested type not found";
  base.daemon.children.push_back(child(reqid_at(2), 0xc0000011, 0xc0000012, "10.1.0.0/24", "10.2.0.0/24[tcp/443]"));
  auto tcp443 = [](xfrm_sel s, bool to_remote) {
    s.proto = 6;
    (to_remote ? s.dport : s.sport) = 443;
    (to_remote ? s.dport_mask : s.sport_mask) = 0xffff;
    return s;
  };
  // What the backend installs for it: held, although the templates name the gone reqid_at(1).
  auto held = base;
  held.policies->push_back(policy(xfrm_dir::out, tcp443(sel("10.1.0.0", 24, "10.2.0.0", 24), true), reqid_at(1), prio));
  held.policies->push_back(policy(xfrm_dir::in, tcp443(sel("10.2.0.0", 24, "10.1.0.0", 24), false), reqid_at(1), prio));
  held.policies->push_back(policy(xfrm_dir::fwd, tcp443(sel("10.2.0.0", 24, "10.1.0.0", 24), false), reqid_at(1), prio));
  EXPECT_TRUE(of_kind(diagnose(held), "stale").empty()) << render_text(diagnose(held));

  struct bad_case {
    const char* what;
    xfrm_dir dir;
    xfrm_sel sel;
  };
  auto any_proto = sel("10.1.0.0", 24, "10.2.0.0", 24);
  auto port80 = tcp443(sel("10.1.0.0", 24, "10.2.0.0", 24), true);
  port80.dport = 80;
  auto src_port = tcp443(sel("10.1.0.0", 24, "10.2.0.0", 24), false);
  const bad_case bad[] = {
      {"out, reversed", xfrm_dir::out, tcp443(sel("10.2.0.0", 24, "10.1.0.0", 24), false)},
      {"in, not reversed", xfrm_dir::in, tcp443(sel("10.1.0.0", 24, "10.2.0.0", 24), true)},
      {"fwd, not reversed", xfrm_dir::fwd, tcp443(sel("10.1.0.0", 24, "10.2.0.0", 24), true)},
      {"out, narrower source", xfrm_dir::out, tcp443(sel("10.1.0.0", 25, "10.2.0.0", 24), true)},
      {"out, wider source", xfrm_dir::out, tcp443(sel("10.1.0.0", 16, "10.2.0.0", 24), true)},
      {"out, other destination", xfrm_dir::out, tcp443(sel("10.1.0.0", 24, "10.2.1.0", 24), true)},
      {"out, any protocol", xfrm_dir::out, any_proto},
      {"out, other port", xfrm_dir::out, port80},
      {"out, port on the wrong side", xfrm_dir::out, src_port},
  };
  for (const auto& b : bad) {
    auto in = held;
    in.policies->push_back(policy(b.dir, b.sel, reqid_at(1), prio));
    auto f = of_kind(diagnose(in), "stale");
    ASSERT_EQ(f.size(), 1u) << b.what << ": " << render_text(diagnose(in));
    EXPECT_NE(f[0].what.find("1 policies in aike's priority band: " + in.policies->back().to_string()),
              std::string::npos)
        << b.what << ": " << f[0].what;
  }
}

TEST(Doctor, WithoutTheDaemonTheDefaultBandIsUsedAndSaidSo) {
  auto in = clean();
  in.daemon = daemon_view{};
  in.daemon.why_not = "cannot reach aiked";
  auto c = effective_ownership(in);
  EXPECT_EQ(c.own, default_ownership);
  EXPECT_NE(c.from.find("the defaults: aiked did not answer"), std::string::npos) << c.from;
  EXPECT_NE(render_text(diagnose(in)).find("the defaults: aiked did not answer"), std::string::npos);
}

TEST(Doctor, WithoutTheDaemonAikeStateIsSuspectAndSaidSo) {
  auto in = clean();
  in.daemon = daemon_view{};
  in.daemon.why_not = "cannot reach aiked at 127.0.0.1:4510";
  auto r = diagnose(in);
  EXPECT_TRUE(r.findings.empty());
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(render_text(r).find("aiked did not answer (cannot reach aiked"), std::string::npos);

  in.sas->push_back(sa(0xc0000001, reqid_at(5)));
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), reqid_at(5),
                                policy_priority(policy_kind::ipsec, selector_shape{})));
  auto f = of_kind(diagnose(in), "stale");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].what.find("no aiked answered"), std::string::npos);
}

TEST(Doctor, UnreadableKernelStateIsAFinding) {
  doctor_input in;
  in.counters_error = "/proc/net/xfrm_stat: No such file or directory";
  in.policies_error = "Operation not permitted";
  in.sas_error = "Operation not permitted";
  auto r = diagnose(in);
  EXPECT_EQ(of_kind(r, "kernel-unreadable").size(), 3u);
  EXPECT_NE(r.findings[1].todo.find("CAP_NET_ADMIN"), std::string::npos);
}

TEST(Doctor, KernelWithoutEspIsExplained) {
  auto in = clean();
  in.esp_supported = false;
  in.esp_detail = "Requested type not found";
  in.policies->push_back(policy(xfrm_dir::out, sel("10.1.0.0", 24, "10.2.0.0", 24), 7));
  auto r = diagnose(in);
  auto f = of_kind(r, "policy-without-sa");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].why.find("refuses ESP states (Requested type not found)"), std::string::npos);
  bool noted = false;
  for (const auto& n : r.notes) noted |= n.find("refuses ESP states") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Doctor, JsonOutputEscapesAndListsEveryField) {
  doctor_report r;
  r.findings.push_back({severity::error, "counter", "X\"y", "a\nb", "why", "todo"});
  r.notes.push_back("tab\there");
  auto j = render_json(r);
  EXPECT_NE(j.find("\"severity\":\"error\""), std::string::npos);
  EXPECT_NE(j.find("\"subject\":\"X\\\"y\""), std::string::npos);
  EXPECT_NE(j.find("\"what\":\"a\\nb\""), std::string::npos);
  EXPECT_NE(j.find("\"notes\":[\"tab\\there\"]"), std::string::npos);
  auto t = render_text(r);
  EXPECT_NE(t.find("[error] counter: X\"y\n  what: a\nb\n  why it matters: why\n  what to do: todo\n\n"),
            std::string::npos);
}
