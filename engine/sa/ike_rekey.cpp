// CREATE_CHILD_SA for rekeying the IKE SA itself (RFC 7296 §1.3.2, §2.18) and the IKE SA's
// rekey_time. Part of sa::ike_sa: the same object continues as the new SA. It switches SPIs,
// keys and message windows once the exchange is complete, and keeps the old SA's SPIs, keys and
// window in a small "retiring" record until the old SA's DELETE is done.
//
// Collisions (§2.8.2): when the peer's rekey request arrives while ours is outstanding, we
// answer it and keep the SA it made aside (collision_). Once our own exchange completes, the
// SA made with the lowest of the four nonces is redundant: the end that started its exchange
// deletes it (a "redundant" record much like the retiring one), and we continue as the other.
// The end that started the surviving exchange deletes the old SA, as after any rekey.
#include <algorithm>

#include "engine/crypto/random.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/ike_sa.hpp"
#include "engine/sa/nonce_rule.hpp"
#include "engine/sa/sa_payloads.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::sa {

using wire::payload_type;
using namespace detail;

namespace {

constexpr int max_ike_rekey_ke_retries = 2;
// After the peer refused a rekey for the moment (TEMPORARY_FAILURE, §2.25: busy, or rekeying the
// IKE SA itself at the same moment), or while the old SA of the last rekey is still being
// deleted, try again 10 to 20 s later: at random, so two sides that collided do not collide again.
std::chrono::milliseconds ike_rekey_retry_delay() {
  return std::chrono::milliseconds(10000 + crypto::random_u64() % 10001);
}
// The responder of a rekey keeps the old SA this long for the peer's DELETE (and for
// retransmissions of the rekey request whose answer was lost).
constexpr std::chrono::milliseconds old_sa_linger{60000};

bytes u64_bytes(std::uint64_t v) {
  bytes b;
  put_u64(b, v);
  return b;
}

std::string spi_pair(std::uint64_t i, std::uint64_t r) { return to_hex(u64_bytes(i)) + "_i " + to_hex(u64_bytes(r)) + "_r"; }

std::uint64_t fresh_ike_spi() {
  std::uint64_t spi = 0;
  while (spi == 0) spi = crypto::random_u64();
  return spi;
}

}  // namespace

std::uint64_t ike_sa::retiring_local_spi() const {
  if (!retiring_) return 0;
  return retiring_->initiator ? retiring_->spi_i : retiring_->spi_r;
}

std::uint64_t ike_sa::redundant_local_spi() const {
  if (redundant_) return redundant_->initiator ? redundant_->spi_i : redundant_->spi_r;
  if (collision_) return collision_->sa.spi_r;
  return 0;
}

std::vector<ike_sa::spare_view> ike_sa::spare_sas() const {
  std::vector<spare_view> v;
  for (const auto* r : {&retiring_, &redundant_}) {
    if (!*r) continue;
    const retiring_sa& x = **r;
    v.push_back({x.initiator ? x.spi_i : x.spi_r, x.initiator ? x.spi_r : x.spi_i, r == &redundant_, x.we_delete});
  }
  return v;
}

bool ike_sa::ike_rekey_under_way() const {
  auto is_rekey = [](const queued_request& q) { return q.kind == queued::rekey_ike; };
  return ike_rekey_out_ || collision_ || (in_flight_ && is_rekey(*in_flight_)) ||
         std::any_of(queue_.begin(), queue_.end(), is_rekey);
}

boxed<ike_sa::retiring_sa>& ike_sa::spare_record(spare s) { return s == spare::old_sa ? retiring_ : redundant_; }

