// IKE SA rekeying between two engine IKE SAs in memory (RFC 7296 §1.3.2, §2.18): from either
// side, with INVALID_KE_PAYLOAD, the old SA deleted over its old keys, the CHILD_SAs moved over
// unchanged, and the new SA carrying CHILD_SA rekeys and DELETEs afterwards.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/message_codec.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

std::shared_ptr<connection> site(bool moon, std::vector<std::string> ike = {"aes256gcm16-prfsha256-x25519"}) {
  auto c = std::make_shared<connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals(ike);
  auto me = *auth::identity::parse(moon ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(moon ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("ike rekey test secret")});
  child_config net;
  net.name = "net";
  net.local_ts = {*ts::selector::parse(moon ? "10.1.0.0/24" : "10.2.0.0/24")};
  net.remote_ts = {*ts::selector::parse(moon ? "10.2.0.0/24" : "10.1.0.0/24")};
  net.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(net);
  return c;
}

struct pair : in_memory_pair {
  explicit pair(std::shared_ptr<connection> a = site(true), std::shared_ptr<connection> b = site(false))
      : in_memory_pair(std::move(a), std::move(b)) {
    start();
    run();
  }
  bool logged(const std::string& what) const {
    return std::any_of(logs.begin(), logs.end(), [&](auto& l) { return l.find(what) != std::string::npos; });
  }
  std::string all_logs() const {
    std::string s;
    for (auto& l : logs) s += l + "\n";
    return s;
  }
};

// Both SAs agree on SPIs and keys.
void expect_matching_ike(const pair& p) {
  const auto& a = *p.initiator;
  const auto& b = *p.responder;
  EXPECT_EQ(a.spi_i(), b.spi_i());
  EXPECT_EQ(a.spi_r(), b.spi_r());
  EXPECT_NE(a.is_initiator(), b.is_initiator());
  EXPECT_EQ(a.keys_for_debugging().sk_d, b.keys_for_debugging().sk_d);
  EXPECT_EQ(a.keys_for_debugging().sk_ei, b.keys_for_debugging().sk_ei);
  EXPECT_EQ(a.state(), ike_state::established);
  EXPECT_EQ(b.state(), ike_state::established);
}

void rekey_ike(pair& p, bool from_a) {
  expect_matching_ike(p);
  const std::uint64_t old_i = p.initiator->spi_i(), old_r = p.initiator->spi_r();
  const bytes old_d = p.initiator->keys_for_debugging().sk_d;
  const auto children_a = p.initiator->children();
  const auto children_b = p.responder->children();
  const std::size_t installs = p.installed_a.size() + p.installed_b.size();
  const std::size_t removals = p.removed_a.size() + p.removed_b.size();
  const std::size_t rekeys_a = p.rekeyed_a.size(), rekeys_b = p.rekeyed_b.size();
  if (from_a) {
    ASSERT_TRUE(p.initiator->request_ike_rekey());
    p.collect_a();
  } else {
    ASSERT_TRUE(p.responder->request_ike_rekey());
    p.collect_b();
  }
  p.run();
  SCOPED_TRACE(p.all_logs());
  expect_matching_ike(p);
  // New SPIs (both), new keys, and the side that started the rekey is the new original initiator.
  EXPECT_NE(p.initiator->spi_i(), old_i);
  EXPECT_NE(p.initiator->spi_r(), old_r);
  EXPECT_NE(p.initiator->spi_i(), old_r);
  EXPECT_NE(p.initiator->keys_for_debugging().sk_d, old_d);
  EXPECT_EQ(p.initiator->is_initiator(), from_a);
  // One ike_rekeyed on each side, naming the old and new SPIs; the old SAs are gone on both.
  ASSERT_EQ(p.rekeyed_a.size(), rekeys_a + 1);
  ASSERT_EQ(p.rekeyed_b.size(), rekeys_b + 1);
  const auto& ra = p.rekeyed_a.back();
  const auto& rb = p.rekeyed_b.back();
  EXPECT_EQ(ra.old_spi_i, old_i);
  EXPECT_EQ(ra.old_spi_r, old_r);
  EXPECT_EQ(ra.new_spi_i, p.initiator->spi_i());
  EXPECT_EQ(ra.new_spi_r, p.initiator->spi_r());
  EXPECT_EQ(rb.new_spi_i, ra.new_spi_i);
  EXPECT_EQ(ra.new_local_spi, p.initiator->local_spi());
  EXPECT_EQ(rb.new_local_spi, p.responder->local_spi());
  ASSERT_FALSE(p.retired_a.empty());
  ASSERT_FALSE(p.retired_b.empty());
  EXPECT_EQ(p.retired_a.back(), ra.old_local_spi);
  EXPECT_EQ(p.retired_b.back(), rb.old_local_spi);
  EXPECT_EQ(p.initiator->retiring_local_spi(), 0u);
  EXPECT_EQ(p.responder->retiring_local_spi(), 0u);
  // The CHILD_SAs moved over unchanged: nothing installed or removed.
  EXPECT_EQ(p.installed_a.size() + p.installed_b.size(), installs);
  EXPECT_EQ(p.removed_a.size() + p.removed_b.size(), removals);
  ASSERT_EQ(p.initiator->children().size(), children_a.size());
  for (const auto& [id, c] : children_a) {
    ASSERT_TRUE(p.initiator->children().count(id));
    EXPECT_EQ(p.initiator->children().at(id).spi_in, c.spi_in);
    EXPECT_EQ(p.initiator->children().at(id).encr_in, c.encr_in);
  }
  EXPECT_EQ(p.responder->children().size(), children_b.size());
  EXPECT_TRUE(p.closed_a.empty());
  EXPECT_TRUE(p.closed_b.empty());
  EXPECT_EQ(p.drops, 0);
}

