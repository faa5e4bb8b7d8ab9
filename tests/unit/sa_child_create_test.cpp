// Additional CHILD_SAs on an established IKE SA (RFC 7296 §1.3.1) between two engine IKE SAs in
// memory: created from either side, with and without PFS, refused (TS_UNACCEPTABLE,
// NO_PROPOSAL_CHOSEN), INVALID_KE_PAYLOAD retried with the peer's group, and the new child
// rekeyed and deleted like any other. After every failure the IKE SA must still be usable.
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

child_config make_child(const std::string& name, const std::string& local, const std::string& remote,
                        const std::vector<std::string>& esp) {
  child_config c;
  c.name = name;
  c.local_ts = {*ts::selector::parse(local)};
  c.remote_ts = {*ts::selector::parse(remote)};
  c.esp_proposals = *proposal::parse_esp_proposals(esp);
  return c;
}

// moon (10.0.0.1) and sun (10.0.0.2): "net" 10.1.0.0/24 === 10.2.0.0/24 comes up in IKE_AUTH,
// "second" 10.3.0.0/24 === 10.4.0.0/24 with `esp` later. moon also has "stray", whose selectors
// sun has no child for.
std::shared_ptr<connection> site(bool moon, std::vector<std::string> esp) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  auto me = *auth::identity::parse(moon ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(moon ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("child create test secret")});
  c->children.push_back(make_child("net", moon ? "10.1.0.0/24" : "10.2.0.0/24", moon ? "10.2.0.0/24" : "10.1.0.0/24",
                                   {"aes256gcm16"}));
  c->children.push_back(
      make_child("second", moon ? "10.3.0.0/24" : "10.4.0.0/24", moon ? "10.4.0.0/24" : "10.3.0.0/24", esp));
  if (moon) c->children.push_back(make_child("stray", "10.5.0.0/24", "10.6.0.0/24", {"aes256gcm16"}));
  return c;
}

struct create_pair : in_memory_pair {
  explicit create_pair(std::vector<std::string> esp_a = {"aes256gcm16"}, std::vector<std::string> esp_b = {"aes256gcm16"})
      : in_memory_pair(site(true, std::move(esp_a)), site(false, std::move(esp_b))) {
    start();
    run();
  }
  bool logged(const std::string& what) const {
    return std::any_of(logs.begin(), logs.end(), [&](auto& l) { return l.find(what) != std::string::npos; });
  }
  const child_sa* named(const ike_sa& sa, const std::string& name) const {
    for (const auto& [id, c] : sa.children())
      if (c.name == name) return &c;
    return nullptr;
  }
  bool create_from_a(const std::string& name) {
    bool ok = initiator->request_child_create(name);
    collect_a();
    run();
    return ok;
  }
};

// Both halves of child `name` exist, are installed, and fit together.
void expect_matching(const create_pair& p, const std::string& name) {
  const child_sa* a = p.named(*p.initiator, name);
  const child_sa* b = p.named(*p.responder, name);
  ASSERT_NE(a, nullptr) << name;
  ASSERT_NE(b, nullptr) << name;
  EXPECT_EQ(a->state, child_state::installed);
  EXPECT_EQ(b->state, child_state::installed);
  EXPECT_EQ(a->spi_in, b->spi_out);
  EXPECT_EQ(a->spi_out, b->spi_in);
  EXPECT_FALSE(a->encr_in.empty());
  EXPECT_EQ(a->encr_in, b->encr_out);
  EXPECT_EQ(a->encr_out, b->encr_in);
  EXPECT_EQ(a->local_ts, b->remote_ts);
  EXPECT_EQ(a->remote_ts, b->local_ts);
}

// The IKE SA still works: a liveness check is answered and "net" can be rekeyed.
void expect_ike_usable(create_pair& p) {
  ASSERT_EQ(p.initiator->state(), ike_state::established) << p.closed_a;
  ASSERT_EQ(p.responder->state(), ike_state::established) << p.closed_b;
  const child_sa* net = p.named(*p.initiator, "net");
  ASSERT_NE(net, nullptr);
  std::uint32_t old = net->id;
  ASSERT_TRUE(p.initiator->request_child_rekey(old));
  p.collect_a();
  p.run();
  expect_matching(p, "net");
  EXPECT_NE(p.named(*p.initiator, "net")->id, old);
  EXPECT_EQ(p.drops, 0);
}

}  // namespace