namespace {

timer_kind spare_timer(int redundant) { return redundant ? timer_kind::redundant_ike : timer_kind::old_ike; }
const char* spare_label(int redundant) { return redundant ? "redundant IKE SA " : "old IKE SA "; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifetime

void ike_sa::arm_ike_lifetime() {
  if (!conn_) return;
  // The hard lifetime counts from establishment or the last rekey (each makes a fresh SA).
  if (conn_->life_time.count() > 0) arm(timer_kind::ike_expire, conn_->life_time);
  if (conn_->rekey_time.count() <= 0) return;
  std::chrono::milliseconds jitter{0};
  if (conn_->rand_time.count() > 0)
    jitter = std::chrono::milliseconds(crypto::random_u64() % static_cast<std::uint64_t>(conn_->rand_time.count() + 1));
  arm(timer_kind::ike_rekey, std::max(conn_->rekey_time - jitter, std::chrono::milliseconds(1000)));
}

// ---------------------------------------------------------------------------------------------
// Initiator

void ike_sa::forget_lingering_redundant() {
  // A redundant SA the peer was to delete: the peer may never have learnt it (an answer lost;
  // it then drops it without a DELETE). It does not hold up the next rekey.
  if (redundant_ && !redundant_->we_delete) retire_spare(spare::redundant, "no DELETE from the peer before the next rekey");
}

bool ike_sa::request_ike_rekey() {
  forget_lingering_redundant();
  if (state_ != ike_state::established || ike_rekey_out_ || retiring_ || redundant_) return false;
  bool queued_already = std::any_of(queue_.begin(), queue_.end(), [](auto& q) { return q.kind == queued::rekey_ike; });
  if (queued_already) return false;
  queue_.push_back({queued::rekey_ike});
  start_next_request();
  return true;
}

bool ike_sa::send_ike_rekey(std::uint16_t group) {
  forget_lingering_redundant();
  if (retiring_ || redundant_) {
    // The old SA of the last rekey (or the redundant one of a collision) is not deleted yet;
    // one retiring SA at a time.
    log(log_level::info, "IKE SA rekey postponed: the previous rekey's old SA is still being deleted");
    ike_rekey_out_.reset();
    arm(timer_kind::ike_rekey, ike_rekey_retry_delay());
    return false;
  }
  ike_rekey_state rk = ike_rekey_out_ ? std::move(*ike_rekey_out_) : ike_rekey_state{};
  ike_rekey_out_.reset();
  if (rk.offered.empty()) {
    // The group in use first (§1.3.2 requires a KE; the peer accepted this group already).
    rk.offered = proposal::accepts_ke_group(conn_->ike_proposals, group)
                     ? proposal::with_ke_group_first(conn_->ike_proposals, group)
                     : conn_->ike_proposals;
    if (!proposal::accepts_ke_group(conn_->ike_proposals, group)) group = proposal::preferred_ke_group(conn_->ike_proposals);
  }
  auto ke = crypto::key_exchange::create(group);
  if (!ke) {
    log(log_level::error, "IKE SA not rekeyed: key exchange group " + std::to_string(group) + ": " + ke.err().message);
    return false;
  }
  rk.ke = std::move(*ke);
  rk.nonce = crypto::random_bytes(nonce_size);
  if (rk.new_spi == 0) rk.new_spi = fresh_ike_spi();
  for (auto& p : rk.offered) {
    p.protocol = wire::protocol_id::ike;
    p.spi = u64_bytes(rk.new_spi);
  }
  std::vector<wire::payload> inner;
  wire::sa_payload sa;
  sa.proposals = rk.offered;
  inner.push_back(wire::make_payload(payload_type::sa, std::move(sa)));
  inner.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{rk.nonce}));
  inner.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{group, rk.ke->public_value()}));
  log(log_level::info, "rekeying IKE SA " + spi_pair(spi_i_, spi_r_) + " with KE group " + std::to_string(group));
  ike_rekey_out_ = std::move(rk);
  send_request(wire::exchange::create_child_sa, std::move(inner));
  return true;
}

bool ike_sa::key_new_sa(new_sa& n, bytes& shared) {
  auto alg = proposal::algorithms_of(n.proposal);
  auto p = crypto::prf::create(alg.prf);
  auto c = crypto::sk_cipher::create(alg.encr, alg.encr_key_bits, alg.integ);
  if (!p || !c) {
    wipe(shared);
    log(log_level::warning, "IKE SA not rekeyed: algorithms not usable: " + proposal::to_string(n.proposal));
    return false;
  }
  // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), the rest as in §2.14 with the new SPIs.
  auto keys = crypto::derive_rekeyed_ike_keys(*prf_, keys_.sk_d, *p, n.ni, n.nr, shared, n.spi_i, n.spi_r,
                                              (*c)->encr_key_size(), (*c)->integ_key_size());
  wipe(shared);
  if (!keys) {
    log(log_level::warning, "IKE SA not rekeyed: key derivation failed: " + keys.err().message);
    return false;
  }
  n.prf = std::move(*p);
  n.cipher = std::move(*c);
  n.keys = std::move(*keys);
  return true;
}

