// RFC 7296 §2.23, dynamic address update: a host that is not behind a NAT follows its NATed peer
// to the address and port of the peer's latest authenticated message; a host behind a NAT, or one
// whose peer is not behind a NAT, does not move; an unauthenticated message never moves anything.
#include <gtest/gtest.h>

#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

auth::identity id(const char* s) { return *auth::identity::parse(s); }

// "moon" (10.0.0.1, initiator A) and "sun" (10.0.0.2, responder B). force_encap on a side makes
// both sides detect a NAT in front of that side (its NAT_DETECTION_SOURCE_IP hash cannot match).
std::shared_ptr<connection> make_conn(const char* me, const char* peer, const char* lts, const char* rts) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  c->local.id = id(me);
  c->remote.id = id(peer);
  c->secrets.push_back({{id("moon.example"), id("sun.example")}, to_bytes("correct horse battery staple")});
  child_config ch;
  ch.name = "net";
  ch.local_ts = {*ts::selector::parse(lts)};
  ch.remote_ts = {*ts::selector::parse(rts)};
  ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(ch);
  return c;
}

struct nat_pair : in_memory_pair {
  nat_pair(bool a_behind_nat, bool b_behind_nat)
      : in_memory_pair(conn(true, a_behind_nat), conn(false, b_behind_nat)) {}
  static std::shared_ptr<connection> conn(bool moon, bool forced) {
    auto c = moon ? make_conn("moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24")
                  : make_conn("sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24");
    c->force_encap = forced;
    return c;
  }
  void establish() {
    start();
    run();
    ASSERT_EQ(initiator->state(), ike_state::established) << closed_a;
    ASSERT_EQ(responder->state(), ike_state::established) << closed_b;
  }
  // A's next request (a liveness check), as it leaves A; not delivered yet.
  send_datagram request_from_a() {
    initiator->request_liveness_check();
    collect_a();
    EXPECT_EQ(to_b.size(), 1u);
    auto d = to_b.front();
    to_b.clear();
    return d;
  }
};

const endpoint& source_of(const send_datagram& d) { return d.local; }  // as the receiver sees it

}  // namespace

TEST(SaNatMove, ResponderFollowsNatedPeerToItsNewPort) {
  nat_pair h(true, false);  // the initiator is behind a NAT, the responder is not
  h.establish();
  ASSERT_TRUE(h.responder->nat_detected());
  const endpoint before = h.responder->remote();
  EXPECT_EQ(before.port, 4500);
  EXPECT_TRUE(h.moved_b.empty());

  auto d = h.request_from_a();
  d.local.port = 31337;  // the NAT in front of A picked a new mapping
  const endpoint moved_to = source_of(d);
  h.deliver_to_b(d);
  EXPECT_EQ(h.drops, 0);
  EXPECT_EQ(h.responder->remote(), moved_to);
  ASSERT_EQ(h.moved_b.size(), 1u);
  EXPECT_EQ(h.moved_b[0].old_remote, before);
  EXPECT_EQ(h.moved_b[0].new_remote, moved_to);
  // The answer goes to the new mapping ...
  ASSERT_EQ(h.to_a.size(), 1u);
  EXPECT_EQ(h.to_a.front().remote, moved_to);
  h.to_a.clear();
  // ... and so do B's own later requests and their retransmissions.
  h.responder->request_liveness_check();
  h.collect_b();
  ASSERT_EQ(h.to_a.size(), 1u);
  EXPECT_EQ(h.to_a.front().remote, moved_to);
  h.to_a.clear();
  h.fire_b(timer_kind::retransmit);
  ASSERT_EQ(h.to_a.size(), 1u);
  EXPECT_EQ(h.to_a.front().remote, moved_to);
  EXPECT_EQ(h.moved_b.size(), 1u);  // reported once
}

TEST(SaNatMove, AuthenticatedResponseFromANewPortMovesToo) {
  nat_pair h(true, false);
  h.establish();
  h.responder->request_liveness_check();  // B asks, A answers from a new mapping
  h.collect_b();
  ASSERT_EQ(h.to_a.size(), 1u);
  auto req = h.to_a.front();
  h.to_a.clear();
  h.deliver_to_a(req);
  ASSERT_EQ(h.to_b.size(), 1u);
  auto resp = h.to_b.front();
  h.to_b.clear();
  resp.local.port = 40000;
  h.deliver_to_b(resp);
  EXPECT_EQ(h.drops, 0);
  EXPECT_EQ(h.responder->remote(), source_of(resp));
  ASSERT_EQ(h.moved_b.size(), 1u);
  EXPECT_EQ(h.moved_b[0].new_remote.port, 40000);
}

