// ike_rekey_waiters: what a bulk `aikectl rekey --ike-sas` counts for one IKE SA, driven by two
// engine IKE SAs in memory. An IKE SA rekey is done once the new SA is in use and the old one is
// deleted; it fails when the SA is not established, the peer refuses, or the SA closes first.
#include <gtest/gtest.h>

#include "actors/ike_rekey_waiters.hpp"
#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"

using namespace aike;
using namespace aike::sa;
using aike::actors::ike_rekey_waiters;

namespace {

std::shared_ptr<connection> site(bool moon) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  auto me = *auth::identity::parse(moon ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(moon ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("waiters test secret")});
  child_config net;
  net.name = "net";
  net.local_ts = {*ts::selector::parse(moon ? "10.1.0.0/24" : "10.2.0.0/24")};
  net.remote_ts = {*ts::selector::parse(moon ? "10.2.0.0/24" : "10.1.0.0/24")};
  net.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(net);
  return c;
}

struct pair : in_memory_pair {
  pair() : in_memory_pair(site(true), site(false)) {
    start();
    run();
  }
};

}  // namespace

TEST(IkeRekeyWaiters, DoneOnceTheOldSaIsDeleted) {
  pair p;
  ike_rekey_waiters w;
  const auto old_spi = p.initiator->local_spi();
  w.add(7, *p.initiator, p.initiator->request_ike_rekey());
  p.collect_a();
  w.check(*p.initiator);
  EXPECT_TRUE(w.take().empty());  // the request is out, nothing answered yet
  // Rekey request and answer delivered, the DELETE of the old SA lost: not done yet.
  p.run(2);
  EXPECT_NE(p.initiator->local_spi(), old_spi);
  EXPECT_EQ(p.initiator->retiring_local_spi(), old_spi);
  w.check(*p.initiator);
  EXPECT_TRUE(w.take().empty());
  EXPECT_FALSE(w.empty());
  // The DELETE retransmitted and answered: done.
  p.fire_a(timer_kind::old_ike);
  p.run();
  w.check(*p.initiator);
  auto out = w.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, 7u);
  EXPECT_TRUE(out[0].ok) << out[0].error;
  EXPECT_TRUE(w.empty());
}

TEST(IkeRekeyWaiters, ARekeyUnderWayIsWaitedFor) {
  pair p;
  ike_rekey_waiters w;
  w.add(1, *p.initiator, p.initiator->request_ike_rekey());
  // A second operation while the first rekey is in flight: request_ike_rekey refuses, but the
  // rekey under way completes it too.
  bool again = p.initiator->request_ike_rekey();
  EXPECT_FALSE(again);
  w.add(2, *p.initiator, again);
  w.check(*p.initiator);
  EXPECT_TRUE(w.take().empty());
  p.collect_a();
  p.run();
  w.check(*p.initiator);
  auto out = w.take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok && out[1].ok);
}

TEST(IkeRekeyWaiters, NotEstablishedFailsAtOnce) {
  pair p;
  p.initiator->close("test");
  p.collect_a();
  ike_rekey_waiters w;
  w.add(3, *p.initiator, p.initiator->request_ike_rekey());
  auto out = w.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_NE(out[0].error.find("not rekeyed"), std::string::npos) << out[0].error;
}

TEST(IkeRekeyWaiters, RefusedByThePeerFails) {
  pair p;
  ike_rekey_waiters w;
  // B has a request of its own outstanding, so it answers A's rekey with TEMPORARY_FAILURE.
  p.responder->request_liveness_check();
  p.collect_b();
  ASSERT_FALSE(p.to_a.empty());
  auto b_request = p.to_a.front();
  p.to_a.pop_front();
  w.add(4, *p.initiator, p.initiator->request_ike_rekey());
  p.collect_a();
  p.run();
  w.check(*p.initiator);
  auto out = w.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_NE(out[0].error.find("the rekey failed"), std::string::npos) << out[0].error;
  p.deliver_to_a(b_request);
  p.run();
}

TEST(IkeRekeyWaiters, ClosedMeanwhileFails) {
  pair p;
  ike_rekey_waiters w;
  w.add(5, *p.initiator, p.initiator->request_ike_rekey());
  p.collect_a();
  w.close("terminated");
  auto out = w.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].error, "the IKE SA closed: terminated");
  EXPECT_TRUE(w.empty());
}
