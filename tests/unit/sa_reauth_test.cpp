// Reauthentication (RFC 7296 §2.8.3, make-before-break) between engine IKE SAs in memory: the
// reauth_time timer (minus a random part of rand_time) asks the owner for a new IKE SA with the
// CHILD_SAs' names, reqids and selectors; the new SA recreates the CHILD_SA with that reqid and
// reports completion (or deletes itself when the CHILD_SA fails, leaving the old SA alone); the
// hard life_time deletes an SA that was not renewed.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"

using namespace aike;
using namespace aike::sa;
using std::chrono::milliseconds;

namespace {

std::shared_ptr<connection> site(bool moon, milliseconds reauth = milliseconds(0), milliseconds rand = milliseconds(0),
                                 milliseconds life = milliseconds(0)) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  auto me = *auth::identity::parse(moon ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(moon ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("reauth test secret")});
  child_config net;
  net.name = "net";
  net.local_ts = {*ts::selector::parse(moon ? "10.1.0.0/24" : "10.2.0.0/24")};
  net.remote_ts = {*ts::selector::parse(moon ? "10.2.0.0/24" : "10.1.0.0/24")};
  net.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(net);
  c->reauth_time = reauth;
  c->rand_time = rand;
  c->life_time = life;
  return c;
}

// The site with a second CHILD_SA "mgmt" on both ends (its selectors as given for the moon end).
std::shared_ptr<connection> two_children(bool moon, const std::string& mgmt_remote) {
  auto c = site(moon);
  child_config mgmt = c->children.front();
  mgmt.name = "mgmt";
  mgmt.local_ts = {*ts::selector::parse(moon ? "10.1.9.0/24" : mgmt_remote)};
  mgmt.remote_ts = {*ts::selector::parse(moon ? mgmt_remote : "10.1.9.0/24")};
  c->children.push_back(mgmt);
  return c;
}

bool logged(const in_memory_pair& p, const std::string& what) {
  return std::any_of(p.logs.begin(), p.logs.end(), [&](auto& l) { return l.find(what) != std::string::npos; });
}

}  // namespace

TEST(SaReauth, TimerFiresAtReauthTimeMinusJitterWithTheChildren) {
  bool jitter_seen = false;
  for (int round = 0; round < 20; ++round) {
    in_memory_pair p(site(true, milliseconds(6000), milliseconds(1000)), site(false));
    p.start();
    p.run();
    ASSERT_EQ(p.initiator->state(), ike_state::established);
    ASSERT_EQ(p.initiator->children().size(), 1u);
    ASSERT_TRUE(p.timers_a.count(timer_kind::ike_reauth));
    milliseconds after = p.delays_a[timer_kind::ike_reauth];
    EXPECT_GE(after.count(), 5000);
    EXPECT_LE(after.count(), 6000);
    if (after.count() != 6000) jitter_seen = true;
    // Only the side with reauth_time reauthenticates.
    EXPECT_FALSE(p.timers_b.count(timer_kind::ike_reauth));
    EXPECT_TRUE(p.reauth_due_a.empty());

    p.fire_a(timer_kind::ike_reauth);
    ASSERT_EQ(p.reauth_due_a.size(), 1u);
    const auto& due = p.reauth_due_a.front();
    const auto& child = p.initiator->children().begin()->second;
    ASSERT_EQ(due.children.size(), 1u);
    EXPECT_EQ(due.children[0].name, "net");
    EXPECT_EQ(due.children[0].reqid, child.reqid);
    EXPECT_EQ(due.children[0].local_ts, child.local_ts);
    EXPECT_EQ(due.children[0].remote_ts, child.remote_ts);
    // The old SA itself sends nothing and stays; a retry comes should it still be there.
    EXPECT_TRUE(p.to_b.empty());
    EXPECT_EQ(p.initiator->state(), ike_state::established);
    EXPECT_GE(p.delays_a[timer_kind::ike_reauth].count(), 10000);
    EXPECT_TRUE(logged(p, "IKE SA reauth_time reached"));
  }
  EXPECT_TRUE(jitter_seen) << "rand_time never took anything off reauth_time in 20 SAs";
}

TEST(SaReauth, WithoutRandTimeExactlyReauthTime) {
  in_memory_pair p(site(true, milliseconds(6000)), site(false));
  p.start();
  p.run();
  ASSERT_TRUE(p.timers_a.count(timer_kind::ike_reauth));
  EXPECT_EQ(p.delays_a[timer_kind::ike_reauth].count(), 6000);
}

TEST(SaReauth, NoReauthTimeNoTimer) {
  in_memory_pair p(site(true), site(false));
  p.start();
  p.run();
  EXPECT_FALSE(p.timers_a.count(timer_kind::ike_reauth));
  EXPECT_FALSE(p.timers_a.count(timer_kind::ike_expire));
}

TEST(SaReauth, ResponderCanReauthenticateOnRequest) {
  in_memory_pair p(site(true), site(false));
  p.start();
  p.run();
  ASSERT_TRUE(p.responder->request_reauth());
  p.collect_b();
  ASSERT_EQ(p.reauth_due_b.size(), 1u);
  EXPECT_EQ(p.reauth_due_b[0].children.at(0).reqid, p.responder->children().begin()->second.reqid);
  EXPECT_EQ(p.reauth_due_b[0].children.at(0).local_ts, p.responder->children().begin()->second.local_ts);
}

