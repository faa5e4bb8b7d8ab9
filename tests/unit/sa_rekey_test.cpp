// CHILD_SA rekeying between two engine IKE SAs in memory (RFC 7296 §1.3.3, §2.8, §2.8.1,
// §2.25.1): from either side, with and without PFS, INVALID_KE_PAYLOAD, collisions of two
// rekeys and of a rekey with a delete, and the lifetime timers that start rekeys.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/proposal/parser.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "tests/unit/create_child_keys_check.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

// moon (10.0.0.1, 10.1.0.0/24) and sun (10.0.0.2, 10.2.0.0/24) with one child "net".
std::shared_ptr<connection> site(bool moon, std::vector<std::string> esp) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  auto me = *auth::identity::parse(moon ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(moon ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("rekey test secret")});
  child_config net;
  net.name = "net";
  net.local_ts = {*ts::selector::parse(moon ? "10.1.0.0/24" : "10.2.0.0/24")};
  net.remote_ts = {*ts::selector::parse(moon ? "10.2.0.0/24" : "10.1.0.0/24")};
  net.esp_proposals = *proposal::parse_esp_proposals(esp);
  c->children.push_back(net);
  return c;
}

struct rekey_pair : in_memory_pair {
  explicit rekey_pair(std::vector<std::string> esp_a = {"aes256gcm16"}, std::vector<std::string> esp_b = {"aes256gcm16"})
      : in_memory_pair(site(true, std::move(esp_a)), site(false, std::move(esp_b))) {
    start();
    run();
  }
  std::uint32_t only_child(const ike_sa& sa) const {
    EXPECT_EQ(sa.children().size(), 1u);
    return sa.children().empty() ? 0 : sa.children().begin()->first;
  }
  const child_sa& child_a() const { return initiator->children().begin()->second; }
  const child_sa& child_b() const { return responder->children().begin()->second; }
  bool logged(const std::string& what) const {
    return std::any_of(logs.begin(), logs.end(), [&](auto& l) { return l.find(what) != std::string::npos; });
  }
};

// Both sides hold exactly one CHILD_SA, and the two halves fit together.
void expect_one_matching_child(const rekey_pair& p) {
  ASSERT_EQ(p.initiator->children().size(), 1u);
  ASSERT_EQ(p.responder->children().size(), 1u);
  const auto& a = p.child_a();
  const auto& b = p.child_b();
  EXPECT_EQ(a.spi_in, b.spi_out);
  EXPECT_EQ(a.spi_out, b.spi_in);
  EXPECT_EQ(a.encr_out, b.encr_in);
  EXPECT_EQ(a.encr_in, b.encr_out);
  EXPECT_FALSE(a.encr_in.empty());
  EXPECT_EQ(a.local_ts, b.remote_ts);
  EXPECT_EQ(a.state, child_state::installed);
  EXPECT_EQ(b.state, child_state::installed);
}

// A rekey started by `from_a` (or by B) replaces the one CHILD_SA on both sides.
void rekey_once(rekey_pair& p, bool from_a) {
  ASSERT_EQ(p.initiator->state(), ike_state::established) << p.closed_a;
  expect_one_matching_child(p);
  const child_sa old_a = p.child_a();
  const child_sa old_b = p.child_b();
  std::size_t installs_a = p.installed_a.size(), installs_b = p.installed_b.size();
  if (from_a) {
    ASSERT_TRUE(p.initiator->request_child_rekey(old_a.id));
    p.collect_a();
  } else {
    ASSERT_TRUE(p.responder->request_child_rekey(old_b.id));
    p.collect_b();
  }
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_one_matching_child(p);
  const auto& a = p.child_a();
  const auto& b = p.child_b();
  EXPECT_NE(a.id, old_a.id);
  EXPECT_NE(a.spi_in, old_a.spi_in);
  EXPECT_NE(a.spi_out, old_a.spi_out);
  EXPECT_NE(a.encr_in, old_a.encr_in);
  EXPECT_EQ(a.reqid, old_a.reqid);
  EXPECT_EQ(b.reqid, old_b.reqid);
  EXPECT_EQ(a.name, "net");
  // One install each, marked as the old SA's replacement, and then the old SA removed as rekeyed.
  ASSERT_EQ(p.installed_a.size(), installs_a + 1);
  ASSERT_EQ(p.installed_b.size(), installs_b + 1);
  EXPECT_EQ(p.replaces_a.back(), old_a.id);
  EXPECT_EQ(p.replaces_b.back(), old_b.id);
  ASSERT_FALSE(p.removed_a.empty());
  ASSERT_FALSE(p.removed_b.empty());
  EXPECT_EQ(p.removed_a.back().id, old_a.id);
  EXPECT_EQ(p.removed_b.back().id, old_b.id);
  EXPECT_TRUE(p.rekey_removed_a.back());
  EXPECT_TRUE(p.rekey_removed_b.back());
  EXPECT_EQ(p.initiator->state(), ike_state::established);
  EXPECT_EQ(p.responder->state(), ike_state::established);
  EXPECT_EQ(p.drops, 0);
}

}  // namespace