void ike_sa::handle_ike_rekey_response(const wire::message& m) {
  in_flight_.reset();
  if (!ike_rekey_out_) return;
  auto ours = complete_ike_rekey(m);
  if (ike_rekey_out_) return;  // retried with another KE group; a collision stays undecided
  if (collision_) {
    resolve_ike_rekey_collision(std::move(ours));
    return;
  }
  if (!ours) return;
  switch_to_ = std::move(*ours);
  switch_to_new_sa();
}

std::optional<ike_sa::new_sa> ike_sa::complete_ike_rekey(const wire::message& m) {
  ike_rekey_state rk = std::move(*ike_rekey_out_);
  ike_rekey_out_.reset();
  const auto& ps = m.payloads;
  if (auto* e = first_error(ps)) {
    if (e->type == wire::notify::invalid_ke_payload) {
      std::uint16_t group = e->data.size() >= 2 ? get_u16(e->data.data()) : 0;
      if (group != rk.ke->group() && proposal::accepts_ke_group(conn_->ike_proposals, group) &&
          ++rk.ke_retries <= max_ike_rekey_ke_retries) {
        log(log_level::info, "peer asked for KE group " + std::to_string(group) + " to rekey the IKE SA, retrying");
        rk.offered = proposal::with_ke_group_first(conn_->ike_proposals, group);
        ike_rekey_out_ = std::move(rk);
        in_flight_ = queued_request{queued::rekey_ike};
        if (!send_ike_rekey(group)) in_flight_.reset();
        return std::nullopt;
      }
    }
    bool temporary = e->type == wire::notify::temporary_failure;
    log(temporary ? log_level::info : log_level::warning,
        "IKE SA not rekeyed: peer answered " + std::string(wire::notify_name(e->type)));
    if (temporary) arm(timer_kind::ike_rekey, ike_rekey_retry_delay());
    return std::nullopt;
  }
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* nr = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  if (!sa || !nr || !ke || sa->proposals.size() != 1 || sa->proposals.front().spi.size() != 8) {
    log(log_level::warning, "IKE SA not rekeyed: malformed CREATE_CHILD_SA response (SA, nonce or KE missing)");
    return std::nullopt;
  }
  auto chosen = proposal::check_reply(sa->proposals.front(), rk.offered, wire::protocol_id::ike);
  if (!chosen) {
    log(log_level::warning, "IKE SA not rekeyed: invalid IKE proposal in the answer: " + chosen.err().message);
    return std::nullopt;
  }
  auto alg = proposal::algorithms_of(*chosen);
  if (alg.ke == 0 || ke->group != alg.ke || rk.ke->group() != alg.ke) {
    log(log_level::warning, "IKE SA not rekeyed: peer chose KE group " + std::to_string(alg.ke) +
                                " without a matching KE payload");
    return std::nullopt;
  }
  auto shared = rk.ke->shared_secret(ke->data);
  if (!shared) {
    log(log_level::warning, "IKE SA not rekeyed: invalid KE payload: " + shared.err().message);
    return std::nullopt;
  }
  new_sa n;
  n.spi_i = rk.new_spi;
  n.spi_r = get_u64(sa->proposals.front().spi.data());
  n.initiator = true;
  n.proposal = *chosen;
  n.ni = rk.nonce;
  n.nr = nr->data;
  if (!key_new_sa(n, *shared)) return std::nullopt;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Responder

void ike_sa::handle_ike_rekey_request(const wire::message& m, std::vector<wire::payload>& reply) {
  const auto& ps = m.payloads;
  if (state_ == ike_state::established) forget_lingering_redundant();
  // Our own IKE SA rekey outstanding: a collision (§2.8.2), answered; the nonce rule decides
  // once ours completes.
  const bool collision = state_ == ike_state::established && ike_rekey_out_ && !collision_ && !retiring_ && !redundant_;
  if (!collision && (state_ != ike_state::established || ike_rekey_out_ || retiring_ || redundant_ ||
                     window_.request_outstanding())) {
    // Deleting, an old or redundant SA of the last rekey not deleted yet, or another request of
    // ours (a CHILD_SA exchange, a DELETE, ...) outstanding that must finish on this SA: the
    // peer tries again later (§2.25).
    log(log_level::info, "IKE SA rekey from peer declined for now (busy): TEMPORARY_FAILURE");
    reply.push_back(notify(wire::notify::temporary_failure));
    return;
  }
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* ni = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  if (!sa || !ni) {
    log(log_level::warning, "CREATE_CHILD_SA to rekey the IKE SA without SA or nonce");
    reply.push_back(notify(wire::notify::invalid_syntax));
    return;
  }
  auto chosen = proposal::select(sa->proposals, conn_->ike_proposals, wire::protocol_id::ike, ke ? ke->group : 0);
  if (!chosen || chosen->spi.size() != 8 || proposal::algorithms_of(*chosen).ke == 0) {
    log(log_level::warning, "IKE SA rekey from peer: NO_PROPOSAL_CHOSEN (" +
                                (chosen ? std::string("no 8-octet SPI or no KE group") : chosen.err().message) + ")");
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  auto alg = proposal::algorithms_of(*chosen);
  if (!ke || ke->group != alg.ke) {
    log(log_level::info, "IKE SA rekey from peer: asking for KE group " + std::to_string(alg.ke));
    reply.push_back(notify(wire::notify::invalid_ke_payload, u16_bytes(alg.ke)));
    return;
  }
  auto our_ke = crypto::key_exchange::create(alg.ke);
  auto shared = our_ke ? (*our_ke)->shared_secret(ke->data) : result<bytes>(our_ke.err());
  if (!shared) {
    log(log_level::warning, "IKE SA rekey from peer: key exchange failed: " + shared.err().message);
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  new_sa n;
  n.spi_i = get_u64(chosen->spi.data());
  n.spi_r = fresh_ike_spi();
  n.initiator = false;
  n.proposal = *chosen;
  n.ni = ni->data;
  n.nr = crypto::random_bytes(nonce_size);
  wire::proposal answer = *chosen;
  answer.spi = u64_bytes(n.spi_r);
  bytes nr = n.nr;
  if (!key_new_sa(n, *shared)) {
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  wire::sa_payload rsa;
  rsa.proposals.push_back(std::move(answer));
  reply.push_back(wire::make_payload(payload_type::sa, std::move(rsa)));
  reply.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{nr}));
  reply.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{alg.ke, (*our_ke)->public_value()}));
  if (collision) {
    // Our rekey is outstanding on this SA: keep the peer's new SA aside until it completes.
    log(log_level::info, "IKE SA rekey collision: the peer rekeys " + spi_pair(spi_i_, spi_r_) +
                             " too; answered, the nonce rule decides once our rekey completes");
    collision_sa c;
    c.nonces = exchange_nonces(n.ni, n.nr);
    c.sa = std::move(n);
    actions_.push_back(ike_spi_added{c.sa.spi_r});  // the peer may delete it before we decide
    collision_ = std::move(c);
    return;
  }
  switch_to_ = std::move(n);
  log(log_level::info, "IKE SA " + spi_pair(spi_i_, spi_r_) + " rekeyed by peer");
  // handle_protected switches to the new SA once this answer is out under the old one.
}