// A CHILD_SA rekey over the new IKE SA; its keys come from the new SK_d.
void rekey_child_after(pair& p) {
  ASSERT_EQ(p.initiator->children().size(), 1u);
  auto old_id = p.initiator->children().begin()->first;
  ASSERT_TRUE(p.initiator->request_child_rekey(old_id));
  p.collect_a();
  p.run();
  SCOPED_TRACE(p.all_logs());
  ASSERT_EQ(p.initiator->children().size(), 1u);
  ASSERT_EQ(p.responder->children().size(), 1u);
  const auto& a = p.initiator->children().begin()->second;
  const auto& b = p.responder->children().begin()->second;
  EXPECT_NE(a.id, old_id);
  EXPECT_EQ(a.spi_in, b.spi_out);
  EXPECT_EQ(a.encr_in, b.encr_out);
  EXPECT_EQ(p.drops, 0);
}

}  // namespace

TEST(SaIkeRekey, StartedByOriginalInitiator) {
  pair p;
  rekey_ike(p, true);
  EXPECT_TRUE(p.logged("A: IKE SA rekeyed"));
  EXPECT_TRUE(p.logged("B: IKE SA rekeyed"));
  rekey_child_after(p);
}

TEST(SaIkeRekey, StartedByOriginalResponder) {
  pair p;
  rekey_ike(p, false);
  rekey_child_after(p);
}

TEST(SaIkeRekey, TwiceFromBothSidesThenDelete) {
  pair p;
  rekey_ike(p, true);
  rekey_ike(p, false);
  rekey_ike(p, false);
  rekey_child_after(p);
  // A DELETE of the IKE SA over the newest keys ends both.
  p.initiator->request_delete();
  p.collect_a();
  p.run();
  EXPECT_EQ(p.closed_a, "deleted");
  EXPECT_EQ(p.closed_b, "deleted by peer");
  EXPECT_EQ(p.drops, 0);
}

TEST(SaIkeRekey, MessageIdsStartAtZero) {
  pair p;
  // Some traffic first so the old SA's message IDs are past 0.
  p.initiator->request_liveness_check();
  p.collect_a();
  p.run();
  std::vector<std::uint32_t> ids;
  std::uint64_t new_spi_i = 0;
  p.on_wire = [&](const send_datagram& d, bool) {
    auto h = wire::parse_header(d.data);
    if (h && h->spi_i == new_spi_i) ids.push_back(h->message_id);
  };
  rekey_ike(p, true);
  new_spi_i = p.initiator->spi_i();
  p.initiator->request_liveness_check();
  p.collect_a();
  p.run();
  ASSERT_EQ(ids.size(), 2u);  // request and response
  EXPECT_EQ(ids[0], 0u);
  EXPECT_EQ(ids[1], 0u);
}

TEST(SaIkeRekey, OldSpisAreGoneAfterwards) {
  pair p;
  // A message of the old SA, replayed after the rekey, is no longer accepted.
  std::vector<send_datagram> old_msgs;
  p.initiator->request_liveness_check();
  p.on_wire = [&](const send_datagram& d, bool from_a) {
    if (from_a) old_msgs.push_back(d);
  };
  p.collect_a();
  p.run();
  p.on_wire = nullptr;
  ASSERT_FALSE(old_msgs.empty());
  rekey_ike(p, true);
  int drops = p.drops;
  p.deliver_to_b(old_msgs.front());
  EXPECT_GT(p.drops, drops);
  EXPECT_TRUE(p.to_a.empty());
}