TEST(SaReauth, NewSaKeepsTheReqidAndCompletes) {
  reauth_child old{"net", 4242, {*ts::selector::parse("10.1.0.0/24")}, {*ts::selector::parse("10.2.0.0/24")}};
  in_memory_pair p(site(true, milliseconds(6000)), site(false));
  p.reauth_of = 7;
  p.reauth_children = {old};
  p.start("net");
  p.run();
  ASSERT_EQ(p.initiator->state(), ike_state::established);
  ASSERT_EQ(p.installed_a.size(), 1u);
  EXPECT_EQ(p.installed_a[0].reqid, 4242u);
  EXPECT_EQ(p.installed_a[0].name, "net");
  EXPECT_EQ(p.installed_a[0].local_ts, old.local_ts);
  EXPECT_EQ(p.replaces_a[0], 0u);
  ASSERT_EQ(p.reauth_complete_a.size(), 1u);
  EXPECT_EQ(p.reauth_complete_a[0], 7u);
  EXPECT_TRUE(p.closed_a.empty());
  // The new SA's own reauth_time counts from its establishment.
  EXPECT_TRUE(p.timers_a.count(timer_kind::ike_reauth));
}

TEST(SaReauth, PlainSaReportsNoCompletion) {
  in_memory_pair p(site(true), site(false));
  p.start();
  p.run();
  EXPECT_TRUE(p.reauth_complete_a.empty());
}

TEST(SaReauth, FailedChildDeletesTheNewSaNotTheOld) {
  // Selectors the peer does not accept: IKE_AUTH completes without the CHILD_SA.
  reauth_child old{"net", 4242, {*ts::selector::parse("10.1.0.0/24")}, {*ts::selector::parse("10.9.0.0/24")}};
  in_memory_pair p(site(true), site(false));
  p.reauth_of = 7;
  p.reauth_children = {old};
  p.start("net");
  p.run();
  EXPECT_TRUE(p.installed_a.empty());
  EXPECT_TRUE(p.reauth_complete_a.empty());
  EXPECT_TRUE(logged(p, "reauthentication of IKE SA [7] failed"));
  EXPECT_EQ(p.initiator->state(), ike_state::closed);  // deleted with a DELETE the peer answered
  EXPECT_EQ(p.responder->state(), ike_state::closed);
}

TEST(SaReauth, LifeTimeDeletesAnSaNotRenewed) {
  in_memory_pair p(site(true, milliseconds(6000), milliseconds(0), milliseconds(6600)), site(false));
  p.start();
  p.run();
  ASSERT_TRUE(p.timers_a.count(timer_kind::ike_expire));
  EXPECT_EQ(p.delays_a[timer_kind::ike_expire].count(), 6600);
  p.fire_a(timer_kind::ike_expire);
  p.run();
  EXPECT_EQ(p.initiator->state(), ike_state::closed);
  EXPECT_EQ(p.responder->state(), ike_state::closed);
  EXPECT_TRUE(logged(p, "life_time (6 s) reached"));
}

TEST(SaReauth, IkeRekeyDoesNotPostponeReauthentication) {
  in_memory_pair p(site(true, milliseconds(6000)), site(false));
  p.start();
  p.run();
  const auto token = p.timers_a.at(timer_kind::ike_reauth);
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  p.collect_a();
  p.run();
  ASSERT_EQ(p.rekeyed_a.size(), 1u);
  EXPECT_EQ(p.timers_a.at(timer_kind::ike_reauth), token);
  p.fire_a(timer_kind::ike_reauth);
  EXPECT_EQ(p.reauth_due_a.size(), 1u);
}

TEST(SaReauth, FurtherChildrenAreRecreatedByCreateChildSaWithTheirReqids) {
  reauth_child net{"net", 4242, {*ts::selector::parse("10.1.0.0/24")}, {*ts::selector::parse("10.2.0.0/24")}};
  reauth_child mgmt{"mgmt", 4343, {*ts::selector::parse("10.1.9.0/24")}, {*ts::selector::parse("10.2.9.0/24")}};
  in_memory_pair p(two_children(true, "10.2.9.0/24"), two_children(false, "10.2.9.0/24"));
  p.reauth_of = 7;
  p.reauth_children = {net, mgmt};
  p.start("net");
  p.run();
  ASSERT_EQ(p.initiator->state(), ike_state::established);
  ASSERT_EQ(p.installed_a.size(), 2u);  // net in IKE_AUTH, mgmt by CREATE_CHILD_SA
  EXPECT_EQ(p.installed_a[0].name, "net");
  EXPECT_EQ(p.installed_a[0].reqid, 4242u);
  EXPECT_EQ(p.installed_a[1].name, "mgmt");
  EXPECT_EQ(p.installed_a[1].reqid, 4343u);
  EXPECT_EQ(p.responder->children().size(), 2u);
  // Complete only once both are in.
  ASSERT_EQ(p.reauth_complete_a.size(), 1u);
  EXPECT_EQ(p.reauth_complete_a[0], 7u);
}

TEST(SaReauth, AFurtherChildRefusedLeavesTheOldSaInCharge) {
  // The peer no longer accepts mgmt's selectors: CREATE_CHILD_SA gets TS_UNACCEPTABLE.
  reauth_child net{"net", 4242, {*ts::selector::parse("10.1.0.0/24")}, {*ts::selector::parse("10.2.0.0/24")}};
  reauth_child mgmt{"mgmt", 4343, {*ts::selector::parse("10.1.9.0/24")}, {*ts::selector::parse("10.2.9.0/24")}};
  in_memory_pair p(two_children(true, "10.2.9.0/24"), two_children(false, "10.2.8.0/24"));
  p.reauth_of = 7;
  p.reauth_children = {net, mgmt};
  p.start("net");
  p.run();
  EXPECT_TRUE(p.reauth_complete_a.empty());
  EXPECT_TRUE(logged(p, "reauthentication: CHILD_SA mgmt could not be recreated"));
  EXPECT_EQ(p.initiator->state(), ike_state::closed);  // the new SA goes; the old one is untouched
}