// ---------------------------------------------------------------------------------------------
// Collisions (§2.8.2)

namespace {

// The SPIs, keys and a fresh window of a new SA, for nothing but its DELETE.
template <class Record, class NewSa>
Record spare_of(NewSa& n) {
  Record r;
  r.spi_i = n.spi_i;
  r.spi_r = n.spi_r;
  r.initiator = n.initiator;
  r.we_delete = n.initiator;  // the end that started the exchange deletes the SA it made
  r.cipher = std::move(n.cipher);
  r.keys_in = n.initiator ? crypto::sk_keys{n.keys.sk_er, n.keys.sk_ar} : crypto::sk_keys{n.keys.sk_ei, n.keys.sk_ai};
  r.keys_out = n.initiator ? crypto::sk_keys{n.keys.sk_ei, n.keys.sk_ai} : crypto::sk_keys{n.keys.sk_er, n.keys.sk_ar};
  n.keys.wipe_all();
  return r;
}

}  // namespace

void ike_sa::resolve_ike_rekey_collision(std::optional<new_sa> ours) {
  collision_sa peer = std::move(*collision_);
  collision_.reset();
  timer_tokens_.erase(timer_kind::ike_rekey);  // no retry: one of the two rekeys went through
  if (!ours) {
    // Ours failed (refused, or unusable): the peer's rekey stands alone, as if there had been
    // no collision. The peer started it, so the peer deletes the old SA.
    log(log_level::info, "IKE SA rekey collision: our rekey failed, continuing with the peer's new SA " +
                             spi_pair(peer.sa.spi_i, peer.sa.spi_r));
    switch_to_ = std::move(peer.sa);
    switch_to_new_sa();
    return;
  }
  const bool ours_redundant = ours_is_redundant(exchange_nonces(ours->ni, ours->nr), peer.nonces, initiator_);
  new_sa& loser = ours_redundant ? *ours : peer.sa;
  new_sa& winner = ours_redundant ? peer.sa : *ours;
  log(log_level::info, "IKE SA rekey collision: " + std::string(ours_redundant ? "our" : "the peer's") + " new SA " +
                           spi_pair(loser.spi_i, loser.spi_r) + " has the lowest nonce and is redundant, " +
                           (ours_redundant ? "we delete it" : "the peer deletes it") + "; continuing with " +
                           spi_pair(winner.spi_i, winner.spi_r));
  retiring_sa r = spare_of<retiring_sa>(loser);
  switch_to_ = std::move(winner);
  switch_to_new_sa();
  redundant_ = std::move(r);
  if (redundant_->we_delete) {
    actions_.push_back(ike_spi_added{redundant_->spi_i});  // its DELETE's answer comes to our SPI
    send_spare_delete(spare::redundant);
  } else {
    arm(timer_kind::redundant_ike, old_sa_linger);
  }
}

