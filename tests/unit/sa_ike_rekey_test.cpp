// IKE SA rekeying between two engine IKE SAs in memory (RFC 7296 §1.3.2, §2.18): from either
// side, with INVALID_KE_PAYLOAD, the old SA deleted over its old keys, the CHILD_SAs moved over
// unchanged, and the new SA carrying CHILD_SA rekeys and DELETEs afterwards; simultaneous rekeys
// from both sides resolved by the nonce rule (§2.8.2), also when an answer is lost.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/proposal/parser.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/sa/nonce_rule.hpp"
#include "engine/sa/summary.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

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

// list-sas: the old SA shows in the summary of the SA that replaced it until its DELETE is done,
// as DELETING where our DELETE is out and REKEYED where the peer's is awaited.
TEST(SaIkeRekey, SummaryShowsTheOldSaUntilItsDeleteIsDone) {
  pair p;
  EXPECT_TRUE(summarize(*p.initiator).retiring.empty());
  const std::uint64_t old_a = p.initiator->local_spi(), old_b = p.responder->local_spi();
  ASSERT_TRUE(p.initiator->request_ike_rekey());
  p.collect_a();
  p.run(2);  // the DELETE of the old SA is lost
  const auto sa = summarize(*p.initiator), sb = summarize(*p.responder);
  // The current SPIs are the new SA's; one IKE SA with its CHILD_SA, plus the retiring record.
  EXPECT_EQ(sa.local_spi, p.initiator->local_spi());
  EXPECT_NE(sa.local_spi, old_a);
  EXPECT_EQ(sa.children.size(), 1u);
  ASSERT_EQ(sa.retiring.size(), 1u);
  EXPECT_EQ(sa.retiring[0].local_spi, old_a);
  EXPECT_EQ(sa.retiring[0].remote_spi, old_b);
  EXPECT_EQ(sa.retiring[0].state, "DELETING");
  EXPECT_EQ(sa.retiring[0].kind, "old");
  ASSERT_EQ(sb.retiring.size(), 1u);
  EXPECT_EQ(sb.retiring[0].local_spi, old_b);
  EXPECT_EQ(sb.retiring[0].remote_spi, old_a);
  EXPECT_EQ(sb.retiring[0].state, "REKEYED");
  EXPECT_EQ(sb.retiring[0].kind, "old");
  p.fire_a(timer_kind::old_ike);
  p.run();
  EXPECT_TRUE(summarize(*p.initiator).retiring.empty());
  EXPECT_TRUE(summarize(*p.responder).retiring.empty());
}