TEST(SaIkeRekey, InvalidKePayloadRetry) {
  // A prefers x25519, B only takes ecp256: A's first KE is refused, the retry works. (Both
  // accept both at IKE_SA_INIT time, so the first SA uses x25519.)
  auto a = site(true, {"aes256gcm16-prfsha256-x25519-ecp256"});
  auto b = site(false, {"aes256gcm16-prfsha256-x25519-ecp256"});
  pair p(a, b);
  ASSERT_EQ(p.initiator->state(), ike_state::established) << p.all_logs();
  b->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-ecp256"});
  rekey_ike(p, true);
  EXPECT_TRUE(p.logged("A: peer asked for KE group 19"));
  EXPECT_NE(p.initiator->proposal_string().find("ecp256"), std::string::npos) << p.initiator->proposal_string();
}

TEST(SaIkeRekey, LostDeleteIsRetransmitted) {
  pair p;
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  p.collect_a();
  // Deliver: rekey request (0), answer (1), lose the DELETE of the old SA (2).
  p.run(2);
  EXPECT_NE(p.initiator->retiring_local_spi(), 0u);
  p.fire_a(timer_kind::old_ike);
  p.run();
  EXPECT_EQ(p.initiator->retiring_local_spi(), 0u);
  EXPECT_EQ(p.responder->retiring_local_spi(), 0u);
  EXPECT_EQ(p.retired_a.size(), 1u);
  EXPECT_EQ(p.retired_b.size(), 1u);
  expect_matching_ike(p);
}

TEST(SaIkeRekey, ResponderDropsOldSaWhenNoDeleteComes) {
  pair p;
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  p.collect_a();
  // Lose the DELETE and never retransmit it.
  p.run(2);
  EXPECT_NE(p.responder->retiring_local_spi(), 0u);
  p.fire_b(timer_kind::old_ike);
  EXPECT_EQ(p.responder->retiring_local_spi(), 0u);
  EXPECT_TRUE(p.logged("B: old IKE SA"));
  expect_matching_ike(p);
}

TEST(SaIkeRekey, NotWhileNotEstablishedOrTwice) {
  pair p;
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  EXPECT_FALSE(p.initiator->request_ike_rekey());
  p.collect_a();
  p.run();
  EXPECT_TRUE(p.initiator->request_ike_rekey());
  p.collect_a();
  p.run();
  p.initiator->close("test");
  p.collect_a();
  EXPECT_FALSE(p.initiator->request_ike_rekey());
}

TEST(SaIkeRekey, RekeyTimeStartsRekey) {
  auto a = site(true);
  a->rekey_time = std::chrono::milliseconds(60000);
  pair p(a, site(false));
  ASSERT_TRUE(p.timers_a.count(timer_kind::ike_rekey));
  EXPECT_FALSE(p.timers_b.count(timer_kind::ike_rekey));
  auto old = p.initiator->spi_i();
  p.fire_a(timer_kind::ike_rekey);
  p.run();
  EXPECT_NE(p.initiator->spi_i(), old);
  expect_matching_ike(p);
  EXPECT_EQ(p.rekeyed_a.size(), 1u);
}

TEST(SaIkeRekey, SimultaneousRekeysAreRefusedAndRetried) {
  // §2.8.1 collisions are not resolved by the nonce rule yet: both sides answer the other's
  // request with TEMPORARY_FAILURE, keep the old SA, and retry later (at a random delay).
  pair p;
  const auto old_i = p.initiator->spi_i();
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  ASSERT_TRUE(p.responder->request_ike_rekey());
  p.collect_a();
  p.collect_b();
  p.run();
  SCOPED_TRACE(p.all_logs());
  EXPECT_EQ(p.initiator->spi_i(), old_i);
  EXPECT_TRUE(p.rekeyed_a.empty());
  EXPECT_TRUE(p.rekeyed_b.empty());
  EXPECT_TRUE(p.logged("A: IKE SA not rekeyed: peer answered TEMPORARY_FAILURE"));
  EXPECT_TRUE(p.logged("B: IKE SA not rekeyed: peer answered TEMPORARY_FAILURE"));
  expect_matching_ike(p);
  EXPECT_EQ(p.initiator->children().size(), 1u);
  // The retry of one side (the other's comes later) goes through.
  ASSERT_TRUE(p.timers_a.count(timer_kind::ike_rekey));
  p.fire_a(timer_kind::ike_rekey);
  p.run();
  EXPECT_NE(p.initiator->spi_i(), old_i);
  expect_matching_ike(p);
}