void ike_sa::adopt_peer_rekey_after_old_deleted() {
  // Only the end that started the surviving exchange deletes the old SA: the peer's new SA won.
  // Our own request on the old SA is abandoned; should the peer have answered it, the SA that
  // made is redundant on its side and goes after a while there.
  log(log_level::info, "IKE SA rekey collision: the peer deleted the old SA before our rekey completed; "
                       "continuing with the peer's new SA " + spi_pair(collision_->sa.spi_i, collision_->sa.spi_r));
  ike_rekey_out_.reset();
  in_flight_.reset();
  timer_tokens_.erase(timer_kind::ike_rekey);
  switch_to_ = std::move(collision_->sa);
  collision_.reset();
  switch_to_new_sa();
  retire_old_sa("deleted by peer");
  start_next_request();
}

void ike_sa::handle_collision_sa(const wire::ike_header& h, bytes_view raw, const endpoint& local, const endpoint& remote) {
  auto& c = *collision_;
  if (h.is_initiator() == c.sa.initiator || h.is_response()) {
    drop("unexpected_exchange", "unexpected message on the peer's undecided new IKE SA");
    return;
  }
  switch (c.window.classify_request(h.message_id)) {
    case message_window::verdict::drop:
      drop("unexpected_message_id", "request on the peer's new IKE SA with message id " + std::to_string(h.message_id));
      return;
    case message_window::verdict::retransmit:
      transmit_all(c.window.cached_response(), local, remote);
      return;
    case message_window::verdict::process:
      break;
  }
  const crypto::sk_keys keys_in{c.sa.keys.sk_ei, c.sa.keys.sk_ai};
  auto m = wire::open_message(raw, *c.sa.cipher, keys_in);
  if (!m) {
    drop("integrity", "request on the peer's new IKE SA does not verify: " + m.err().message);
    return;
  }
  bool delete_ike = false;
  if (h.exchange_type == wire::exchange::informational)
    for (const auto& p : m->payloads)
      if (p.type == payload_type::del && std::get<wire::delete_payload>(p.body).protocol == wire::protocol_id::ike)
        delete_ike = true;
  if (!delete_ike) {
    // The peer already uses it as the winner; it retransmits once we have decided too.
    drop("not_ready", "request on the peer's new IKE SA before our colliding rekey completed");
    return;
  }
  wire::ike_header rh;
  rh.spi_i = c.sa.spi_i;
  rh.spi_r = c.sa.spi_r;
  rh.exchange_type = h.exchange_type;
  rh.flags = wire::flag::response;
  rh.message_id = h.message_id;
  auto data = wire::seal_message(rh, {}, *c.sa.cipher, crypto::sk_keys{c.sa.keys.sk_er, c.sa.keys.sk_ar});
  if (!data) {
    log(log_level::error, "cannot protect a response on the peer's new IKE SA: " + data.err().message);
    return;
  }
  transmit(*data, local, remote);
  drop_collision_sa("the peer deleted it as redundant");
}