TEST(SaIkeRekey, SummaryShowsARedundantSaOfACollision) {
  // As in RedundantSaThePeerNeverLearntDoesNotHoldUpTheNextRekey: B keeps its redundant SA and
  // waits for A's DELETE of it, which never comes.
  bool seen = false;
  for (int i = 0; i < 64 && !seen; ++i) {
    pair p;
    ASSERT_TRUE(p.initiator->request_ike_rekey());
    ASSERT_TRUE(p.responder->request_ike_rekey());
    p.collect_a();
    p.collect_b();
    p.run(3);
    p.fire_a(timer_kind::retransmit);
    p.fire_b(timer_kind::retransmit);
    p.run();
    if (p.responder->redundant_local_spi() == 0) continue;
    seen = true;
    const auto sb = summarize(*p.responder);
    ASSERT_EQ(sb.retiring.size(), 1u) << p.all_logs();
    EXPECT_EQ(sb.retiring[0].local_spi, p.responder->redundant_local_spi());
    EXPECT_NE(sb.retiring[0].local_spi, sb.local_spi);
    EXPECT_NE(sb.retiring[0].remote_spi, 0u);
    EXPECT_EQ(sb.retiring[0].kind, "redundant");
    EXPECT_EQ(sb.retiring[0].state, "REKEYED");
    p.fire_b(timer_kind::redundant_ike);
    EXPECT_TRUE(summarize(*p.responder).retiring.empty());
  }
  EXPECT_TRUE(seen);
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

// --- Simultaneous IKE SA rekeys (§2.8.2) ---------------------------------------------------

// What the wire shows of one collision, read with the old SA's keys (independently of the
// engine's own bookkeeping): each side's CREATE_CHILD_SA exchange, its nonces and the SPIs of
// the SA it makes; then the DELETEs sent on the old SA and on the two new ones.
struct rekey_exchange {
  bytes ni, nr;
  std::uint64_t spi_i = 0, spi_r = 0;
  bool request_seen = false, response_seen = false;
};

struct collision_watch {
  std::uint64_t old_i = 0, old_r = 0;
  std::unique_ptr<crypto::sk_cipher> cipher;
  crypto::sk_keys from_a, from_b;  // what A and B send on the old SA
  rekey_exchange by_a, by_b;       // the exchange A started, the one B started
  // INFORMATIONAL requests, by SPI pair and sender.
  std::vector<std::pair<std::pair<std::uint64_t, std::uint64_t>, bool>> informational_requests;

  bool a_was_initiator = false;

  explicit collision_watch(const pair& p)
      : old_i(p.initiator->spi_i()), old_r(p.initiator->spi_r()), a_was_initiator(p.initiator->is_initiator()) {
    auto alg = proposal::algorithms_of(p.initiator->selected_ike_proposal());
    auto c = crypto::sk_cipher::create(alg.encr, alg.encr_key_bits, alg.integ);
    if (c) cipher = std::move(*c);
    const auto& k = p.initiator->keys_for_debugging();
    crypto::sk_keys from_initiator{k.sk_ei, k.sk_ai}, from_responder{k.sk_er, k.sk_ar};
    from_a = p.initiator->is_initiator() ? from_initiator : from_responder;
    from_b = p.initiator->is_initiator() ? from_responder : from_initiator;
  }

  void see(const send_datagram& d, bool from_a_side) {
    auto h = wire::parse_header(d.data);
    ASSERT_TRUE(h);
    if (h->exchange_type == wire::exchange::informational && !h->is_response())
      informational_requests.push_back({{h->spi_i, h->spi_r}, from_a_side});
    if (h->spi_i != old_i || h->spi_r != old_r || h->exchange_type != wire::exchange::create_child_sa) return;
    auto m = wire::open_message(d.data, *cipher, from_a_side ? from_a : from_b);
    ASSERT_TRUE(m) << m.err().message;
    auto* nonce = wire::find_first<wire::nonce_payload>(m->payloads, wire::payload_type::nonce);
    auto* sa = wire::find_first<wire::sa_payload>(m->payloads, wire::payload_type::sa);
    if (!nonce || !sa) return;  // TEMPORARY_FAILURE and the like
    // A request from A and its answer from B make the exchange A started, and vice versa.
    bool started_by_a = h->is_response() ? !from_a_side : from_a_side;
    auto& x = started_by_a ? by_a : by_b;
    auto spi = get_u64(sa->proposals.front().spi.data());
    if (h->is_response()) {
      x.nr = nonce->data;
      x.spi_r = spi;
      x.response_seen = true;
    } else {
      x.ni = nonce->data;
      x.spi_i = spi;
      x.request_seen = true;
    }
  }

  int deletes(std::uint64_t spi_i, std::uint64_t spi_r, bool from_a_side) const {
    return static_cast<int>(std::count(informational_requests.begin(), informational_requests.end(),
                                       std::make_pair(std::make_pair(spi_i, spi_r), from_a_side)));
  }
  int informational_on(std::uint64_t spi_i, std::uint64_t spi_r) const {
    return deletes(spi_i, spi_r, true) + deletes(spi_i, spi_r, false);
  }
};

// Both rekey before either sees the other's request; `lose` drops that delivery of pair::run
// (-1: none). Afterwards both ends hold the SA the nonce rule keeps; returns true if it was the
// one A started.
bool collide(pair& p, int lose = -1) {
  expect_matching_ike(p);
  collision_watch w(p);
  p.on_wire = [&](const send_datagram& d, bool from_a) { w.see(d, from_a); };
  const auto children_a = p.initiator->children();
  const auto children_b = p.responder->children();
  const std::size_t installs = p.installed_a.size() + p.installed_b.size();
  const std::size_t removals = p.removed_a.size() + p.removed_b.size();
  const std::size_t retired_a = p.retired_a.size(), retired_b = p.retired_b.size();
  const int drops = p.drops;
  EXPECT_TRUE(p.initiator->request_ike_rekey());
  EXPECT_TRUE(p.responder->request_ike_rekey());
  p.collect_a();
  p.collect_b();
  p.run(lose);
  // Whatever waits for a lost message: the retransmission of a request whose answer was lost,
  // the other side keeping a redundant SA whose DELETE cannot come (its starter never learnt
  // its keys).
  p.fire_a(timer_kind::retransmit);
  p.fire_b(timer_kind::retransmit);
  p.run();
  p.fire_b(timer_kind::redundant_ike);
  p.fire_a(timer_kind::redundant_ike);
  p.run();
  p.on_wire = nullptr;
  SCOPED_TRACE(p.all_logs());

  // Both exchanges ran to the end on the wire.
  EXPECT_TRUE(w.by_a.request_seen && w.by_a.response_seen);
  EXPECT_TRUE(w.by_b.request_seen && w.by_b.response_seen);
  // The exchange with the lowest of the four nonces made the redundant SA.
  const bytes& low_a = lower_nonce(w.by_a.ni, w.by_a.nr);
  const bytes& low_b = lower_nonce(w.by_b.ni, w.by_b.nr);
  EXPECT_NE(low_a, low_b);
  const bool a_survives = less_nonce(low_b, low_a);
  const auto& win = a_survives ? w.by_a : w.by_b;
  const auto& lose_x = a_survives ? w.by_b : w.by_a;
  // One IKE SA on each side, the same, the survivor's; started by the side whose SA survived.
  expect_matching_ike(p);
  EXPECT_EQ(p.initiator->spi_i(), win.spi_i);
  EXPECT_EQ(p.initiator->spi_r(), win.spi_r);
  EXPECT_EQ(p.initiator->is_initiator(), a_survives);
  EXPECT_EQ(p.initiator->retiring_local_spi(), 0u);
  EXPECT_EQ(p.responder->retiring_local_spi(), 0u);
  EXPECT_EQ(p.initiator->redundant_local_spi(), 0u);
  EXPECT_EQ(p.responder->redundant_local_spi(), 0u);
  // Exactly one DELETE of the old SA, by the side that started the surviving exchange, and at
  // most one of the redundant SA, by the side that started its exchange (none when that side
  // never saw its answer), and nothing else on it.
  EXPECT_EQ(w.deletes(w.old_i, w.old_r, a_survives), 1);
  EXPECT_EQ(w.deletes(w.old_i, w.old_r, !a_survives), 0);
  if (lose < 0) {
    EXPECT_EQ(w.deletes(lose_x.spi_i, lose_x.spi_r, !a_survives), 1);
  }
  EXPECT_LE(w.deletes(lose_x.spi_i, lose_x.spi_r, !a_survives), 1);
  EXPECT_EQ(w.deletes(lose_x.spi_i, lose_x.spi_r, a_survives), 0);
  EXPECT_EQ(w.informational_on(win.spi_i, win.spi_r), 0);
  // The old SPIs and the redundant ones went away on both sides: the old SA's and the
  // redundant SA's local SPI retired on each (B's redundant SA is A's too).
  EXPECT_GE(p.retired_a.size(), retired_a + 1);
  EXPECT_GE(p.retired_b.size(), retired_b + 1);
  auto retired_since = [](const std::vector<std::uint64_t>& v, std::size_t from, std::uint64_t spi) {
    return std::count(v.begin() + static_cast<long>(from), v.end(), spi);
  };
  EXPECT_EQ(retired_since(p.retired_a, retired_a, w.a_was_initiator ? w.old_i : w.old_r), 1);
  EXPECT_EQ(retired_since(p.retired_b, retired_b, w.a_was_initiator ? w.old_r : w.old_i), 1);
  // Our SPI of the redundant SA: the initiator's if we started its exchange.
  const std::uint64_t redundant_a = a_survives ? lose_x.spi_r : lose_x.spi_i;
  const std::uint64_t redundant_b = a_survives ? lose_x.spi_i : lose_x.spi_r;
  if (lose < 0) {
    EXPECT_EQ(retired_since(p.retired_a, retired_a, redundant_a), 1);
    EXPECT_EQ(retired_since(p.retired_b, retired_b, redundant_b), 1);
  }
  EXPECT_EQ(retired_since(p.retired_a, retired_a, win.spi_i) + retired_since(p.retired_a, retired_a, win.spi_r), 0);
  EXPECT_EQ(retired_since(p.retired_b, retired_b, win.spi_i) + retired_since(p.retired_b, retired_b, win.spi_r), 0);
  // The CHILD_SAs moved over unchanged.
  EXPECT_EQ(p.installed_a.size() + p.installed_b.size(), installs);
  EXPECT_EQ(p.removed_a.size() + p.removed_b.size(), removals);
  EXPECT_EQ(p.initiator->children().size(), children_a.size());
  EXPECT_EQ(p.responder->children().size(), children_b.size());
  for (const auto& [id, c] : children_a) {
    EXPECT_TRUE(p.initiator->children().count(id));
    if (p.initiator->children().count(id)) {
      EXPECT_EQ(p.initiator->children().at(id).encr_in, c.encr_in);
    }
  }
  EXPECT_TRUE(p.closed_a.empty());
  EXPECT_TRUE(p.closed_b.empty());
  if (lose < 0) {
    EXPECT_EQ(p.drops, drops);
  }
  return a_survives;
}

TEST(SaIkeRekey, SimultaneousRekeysFollowTheNonceRule) {
  // Repeated collisions on the same SA: the nonces are random, so both outcomes come up (the
  // chance that 64 collisions all go one way is 2^-63).
  pair p;
  int won_by_a = 0, won_by_b = 0;
  for (int i = 0; i < 64 && (won_by_a < 3 || won_by_b < 3); ++i) {
    SCOPED_TRACE("collision " + std::to_string(i));
    if (collide(p))
      ++won_by_a;
    else
      ++won_by_b;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GE(won_by_a, 3);
  EXPECT_GE(won_by_b, 3);
  EXPECT_TRUE(p.logged("has the lowest nonce and is redundant, we delete it"));
  EXPECT_TRUE(p.logged("has the lowest nonce and is redundant, the peer deletes it"));
  EXPECT_FALSE(p.logged("TEMPORARY_FAILURE"));
  // The CHILD_SA still works over the surviving SA: rekey it, then a normal IKE rekey, then delete.
  rekey_child_after(p);
  rekey_ike(p, false);
  p.initiator->request_delete();
  p.collect_a();
  p.run();
  EXPECT_EQ(p.closed_a, "deleted");
  EXPECT_EQ(p.closed_b, "deleted by peer");
}

TEST(SaIkeRekey, SimultaneousRekeysWithALostAnswer) {
  // Deliveries of pair::run: A's request to B (0), B's request to A (1), A's answer to B (2),
  // B's answer to A (3). Losing B's answer leaves A undecided while B decides: B's DELETE of the
  // old SA (B's SA won) or of its redundant SA (A's SA won) reaches A first; A's retransmission
  // gets the cached answer when it still needs it. Losing A's answer is the mirror image.
  for (int lost : {3, 2}) {
    pair p;
    int won_by_a = 0, won_by_b = 0;
    for (int i = 0; i < 64 && (won_by_a < 2 || won_by_b < 2); ++i) {
      SCOPED_TRACE("lost delivery " + std::to_string(lost) + ", collision " + std::to_string(i));
      if (collide(p, lost))
        ++won_by_a;
      else
        ++won_by_b;
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_GE(won_by_a, 2);
    EXPECT_GE(won_by_b, 2);
    // Both ways the undecided side learns the outcome were taken.
    EXPECT_TRUE(p.logged("the peer deleted the old SA before our rekey completed")) << p.all_logs();
    EXPECT_TRUE(p.logged("gone: the peer deleted it as redundant")) << p.all_logs();
    rekey_child_after(p);
  }
}

TEST(SaIkeRekey, RedundantSaThePeerNeverLearntDoesNotHoldUpTheNextRekey) {
  // B's answer to A's request is lost and B's SA wins: B deletes the old SA, A takes B's SA
  // without ever learning its own, so B waits in vain for A's DELETE of it. The next rekey, from
  // either side, goes through at once and drops B's redundant record.
  for (bool from_a : {true, false}) {
    bool seen = false;
    for (int i = 0; i < 64 && !seen; ++i) {
      pair p;
      ASSERT_TRUE(p.initiator->request_ike_rekey());
      ASSERT_TRUE(p.responder->request_ike_rekey());
      p.collect_a();
      p.collect_b();
      p.run(3);
      p.fire_a(timer_kind::retransmit);
      p.fire_b(timer_kind::retransmit);
      p.run();
      if (p.responder->redundant_local_spi() == 0) continue;  // A's SA won: nothing lingers
      seen = true;
      SCOPED_TRACE(p.all_logs());
      expect_matching_ike(p);
      EXPECT_TRUE(p.logged("A: IKE SA rekey collision: the peer deleted the old SA before our rekey completed"));
      const std::uint64_t lingering = p.responder->redundant_local_spi();
      const auto rekeys = p.rekeyed_a.size();
      if (from_a) {
        ASSERT_TRUE(p.initiator->request_ike_rekey());
        p.collect_a();
      } else {
        ASSERT_TRUE(p.responder->request_ike_rekey());
        p.collect_b();
      }
      p.run();
      EXPECT_EQ(p.rekeyed_a.size(), rekeys + 1);
      EXPECT_FALSE(p.logged("TEMPORARY_FAILURE"));
      EXPECT_TRUE(p.logged("B: redundant IKE SA"));
      EXPECT_TRUE(p.logged("gone: no DELETE from the peer before the next rekey"));
      EXPECT_EQ(p.responder->redundant_local_spi(), 0u);
      EXPECT_EQ(std::count(p.retired_b.begin(), p.retired_b.end(), lingering), 1);
      expect_matching_ike(p);
      EXPECT_EQ(p.initiator->children().size(), 1u);
    }
    EXPECT_TRUE(seen);
  }
}

TEST(SaIkeRekey, PeerRekeyRefusedWhileOurChildRekeyIsOutstanding) {
  // §2.8.2 wants a collision with another exchange of ours on the SA refused for the moment.
  pair p;
  const auto old_i = p.initiator->spi_i();
  ASSERT_TRUE(p.initiator->request_child_rekey(p.initiator->children().begin()->first));
  ASSERT_TRUE(p.responder->request_ike_rekey());
  p.collect_a();
  p.collect_b();
  p.run();
  SCOPED_TRACE(p.all_logs());
  EXPECT_TRUE(p.logged("A: IKE SA rekey from peer declined for now (busy): TEMPORARY_FAILURE"));
  EXPECT_TRUE(p.logged("B: IKE SA not rekeyed: peer answered TEMPORARY_FAILURE"));
  EXPECT_EQ(p.initiator->spi_i(), old_i);
  expect_matching_ike(p);
  // B retries later and that goes through.
  ASSERT_TRUE(p.timers_b.count(timer_kind::ike_rekey));
  p.fire_b(timer_kind::ike_rekey);
  p.run();
  EXPECT_NE(p.initiator->spi_i(), old_i);
  expect_matching_ike(p);
}