TEST(SaRekey, ChildRekeyStartedByInitiator) {
  rekey_pair p;
  rekey_once(p, true);
  EXPECT_FALSE(p.logged("PFS"));
}

TEST(SaRekey, ChildRekeyStartedByResponder) {
  rekey_pair p;
  rekey_once(p, false);
}

TEST(SaRekey, RepeatedRekeysFromBothSides) {
  rekey_pair p;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    rekey_once(p, i % 2 == 0);
  }
  EXPECT_EQ(p.installed_a.size(), 4u);
  EXPECT_EQ(p.removed_a.size(), 3u);
}

TEST(SaRekey, ChildRekeyWithPfsFromEachSide) {
  rekey_pair p({"aes256gcm16-x25519"}, {"aes256gcm16-x25519"});
  rekey_once(p, true);
  EXPECT_TRUE(p.logged("A: rekeying CHILD_SA net{1} with PFS group 31"));
  rekey_once(p, false);
  EXPECT_TRUE(p.logged("with PFS group 31"));
}

TEST(SaRekey, PfsGroupMismatchRetriesWithTheAskedGroup) {
  // A sends x25519 first; B only takes ecp256 and answers INVALID_KE_PAYLOAD.
  rekey_pair p({"aes256gcm16-x25519-ecp256"}, {"aes256gcm16-ecp256"});
  rekey_once(p, true);
  EXPECT_TRUE(p.logged("peer asked for KE group 19"));
}

TEST(SaRekey, PfsRefusedKeepsTheOldSa) {
  // B wants PFS, A offers none: NO_PROPOSAL_CHOSEN, and the old SA stays in use.
  rekey_pair p({"aes256gcm16"}, {"aes256gcm16-x25519"});
  expect_one_matching_child(p);
  auto old_id = p.child_a().id;
  ASSERT_TRUE(p.initiator->request_child_rekey(old_id));
  p.collect_a();
  p.run();
  expect_one_matching_child(p);
  EXPECT_EQ(p.child_a().id, old_id);
  EXPECT_TRUE(p.logged("NO_PROPOSAL_CHOSEN"));
  EXPECT_EQ(p.initiator->state(), ike_state::established);
  // It can be rekeyed again later (the state went back to installed).
  EXPECT_TRUE(p.initiator->request_child_rekey(old_id));
}

// RFC 7296 §2.17, checked from the nonces on the wire (create_child_keys_check.hpp).
TEST(SaRekey, KeysFollowTheRolesOfTheRekeyExchange) {
  for (bool from_a : {true, false}) {
    SCOPED_TRACE(from_a ? "rekey started by the IKE SA's initiator" : "rekey started by the IKE SA's responder");
    rekey_pair p;
    keys_check::create_child_nonces n;
    keys_check::record_create_child_nonces(p, n);
    rekey_once(p, from_a);
    p.on_wire = nullptr;
    keys_check::expect_keys_follow_exchange(*p.initiator, n, from_a ? p.child_a() : p.child_b(),
                                         from_a ? p.child_b() : p.child_a());
  }
}