void ike_sa::drop_collision_sa(const std::string& why) {
  if (!collision_) return;
  log(log_level::info, "IKE SA rekey collision: the peer's new SA " + spi_pair(collision_->sa.spi_i, collision_->sa.spi_r) +
                           " gone: " + why);
  ike_retired r{collision_->sa.spi_r};
  collision_.reset();
  actions_.push_back(r);
}

// ---------------------------------------------------------------------------------------------
// The switch

void ike_sa::switch_to_new_sa() {
  if (!switch_to_) return;
  new_sa n = std::move(*switch_to_);
  switch_to_.reset();
  retiring_sa old;
  old.spi_i = spi_i_;
  old.spi_r = spi_r_;
  old.initiator = initiator_;
  old.we_delete = n.initiator;
  old.cipher = std::move(cipher_);
  old.keys_in = std::move(keys_in_);
  old.keys_out = std::move(keys_out_);
  old.window = std::move(window_);

  ike_rekeyed ev;
  ev.old_spi_i = spi_i_;
  ev.old_spi_r = spi_r_;
  ev.old_local_spi = local_spi();
  spi_i_ = n.spi_i;
  spi_r_ = n.spi_r;
  initiator_ = n.initiator;
  ike_proposal_ = std::move(n.proposal);
  prf_ = std::move(*n.prf);
  cipher_ = std::move(n.cipher);
  keys_ = std::move(n.keys);
  keys_in_ = initiator_ ? crypto::sk_keys{keys_.sk_er, keys_.sk_ar} : crypto::sk_keys{keys_.sk_ei, keys_.sk_ai};
  keys_out_ = initiator_ ? crypto::sk_keys{keys_.sk_ei, keys_.sk_ai} : crypto::sk_keys{keys_.sk_er, keys_.sk_ar};
  ni_ = std::move(n.ni);
  nr_ = std::move(n.nr);
  window_ = message_window{};  // §2.18: the new SA's message IDs start at 0
  fragments_.clear();
  timer_tokens_.erase(timer_kind::retransmit);
  timer_tokens_.erase(timer_kind::reassembly);
  ev.new_spi_i = spi_i_;
  ev.new_spi_r = spi_r_;
  ev.new_local_spi = local_spi();
  retiring_ = std::move(old);
  actions_.push_back(ev);
  log(log_level::info, "IKE SA rekeyed: " + spi_pair(ev.old_spi_i, ev.old_spi_r) + " -> " + spi_pair(spi_i_, spi_r_) +
                           " with " + proposal_string() + ", " + std::to_string(children_.size()) +
                           " CHILD_SA(s) moved over");
  arm_ike_lifetime();
  if (retiring_->we_delete)
    send_spare_delete(spare::old_sa);
  else
    arm(timer_kind::old_ike, old_sa_linger);
}

// ---------------------------------------------------------------------------------------------
// The old SA

void ike_sa::send_spare_delete(spare which) {
  auto& o = *spare_record(which);
  const bool red = which == spare::redundant;
  wire::ike_header h;
  h.spi_i = o.spi_i;
  h.spi_r = o.spi_r;
  h.exchange_type = wire::exchange::informational;
  h.flags = o.initiator ? wire::flag::initiator : 0;
  h.message_id = o.window.next_request_id();
  wire::delete_payload d;
  d.protocol = wire::protocol_id::ike;
  std::vector<wire::payload> inner;
  inner.push_back(wire::make_payload(payload_type::del, std::move(d)));
  auto data = wire::seal_message(h, inner, *o.cipher, o.keys_out);
  if (!data) {
    retire_spare(which, "its DELETE could not be protected: " + data.err().message);
    return;
  }
  transmit(*data, local_, remote_);
  o.window.request_sent(std::move(*data), local_, remote_);
  arm(spare_timer(red), conn_->retransmit.delay(0));
}