TEST(SaNatMove, HostBehindANatDoesNotMove) {
  // A real NAT in front of the responder: A sends to B's public address, B sees its private one.
  // A forces encapsulation, so B also sees "NAT in front of the peer": only B's own NAT keeps it.
  nat_pair h(true, false);
  const endpoint b_private{*ip_address::parse("192.168.0.2"), 0};
  auto to_private = [&](send_datagram d) {  // A -> B through the NAT
    d.remote.addr = b_private.addr;
    return d;
  };
  h.start();
  while (!h.to_b.empty() || !h.to_a.empty()) {
    if (!h.to_b.empty()) {
      auto d = to_private(h.to_b.front());
      h.to_b.pop_front();
      h.deliver_to_b(d);
    }
    if (!h.to_a.empty()) {
      auto d = h.to_a.front();
      h.to_a.pop_front();
      d.local.addr = h.b.addr;  // B -> A: the NAT puts the public address back
      h.deliver_to_a(d);
    }
  }
  ASSERT_EQ(h.responder->state(), ike_state::established) << h.closed_b;
  ASSERT_TRUE(h.responder->nat_detected());
  ASSERT_EQ(h.responder->local().addr, b_private.addr);
  const endpoint before = h.responder->remote();
  auto d = to_private(h.request_from_a());
  d.local.port = 31337;
  h.deliver_to_b(d);
  EXPECT_EQ(h.drops, 0);
  EXPECT_EQ(h.responder->remote(), before);
  EXPECT_TRUE(h.moved_b.empty());
  // B's own requests still go to the endpoint it had.
  h.to_a.clear();
  h.responder->request_liveness_check();
  h.collect_b();
  ASSERT_EQ(h.to_a.size(), 1u);
  EXPECT_EQ(h.to_a.front().remote, before);
}

// force_encap on our own side (the userspace backend sets it for every connection) is no NAT in
// front of us: both sides force it, both detect "NAT" for the peer, and each still follows.
TEST(SaNatMove, OwnForcedEncapStillFollowsThePeer) {
  nat_pair h(true, true);
  h.establish();
  auto d = h.request_from_a();
  d.local.port = 31337;
  h.deliver_to_b(d);
  EXPECT_EQ(h.responder->remote(), source_of(d));
  EXPECT_EQ(h.moved_b.size(), 1u);
}

// The peer forces encapsulation, but we are not behind a NAT and the peer is not either.
TEST(SaNatMove, PeerNotBehindANatDoesNotMove) {
  nat_pair h(false, true);  // B forces encap: A sees "NAT in front of B", B sees none in front of A
  h.establish();
  ASSERT_TRUE(h.responder->nat_detected());
  const endpoint before = h.responder->remote();
  auto d = h.request_from_a();
  d.local.port = 31337;
  h.deliver_to_b(d);
  EXPECT_EQ(h.responder->remote(), before);
  EXPECT_TRUE(h.moved_b.empty());
}

TEST(SaNatMove, MessageFailingIntegrityDoesNotMove) {
  nat_pair h(true, false);
  h.establish();
  const endpoint before = h.responder->remote();
  auto d = h.request_from_a();
  d.local.port = 31337;
  d.data[d.data.size() - 1] ^= 1;
  h.deliver_to_b(d);
  EXPECT_EQ(h.drops, 1);
  EXPECT_EQ(h.responder->remote(), before);
  EXPECT_TRUE(h.moved_b.empty());
  EXPECT_TRUE(h.to_a.empty());
}

TEST(SaNatMove, NoNatDetectedDoesNotMove) {
  nat_pair h(false, false);
  h.establish();
  ASSERT_FALSE(h.responder->nat_detected());
  const endpoint before = h.responder->remote();
  auto d = h.request_from_a();
  d.local.port = 31337;
  h.deliver_to_b(d);
  EXPECT_EQ(h.drops, 0);
  EXPECT_EQ(h.responder->remote(), before);
  EXPECT_TRUE(h.moved_b.empty());
}