TEST(SaRekey, SimultaneousRekeysLeaveOneNewSa) {
  int a_lost = 0, b_lost = 0;
  for (int round = 0; round < 16; ++round) {  // the nonces decide who deletes: see both outcomes
    SCOPED_TRACE(round);
    rekey_pair p;
    auto old_a = p.child_a();
    auto old_b = p.child_b();
    ASSERT_TRUE(p.initiator->request_child_rekey(old_a.id));
    ASSERT_TRUE(p.responder->request_child_rekey(old_b.id));
    p.collect_a();
    p.collect_b();
    p.run();
    for (auto& l : p.logs) SCOPED_TRACE(l);
    expect_one_matching_child(p);
    EXPECT_NE(p.child_a().spi_in, old_a.spi_in);
    EXPECT_EQ(p.child_a().reqid, old_a.reqid);
    EXPECT_TRUE(p.logged("rekey collision"));
    // Each side made two new SAs (one per exchange) and removed the old and the redundant one,
    // all as part of the rekey.
    EXPECT_EQ(p.installed_a.size(), 3u);
    EXPECT_EQ(p.installed_b.size(), 3u);
    ASSERT_EQ(p.removed_a.size(), 2u);
    ASSERT_EQ(p.removed_b.size(), 2u);
    for (bool r : p.rekey_removed_a) EXPECT_TRUE(r);
    for (bool r : p.rekey_removed_b) EXPECT_TRUE(r);
    EXPECT_EQ(p.drops, 0);
    (p.logged("A: rekey collision on CHILD_SA net{1}: ours has the lowest nonce") ? a_lost : b_lost)++;
  }
  // Over 16 rounds each side should have lost at least once (fails with probability 2^-15).
  EXPECT_GT(a_lost, 0);
  EXPECT_GT(b_lost, 0);
}

// Both rekey; B wins and deletes the old SA before A gets B's answer to A's own request (the
// network reorders): A must see that B kept its SA and close its own new one, quietly.
TEST(SaRekey, CollisionResolvedByThePeerFirst) {
  int seen = 0;
  for (int round = 0; round < 64 && seen < 2; ++round) {
    rekey_pair p;
    ASSERT_TRUE(p.initiator->request_child_rekey(p.child_a().id));
    ASSERT_TRUE(p.responder->request_child_rekey(p.child_b().id));
    p.collect_a();
    p.collect_b();
    auto step = [](std::deque<send_datagram>& q, auto deliver) {
      auto d = std::move(q.front());
      q.pop_front();
      deliver(d);
    };
    step(p.to_a, [&](auto& d) { p.deliver_to_a(d); });  // A answers B's request
    step(p.to_b, [&](auto& d) { p.deliver_to_b(d); });  // B answers A's request
    step(p.to_b, [&](auto& d) { p.deliver_to_b(d); });  // B gets A's answer and decides
    if (!p.logged("B: rekey collision") || p.logged("B: rekey collision on CHILD_SA net{2}: ours has the lowest"))
      continue;  // A won this time; B's rule is tested elsewhere
    // to_a: B's answer to A's request, then B's DELETE of the old SA. Deliver the DELETE first.
    ASSERT_EQ(p.to_a.size(), 2u);
    std::swap(p.to_a[0], p.to_a[1]);
    p.run();
    for (auto& l : p.logs) SCOPED_TRACE(l);
    EXPECT_TRUE(p.logged("A: rekey collision on CHILD_SA net{1}: the peer kept"));
    expect_one_matching_child(p);
    for (bool r : p.rekey_removed_a) EXPECT_TRUE(r);
    for (bool r : p.rekey_removed_b) EXPECT_TRUE(r);
    ++seen;
  }
  EXPECT_EQ(seen, 2);
}

TEST(SaRekey, RekeyDuringIkeDeleteIsRefusedAndBothSidesClose) {
  rekey_pair p;
  p.initiator->request_delete();
  ASSERT_TRUE(p.responder->request_child_rekey(p.child_b().id));
  p.collect_a();
  p.collect_b();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  EXPECT_TRUE(p.logged("A: CHILD_SA rekey from peer while the IKE SA is being deleted: TEMPORARY_FAILURE"));
  EXPECT_EQ(p.initiator->state(), ike_state::closed);
  EXPECT_EQ(p.responder->state(), ike_state::closed);
  EXPECT_EQ(p.installed_a.size(), 1u);  // no new CHILD_SA on the way out
}