void ike_sa::on_spare_timer(spare which) {
  auto& rec = spare_record(which);
  if (!rec) return;
  auto& o = *rec;
  if (!o.we_delete) {
    retire_spare(which, "the peer did not delete it within " + std::to_string(old_sa_linger.count() / 1000) + " s");
    return;
  }
  if (!o.window.request_outstanding()) return;
  if (o.window.retransmissions() >= conn_->retransmit.tries) {
    retire_spare(which, "no answer to its DELETE");
    return;
  }
  o.window.count_retransmission();
  transmit_all(o.window.request(), local_, remote_);
  arm(spare_timer(which == spare::redundant), conn_->retransmit.delay(o.window.retransmissions()));
}

void ike_sa::retire_spare(spare which, const std::string& why) {
  auto& rec = spare_record(which);
  if (!rec) return;
  const bool red = which == spare::redundant;
  ike_retired r{rec->initiator ? rec->spi_i : rec->spi_r};
  log(log_level::info, spare_label(red) + spi_pair(rec->spi_i, rec->spi_r) + " gone: " + why);
  for (auto* k : {&rec->keys_in, &rec->keys_out}) {
    wipe(k->encr);
    wipe(k->integ);
  }
  rec.reset();
  timer_tokens_.erase(spare_timer(red));
  actions_.push_back(r);
}

void ike_sa::handle_spare(spare which, const wire::ike_header& h, bytes_view raw, const endpoint& local,
                          const endpoint& remote) {
  auto& o = *spare_record(which);
  const std::string what = which == spare::redundant ? "the redundant IKE SA" : "the old IKE SA";
  if (h.is_initiator() == o.initiator) {
    drop("wrong_flags", "message for " + what + " with the wrong initiator flag");
    return;
  }
  if (h.is_response()) {
    if (!o.window.is_response_to_outstanding(h.message_id)) {
      drop("unexpected_message_id", "unexpected response on " + what + ", message id " + std::to_string(h.message_id));
      return;
    }
    auto m = wire::open_message(raw, *o.cipher, o.keys_in);
    if (!m) {
      drop("integrity", "response on " + what + " does not verify: " + m.err().message);
      return;
    }
    o.window.response_received();
    retire_spare(which, "deleted");
    return;
  }
  switch (o.window.classify_request(h.message_id)) {
    case message_window::verdict::drop:
      drop("unexpected_message_id", "request on " + what + " with message id " + std::to_string(h.message_id));
      return;
    case message_window::verdict::retransmit:
      transmit_all(o.window.cached_response(), local, remote);
      return;
    case message_window::verdict::process:
      break;
  }
  auto m = wire::open_message(raw, *o.cipher, o.keys_in);
  if (!m) {
    drop("integrity", "request on " + what + " does not verify: " + m.err().message);
    return;
  }
  std::vector<wire::payload> reply;
  bool delete_ike = false;
  if (h.exchange_type == wire::exchange::informational) {
    // CHILD_SA deletes: the children are the same. (A redundant SA never carried any, but a
    // DELETE of one on it is answered all the same.)
    handle_informational_request(*m, reply);
    for (const auto& p : m->payloads)
      if (p.type == payload_type::del && std::get<wire::delete_payload>(p.body).protocol == wire::protocol_id::ike)
        delete_ike = true;
  } else if (h.exchange_type == wire::exchange::create_child_sa) {
    // §2.18: nothing new is made on the old SA once it is rekeyed (nor on a redundant one).
    reply.push_back(notify(wire::notify::temporary_failure));
  } else {
    drop("unexpected_exchange", "request of exchange type " + std::to_string(int(h.exchange_type)) + " on " + what);
    return;
  }
  if (!spare_record(which)) return;  // handle_informational_request cannot end it, but stay safe
  wire::ike_header rh;
  rh.spi_i = o.spi_i;
  rh.spi_r = o.spi_r;
  rh.exchange_type = h.exchange_type;
  rh.flags = wire::flag::response | (o.initiator ? wire::flag::initiator : 0);
  rh.message_id = h.message_id;
  auto data = wire::seal_message(rh, reply, *o.cipher, o.keys_out);
  if (!data) {
    log(log_level::error, "cannot protect a response on " + what + ": " + data.err().message);
    return;
  }
  transmit(*data, local, remote);
  o.window.response_sent(h.message_id, std::move(*data));
  if (delete_ike) retire_spare(which, "deleted by peer");
}

}  // namespace aike::sa