TEST(SaChildCreate, SecondChildWithoutPfs) {
  create_pair p;
  expect_matching(p, "net");
  ASSERT_TRUE(p.create_from_a("second"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_matching(p, "second");
  EXPECT_EQ(p.initiator->children().size(), 2u);
  EXPECT_EQ(p.responder->children().size(), 2u);
  // Its own id, reqid and SPIs; a new CHILD_SA (replaces nothing).
  const child_sa* net = p.named(*p.initiator, "net");
  const child_sa* second = p.named(*p.initiator, "second");
  EXPECT_NE(net->id, second->id);
  EXPECT_NE(net->reqid, second->reqid);
  EXPECT_NE(net->encr_in, second->encr_in);
  EXPECT_EQ(p.replaces_a.back(), 0u);
  EXPECT_EQ(p.replaces_b.back(), 0u);
  EXPECT_EQ(p.installed_a.back().name, "second");
  EXPECT_EQ(p.installed_b.back().name, "second");
  EXPECT_TRUE(p.failed_a.empty());
  EXPECT_FALSE(p.logged("PFS"));
  expect_ike_usable(p);
}

TEST(SaChildCreate, SecondChildWithPfs) {
  create_pair p({"aes256gcm16-x25519"}, {"aes256gcm16-x25519"});
  ASSERT_TRUE(p.create_from_a("second"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_matching(p, "second");
  EXPECT_TRUE(p.logged("A: creating CHILD_SA second"));
  EXPECT_TRUE(p.logged("and PFS group 31"));
  EXPECT_TRUE(p.logged("(PFS group 31)"));
  EXPECT_EQ(proposal::algorithms_of(p.named(*p.initiator, "second")->proposal).ke, 31);
  expect_ike_usable(p);
}

TEST(SaChildCreate, ResponderCreatesTheSecondChild) {
  create_pair p;
  ASSERT_TRUE(p.responder->request_child_create("second"));
  p.collect_b();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_matching(p, "second");
  expect_ike_usable(p);
}

TEST(SaChildCreate, UnknownChildOrNotEstablishedIsRefused) {
  create_pair p;
  EXPECT_FALSE(p.initiator->request_child_create("nonesuch"));
  in_memory_pair fresh(site(true, {"aes256gcm16"}), site(false, {"aes256gcm16"}));
  fresh.start();
  EXPECT_FALSE(fresh.initiator->request_child_create("second"));  // IKE_SA_INIT still out
}

TEST(SaChildCreate, TsUnacceptableLeavesTheIkeSa) {
  create_pair p;
  ASSERT_TRUE(p.create_from_a("stray"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  ASSERT_EQ(p.failed_a.size(), 1u);
  EXPECT_EQ(p.failed_a[0].name, "stray");
  EXPECT_EQ(p.failed_a[0].notify, wire::notify::ts_unacceptable);
  EXPECT_NE(p.failed_a[0].reason.find("TS_UNACCEPTABLE"), std::string::npos);
  EXPECT_TRUE(p.logged("A: CHILD_SA stray not created: peer answered TS_UNACCEPTABLE"));
  EXPECT_EQ(p.named(*p.initiator, "stray"), nullptr);
  EXPECT_EQ(p.initiator->children().size(), 1u);
  EXPECT_EQ(p.responder->children().size(), 1u);
  expect_ike_usable(p);
  // A later child still comes up on the same IKE SA.
  ASSERT_TRUE(p.create_from_a("second"));
  expect_matching(p, "second");
}

TEST(SaChildCreate, NoProposalChosenLeavesTheIkeSa) {
  // B insists on PFS for "second", A offers none.
  create_pair p({"aes256gcm16"}, {"aes256gcm16-x25519"});
  ASSERT_TRUE(p.create_from_a("second"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  ASSERT_EQ(p.failed_a.size(), 1u);
  EXPECT_EQ(p.failed_a[0].notify, wire::notify::no_proposal_chosen);
  EXPECT_TRUE(p.logged("B: CHILD_SA not created (NO_PROPOSAL_CHOSEN)"));
  EXPECT_EQ(p.named(*p.responder, "second"), nullptr);
  expect_ike_usable(p);
}

TEST(SaChildCreate, InvalidKePayloadIsRetriedWithThePeersGroup) {
  // A sends x25519 first; B takes only ecp256 and names it in INVALID_KE_PAYLOAD.
  create_pair p({"aes256gcm16-x25519-ecp256"}, {"aes256gcm16-ecp256"});
  int create_requests = 0;
  p.on_wire = [&](const send_datagram& d, bool from_a) {
    auto h = wire::parse_header(d.data);
    if (from_a && h && h->exchange_type == wire::exchange::create_child_sa && !h->is_response()) ++create_requests;
  };
  ASSERT_TRUE(p.create_from_a("second"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  EXPECT_EQ(create_requests, 2);
  EXPECT_TRUE(p.logged("B: CHILD_SA 'second': peer's KE group 31 is not the chosen 19"));
  EXPECT_TRUE(p.logged("A: peer asked for KE group 19 for CHILD_SA second, retrying"));
  expect_matching(p, "second");
  EXPECT_EQ(proposal::algorithms_of(p.named(*p.initiator, "second")->proposal).ke, 19);
  EXPECT_TRUE(p.failed_a.empty());
  expect_ike_usable(p);
}

TEST(SaChildCreate, InvalidKePayloadForAGroupWeDoNotOfferFails) {
  create_pair p({"aes256gcm16-x25519"}, {"aes256gcm16-ecp256"});
  ASSERT_TRUE(p.create_from_a("second"));
  for (auto& l : p.logs) SCOPED_TRACE(l);
  // B selects nothing: A's proposals have no ecp256, so B answers NO_PROPOSAL_CHOSEN.
  ASSERT_EQ(p.failed_a.size(), 1u);
  EXPECT_EQ(p.failed_a[0].notify, wire::notify::no_proposal_chosen);
  expect_ike_usable(p);
}

TEST(SaChildCreate, SecondChildRekeyedThenDeleted) {
  create_pair p({"aes256gcm16-x25519"}, {"aes256gcm16-x25519"});
  ASSERT_TRUE(p.create_from_a("second"));
  const child_sa before = *p.named(*p.initiator, "second");
  const std::uint32_t net_id = p.named(*p.initiator, "net")->id;
  ASSERT_TRUE(p.initiator->request_child_rekey(before.id));
  p.collect_a();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_matching(p, "second");
  const child_sa* after = p.named(*p.initiator, "second");
  EXPECT_NE(after->id, before.id);
  EXPECT_EQ(after->reqid, before.reqid);
  EXPECT_NE(after->spi_in, before.spi_in);
  EXPECT_EQ(p.initiator->children().size(), 2u);
  EXPECT_EQ(p.named(*p.initiator, "net")->id, net_id);  // the other child is untouched
  // Deleted from B's side this time.
  std::uint32_t b_id = p.named(*p.responder, "second")->id;
  ASSERT_TRUE(p.responder->request_child_delete(b_id));
  p.collect_b();
  p.run();
  EXPECT_EQ(p.named(*p.initiator, "second"), nullptr);
  EXPECT_EQ(p.named(*p.responder, "second"), nullptr);
  EXPECT_EQ(p.initiator->children().size(), 1u);
  expect_ike_usable(p);
}

TEST(SaChildCreate, CreateQueuedBehindARekey) {
  create_pair p;
  // A rekey and two creates at once: one exchange at a time, all complete.
  ASSERT_TRUE(p.initiator->request_child_rekey(p.named(*p.initiator, "net")->id));
  ASSERT_TRUE(p.initiator->request_child_create("second"));
  ASSERT_TRUE(p.initiator->request_child_create("stray"));
  p.collect_a();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  expect_matching(p, "net");
  expect_matching(p, "second");
  ASSERT_EQ(p.failed_a.size(), 1u);
  EXPECT_EQ(p.failed_a[0].name, "stray");
  EXPECT_EQ(p.drops, 0);
}

TEST(SaChildCreate, QueuedCreatesFailWhenTheIkeSaIsDeleted) {
  create_pair p;
  ASSERT_TRUE(p.initiator->request_child_create("second"));  // in flight
  ASSERT_TRUE(p.initiator->request_child_create("stray"));   // queued
  p.initiator->request_delete();
  p.collect_a();
  p.run();
  for (auto& l : p.logs) SCOPED_TRACE(l);
  // "second" was answered before the DELETE went out (and removed with the IKE SA); "stray"
  // never started.
  ASSERT_EQ(p.failed_a.size(), 1u);
  EXPECT_EQ(p.failed_a.back().name, "stray");
  EXPECT_NE(p.failed_a.back().reason.find("being deleted"), std::string::npos);
  ASSERT_FALSE(p.installed_a.empty());
  EXPECT_EQ(p.installed_a.back().name, "second");
  EXPECT_EQ(p.initiator->state(), ike_state::closed);
  EXPECT_TRUE(p.initiator->children().empty());
}

TEST(SaChildCreate, NewChildRequestWhileDeletingGetsTemporaryFailure) {
  create_pair p;
  // B's DELETE of the IKE SA is out (not yet delivered) when A's request arrives.
  p.responder->request_delete();
  p.collect_b();
  ASSERT_TRUE(p.initiator->request_child_create("second"));
  p.collect_a();
  auto to_a_held = std::move(p.to_a);
  p.to_a.clear();
  while (!p.to_b.empty()) {
    auto d = std::move(p.to_b.front());
    p.to_b.pop_front();
    p.deliver_to_b(d);
  }
  for (auto& l : p.logs) SCOPED_TRACE(l);
  EXPECT_TRUE(p.logged("B: new CHILD_SA from peer while the IKE SA is being deleted: TEMPORARY_FAILURE"));
}

// RFC 7296 §2.17 for a new CHILD_SA, checked from the nonces on the wire (create_child_keys_check.hpp).
TEST(SaChildCreate, KeysFollowTheRolesOfTheCreateExchange) {
  for (bool from_a : {true, false}) {
    SCOPED_TRACE(from_a ? "created by the IKE SA's initiator" : "created by the IKE SA's responder");
    create_pair p;
    keys_check::create_child_nonces n;
    keys_check::record_create_child_nonces(p, n);
    if (from_a) {
      ASSERT_TRUE(p.create_from_a("second"));
    } else {
      ASSERT_TRUE(p.responder->request_child_create("second"));
      p.collect_b();
      p.run();
    }
    p.on_wire = nullptr;
    expect_matching(p, "second");
    const child_sa* started = p.named(from_a ? *p.initiator : *p.responder, "second");
    const child_sa* answered = p.named(from_a ? *p.responder : *p.initiator, "second");
    keys_check::expect_keys_follow_exchange(*p.initiator, n, *started, *answered);
  }
}