TEST(SaRekey, RekeyCollidingWithDeleteRemovesBoth) {
  rekey_pair p;
  auto old_a = p.child_a();
  auto old_b = p.child_b();
  ASSERT_TRUE(p.initiator->request_child_rekey(old_a.id));
  ASSERT_TRUE(p.responder->request_child_delete(old_b.id));
  p.collect_a();
  p.collect_b();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  // B was closing the SA: the rekey gets TEMPORARY_FAILURE, the delete goes through.
  EXPECT_TRUE(p.logged("TEMPORARY_FAILURE"));
  EXPECT_TRUE(p.initiator->children().empty());
  EXPECT_TRUE(p.responder->children().empty());
  EXPECT_EQ(p.initiator->state(), ike_state::established);
  EXPECT_EQ(p.responder->state(), ike_state::established);
}

namespace {

// A rekeys its CHILD_SA; B answers, then deletes the old SA itself before A's own DELETE.
// Returns A's old CHILD_SA.
child_sa answer_then_delete_old(rekey_pair& p) {
  auto old_a = p.child_a();
  auto old_b = p.child_b();
  EXPECT_TRUE(p.initiator->request_child_rekey(old_a.id));
  p.collect_a();
  p.deliver_to_b(p.to_b.front());
  p.to_b.pop_front();
  EXPECT_TRUE(p.responder->request_child_delete(old_b.id));
  p.collect_b();
  return old_a;
}

}  // namespace

TEST(SaRekey, PeerDeletingTheOldSaAfterAnsweringKeepsTheNewOne) {
  rekey_pair p;
  auto old_a = answer_then_delete_old(p);
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_one_matching_child(p);
  EXPECT_NE(p.child_a().id, old_a.id);
  EXPECT_EQ(p.removed_a.back().id, old_a.id);
  EXPECT_EQ(p.initiator->state(), ike_state::established);
}

TEST(SaRekey, DeleteOvertakingTheRekeyAnswerDeletesTheSuccessorToo) {
  rekey_pair p;
  answer_then_delete_old(p);
  // The network reorders: B's DELETE of the old SA reaches A before B's rekey answer.
  ASSERT_EQ(p.to_a.size(), 2u);
  std::swap(p.to_a[0], p.to_a[1]);
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  EXPECT_TRUE(p.logged("was deleted while rekeying; deleting its successor"));
  EXPECT_TRUE(p.initiator->children().empty());
  EXPECT_TRUE(p.responder->children().empty());
  EXPECT_EQ(p.initiator->state(), ike_state::established);
  EXPECT_EQ(p.responder->state(), ike_state::established);
}

TEST(SaRekey, RekeyOfAnSaTheResponderJustReplacedIsRefused) {
  rekey_pair p;
  auto old_a = p.child_a();
  ASSERT_TRUE(p.initiator->request_child_rekey(old_a.id));
  p.collect_a();
  p.run();
  // The old SA is gone on both sides; asking again for it fails locally.
  EXPECT_FALSE(p.initiator->request_child_rekey(old_a.id));
  EXPECT_FALSE(p.initiator->request_child_rekey(9999));
}

TEST(SaRekey, LifetimeTimersRekeyAndExpire) {
  auto a = site(true, {"aes256gcm16"});
  a->children[0].rekey_time = std::chrono::milliseconds(3600000);
  a->children[0].rand_time = std::chrono::milliseconds(360000);
  a->children[0].life_time = std::chrono::milliseconds(3960000);
  in_memory_pair p(a, site(false, {"aes256gcm16"}));
  p.start();
  p.run();
  ASSERT_EQ(p.initiator->children().size(), 1u);
  auto old_id = p.initiator->children().begin()->first;
  ASSERT_TRUE(p.timers_a.count(timer_kind::child_rekey));
  ASSERT_TRUE(p.timers_a.count(timer_kind::child_expire));
  p.fire_a(timer_kind::child_rekey);
  p.run();
  ASSERT_EQ(p.initiator->children().size(), 1u);
  auto new_id = p.initiator->children().begin()->first;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(p.responder->children().size(), 1u);
  // The new SA armed its own timers; its hard lifetime deletes it when no rekey happens.
  p.fire_a(timer_kind::child_expire);
  p.run();
  EXPECT_TRUE(p.initiator->children().empty());
  EXPECT_TRUE(p.responder->children().empty());
  EXPECT_FALSE(p.rekey_removed_a.back());  // an expiry is a real "down"
  EXPECT_EQ(p.initiator->state(), ike_state::established);
}
