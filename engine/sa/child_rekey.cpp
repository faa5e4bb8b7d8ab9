// CREATE_CHILD_SA for rekeying CHILD_SAs (RFC 7296 §1.3.3, §2.8, §2.8.1, §2.17, §2.25.1) and
// the CHILD_SA lifetimes that start it. Part of sa::ike_sa; the exchange plumbing (windows,
// retransmission, protection) is in ike_sa.cpp.
#include <algorithm>

#include "engine/crypto/random.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/ike_sa.hpp"
#include "engine/sa/nonce_rule.hpp"
#include "engine/sa/sa_payloads.hpp"

namespace aike::sa {

using wire::payload_type;
using namespace detail;

namespace {

constexpr int max_rekey_ke_retries = 2;
// After a rekey the peer refused for the moment (TEMPORARY_FAILURE, §2.25), try again this much later.
constexpr std::chrono::milliseconds rekey_retry_delay{15000};

std::string child_label(const child_sa& c) { return "CHILD_SA " + c.name + "{" + std::to_string(c.id) + "}"; }

// The configured selectors of a child; empty means the host addresses of the IKE SA.
std::vector<ts::selector> or_host(const std::vector<ts::selector>& configured, const endpoint& e) {
  return configured.empty() ? std::vector<ts::selector>{ts::host(e.addr.view())} : configured;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifetimes

void ike_sa::arm_child_lifetimes(const child_sa& ch) {
  const child_config* cc = conn_ ? conn_->find_child(ch.name) : nullptr;
  if (!cc) return;
  auto arm_for = [&](timer_kind kind, std::chrono::milliseconds after) {
    auto token = next_token_++;
    child_timers_[token] = ch.id;
    actions_.push_back(arm_timer{kind, after, token});
  };
  if (cc->rekey_time.count() > 0) {
    // rekey_time minus a random part of rand_time, so SAs made together do not rekey together.
    std::chrono::milliseconds jitter{0};
    if (cc->rand_time.count() > 0)
      jitter = std::chrono::milliseconds(crypto::random_u64() % static_cast<std::uint64_t>(cc->rand_time.count() + 1));
    arm_for(timer_kind::child_rekey, std::max(cc->rekey_time - jitter, std::chrono::milliseconds(1000)));
  }
  if (cc->life_time.count() > 0) arm_for(timer_kind::child_expire, cc->life_time);
}

void ike_sa::on_child_timer(timer_kind kind, std::uint64_t token) {
  auto t = child_timers_.find(token);
  if (state_ == ike_state::closed || t == child_timers_.end()) return;
  std::uint32_t id = t->second;
  child_timers_.erase(t);
  auto it = children_.find(id);
  if (it == children_.end()) return;
  if (kind == timer_kind::child_rekey) {
    if (superseded_.count(id)) return;  // already replaced
    log(log_level::info, child_label(it->second) + ": rekey_time reached, rekeying");
    if (!request_child_rekey(id)) log(log_level::debug, child_label(it->second) + ": no rekey started now");
    return;
  }
  if (it->second.state == child_state::deleting) return;
  log(log_level::warning, child_label(it->second) + ": life_time reached without a successful rekey, deleting it");
  request_child_delete(id);
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping

void ike_sa::remove_child_sa(std::map<std::uint32_t, child_sa>::iterator it) {
  bool rekeyed = superseded_.erase(it->first) > 0;
  it->second.state = child_state::deleted;
  it->second.wipe_keys();
  actions_.push_back(remove_child{it->second, rekeyed});
  children_.erase(it);
}

void ike_sa::queue_child_delete(std::uint32_t child_id, bool first) {
  queued_request q{queued::delete_child, child_id};
  if (first)
    queue_.push_front(q);
  else
    queue_.push_back(q);
}

// ---------------------------------------------------------------------------------------------
// Initiator

bool ike_sa::request_child_rekey(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end() || state_ != ike_state::established) return false;
  if (it->second.state != child_state::installed || superseded_.count(child_id)) return false;
  bool queued_already = std::any_of(queue_.begin(), queue_.end(), [&](const queued_request& q) {
    return (q.kind == queued::rekey_child || q.kind == queued::delete_child) && q.child_id == child_id;
  });
  if (queued_already) return false;
  queue_.push_back({queued::rekey_child, child_id});
  start_next_request();
  return true;
}

bool ike_sa::send_child_rekey(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end() || it->second.state != child_state::installed || superseded_.count(child_id))
    return false;
  const child_config* cc = conn_->find_child(it->second.name);
  if (!cc) {
    log(log_level::warning, child_label(it->second) + " not rekeyed: its configuration is gone");
    return false;
  }
  const child_sa& old = it->second;
  child_rekey rk;
  rk.old_id = child_id;
  rk.fresh.id = params_.env.new_child_id();
  rk.fresh.reqid = old.reqid;  // the kernel's policies stay; only the SAs change
  rk.fresh.name = old.name;
  rk.fresh.mode = old.mode;
  rk.fresh.spi_in = params_.env.new_child_spi();
  // The same selectors as the old SA (§2.8: a rekeyed SA SHOULD NOT change them).
  rk.fresh.local_ts = old.local_ts;
  rk.fresh.remote_ts = old.remote_ts;
  rk.offered = cc->esp_proposals;
  return send_rekey_request(std::move(rk), proposal::preferred_ke_group(cc->esp_proposals));
}

bool ike_sa::send_rekey_request(child_rekey rk, std::uint16_t group) {
  auto it = children_.find(rk.old_id);
  if (it == children_.end()) return false;
  rk.ke.reset();
  if (group != 0) {
    auto ke = crypto::key_exchange::create(group);
    if (!ke) {
      log(log_level::error, child_label(it->second) + " not rekeyed: key exchange group " + std::to_string(group) + ": " +
                                ke.err().message);
      return false;
    }
    rk.ke = std::move(*ke);
  }
  rk.nonce = crypto::random_bytes(nonce_size);
  for (auto& p : rk.offered) {
    p.protocol = wire::protocol_id::esp;
    p.spi = u32_bytes(rk.fresh.spi_in);
  }
  std::vector<wire::payload> inner;
  // §1.3.3: REKEY_SA names the SA by the SPI we receive on.
  inner.push_back(notify(wire::notify::rekey_sa, {}, wire::protocol_id::esp, u32_bytes(it->second.spi_in)));
  if (rk.fresh.mode == child_mode::transport) inner.push_back(notify(wire::notify::use_transport_mode));
  wire::sa_payload sa;
  sa.proposals = rk.offered;
  inner.push_back(wire::make_payload(payload_type::sa, std::move(sa)));
  inner.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{rk.nonce}));
  if (rk.ke) inner.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{group, rk.ke->public_value()}));
  inner.push_back(ts_payload_of(payload_type::tsi, rk.fresh.local_ts));
  inner.push_back(ts_payload_of(payload_type::tsr, rk.fresh.remote_ts));
  it->second.state = child_state::rekeying;
  log(log_level::info, "rekeying " + child_label(it->second) + (rk.ke ? " with PFS group " + std::to_string(group) : ""));
  rekey_out_ = std::move(rk);
  send_request(wire::exchange::create_child_sa, std::move(inner));
  return true;
}

void ike_sa::handle_create_child_response(const wire::message& m) {
  if (in_flight_ && in_flight_->kind == queued::rekey_ike) return handle_ike_rekey_response(m);
  if (in_flight_ && in_flight_->kind == queued::create_child && create_out_) return handle_child_create_response(m);
  if (!in_flight_ || in_flight_->kind != queued::rekey_child || !rekey_out_) return;
  in_flight_.reset();
  child_rekey rk = std::move(*rekey_out_);
  rekey_out_.reset();
  const auto& ps = m.payloads;
  auto old = children_.find(rk.old_id);
  // The old SA goes back to normal use when this rekey leads nowhere.
  auto abandon = [&](log_level lvl, const std::string& why) {
    // After a collision the peer's new SA (made answering its request) replaces the old one
    // anyway: the old one stays superseded and the peer deletes it.
    if (old != children_.end()) {
      log(lvl, child_label(old->second) + " not rekeyed: " + why);
      if (old->second.state == child_state::rekeying && !superseded_.count(old->first))
        old->second.state = child_state::installed;
    } else {
      log(lvl, "rekey of CHILD_SA {" + std::to_string(rk.old_id) + "} ended: " + why);
    }
  };

  if (auto* e = first_error(ps)) {
    if (e->type == wire::notify::invalid_ke_payload && old != children_.end()) {
      std::uint16_t group = e->data.size() >= 2 ? get_u16(e->data.data()) : 0;
      bool have_ke = rk.ke != nullptr;
      if (have_ke && group != rk.ke->group() && proposal::accepts_ke_group(rk.offered, group) &&
          ++rk.ke_retries <= max_rekey_ke_retries) {
        log(log_level::info, "peer asked for KE group " + std::to_string(group) + " to rekey " + child_label(old->second) +
                                 ", retrying");
        rk.offered = proposal::with_ke_group_first(rk.offered, group);
        old->second.state = child_state::installed;
        in_flight_ = queued_request{queued::rekey_child, rk.old_id};
        if (!send_rekey_request(std::move(rk), group)) in_flight_.reset();
        return;
      }
    }
    std::string what = wire::notify_name(e->type);
    if (e->type == wire::notify::child_sa_not_found && old != children_.end()) {
      // §2.25: the peer does not know the SA any more; forget it quietly.
      log(log_level::warning, child_label(old->second) + " unknown to the peer (CHILD_SA_NOT_FOUND); removing it");
      remove_child_sa(old);
      return;
    }
    abandon(e->type == wire::notify::temporary_failure ? log_level::info : log_level::warning, "peer answered " + what);
    if (e->type == wire::notify::temporary_failure && old != children_.end() && !superseded_.count(old->first)) {
      // §2.25: wait before trying again, so the peer can finish what it is doing.
      auto token = next_token_++;
      child_timers_[token] = old->first;
      actions_.push_back(arm_timer{timer_kind::child_rekey, rekey_retry_delay, token});
    }
    return;
  }

  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* nr = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  auto* tsi = wire::find_first<wire::ts_payload>(ps, payload_type::tsi);
  auto* tsr = wire::find_first<wire::ts_payload>(ps, payload_type::tsr);
  if (!sa || !nr || !tsi || !tsr || sa->proposals.size() != 1 || sa->proposals.front().spi.size() != 4) {
    abandon(log_level::warning, "malformed CREATE_CHILD_SA response (SA, nonce or selectors missing)");
    return;
  }
  auto chosen = proposal::check_reply(sa->proposals.front(), rk.offered, wire::protocol_id::esp);
  if (!chosen) {
    abandon(log_level::warning, "invalid ESP proposal in the answer: " + chosen.err().message);
    return;
  }
  auto alg = proposal::algorithms_of(*chosen);
  bytes shared;
  if (alg.ke != 0) {
    if (!rk.ke || !ke || ke->group != alg.ke || rk.ke->group() != alg.ke) {
      abandon(log_level::warning, "peer chose KE group " + std::to_string(alg.ke) + " without a matching KE payload");
      return;
    }
    auto s = rk.ke->shared_secret(ke->data);
    if (!s) {
      abandon(log_level::warning, "invalid KE payload: " + s.err().message);
      return;
    }
    shared = std::move(*s);
  }
  std::string err;
  auto ts_i = selectors_of(tsi, err);
  auto ts_r = selectors_of(tsr, err);
  if (!err.empty() || !ts::is_subset(ts_i, rk.fresh.local_ts) || !ts::is_subset(ts_r, rk.fresh.remote_ts)) {
    abandon(log_level::warning, "peer answered selectors outside of what we proposed");
    wipe(shared);
    return;
  }
  child_sa fresh = std::move(rk.fresh);
  fresh.local_ts = ts_i;
  fresh.remote_ts = ts_r;
  fresh.spi_out = get_u32(sa->proposals.front().spi.data());
  bool transport = wire::find_notify(ps, wire::notify::use_transport_mode) != nullptr;
  if (fresh.mode == child_mode::transport && !transport) fresh.mode = child_mode::tunnel;
  const std::uint32_t fresh_id = fresh.id;
  child_keying k{shared, rk.nonce, nr->data, true};
  bool ok = complete_child(fresh, *chosen, &k, rk.old_id);
  wipe(shared);
  if (!ok) {
    abandon(log_level::warning, "the new SA could not be keyed");
    return;
  }

  const bool collided = rk.peer_fresh_id != 0, peer_fresh_alive = collided && children_.count(rk.peer_fresh_id);
  if (old == children_.end() && peer_fresh_alive) {
    // §2.8.1 resolved by the peer first: it kept the SA of its exchange and deleted the old one,
    // so ours is the redundant one.
    log(log_level::info, "rekey collision on CHILD_SA " + children_.at(fresh_id).name + "{" + std::to_string(rk.old_id) +
                             "}: the peer kept {" +
                             std::to_string(rk.peer_fresh_id) + "}, deleting our redundant {" + std::to_string(fresh_id) + "}");
    superseded_.insert(fresh_id);
    queue_child_delete(fresh_id, true);
    return;
  }
  if (old == children_.end()) {
    // The peer deleted the old SA while we rekeyed it: the new one is not wanted either.
    log(log_level::info, "CHILD_SA {" + std::to_string(rk.old_id) + "} was deleted while rekeying; deleting its successor {" +
                             std::to_string(fresh_id) + "}");
    queue_child_delete(fresh_id, true);
    return;
  }
  if (collided && !peer_fresh_alive) {
    // The peer resolved the collision first: it closed the SA of its own exchange, ours stays.
    log(log_level::info, "rekey collision on " + child_label(old->second) + ": the peer already deleted the redundant {" +
                             std::to_string(rk.peer_fresh_id) + "}");
  } else if (collided) {
    // §2.8.1: both sides rekeyed; the SA made by the exchange with the lowest of the four nonces
    // is redundant, and the side that made it closes it. The other side closes the old SA.
    if (ours_is_redundant(exchange_nonces(rk.nonce, nr->data), rk.peer_nonces, initiator_)) {
      log(log_level::info, "rekey collision on " + child_label(old->second) + ": ours has the lowest nonce, deleting our {" +
                               std::to_string(fresh_id) + "} and keeping the peer's {" + std::to_string(rk.peer_fresh_id) +
                               "}");
      superseded_.insert(fresh_id);
      superseded_.insert(rk.old_id);  // the peer deletes it
      queue_child_delete(fresh_id, true);
      return;
    }
    log(log_level::info, "rekey collision on " + child_label(old->second) + ": the peer's {" +
                             std::to_string(rk.peer_fresh_id) + "} has the lowest nonce, the peer deletes it");
    superseded_.insert(rk.peer_fresh_id);
  }
  superseded_.insert(rk.old_id);
  queue_child_delete(rk.old_id, true);
}

// ---------------------------------------------------------------------------------------------
// Responder

void ike_sa::handle_create_child_request(const wire::message& m, std::vector<wire::payload>& reply) {
  const auto& ps = m.payloads;
  auto* rekey = wire::find_notify(ps, wire::notify::rekey_sa);
  auto* sa_in = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  if (!rekey && sa_in && !sa_in->proposals.empty() && sa_in->proposals.front().protocol == wire::protocol_id::ike) {
    handle_ike_rekey_request(m, reply);  // ike_rekey.cpp
    return;
  }
  if (!rekey && state_ == ike_state::established) {
    // §1.3.1: a new CHILD_SA, chosen and keyed as IKE_AUTH's child is, plus this exchange's
    // nonces and (with PFS) key exchange.
    auto* ni = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
    if (!ni) {
      log(log_level::warning, "CREATE_CHILD_SA for a new CHILD_SA without a nonce");
      reply.push_back(notify(wire::notify::invalid_syntax));
      return;
    }
    answer_child(*conn_, ps, reply, ni);
    return;
  }
  if (state_ != ike_state::established) {
    // Our DELETE of the IKE SA is out: its CHILD_SAs end with it.
    log(log_level::info, std::string(rekey ? "CHILD_SA rekey" : "new CHILD_SA") +
                             " from peer while the IKE SA is being deleted: TEMPORARY_FAILURE");
    reply.push_back(notify(wire::notify::temporary_failure));
    return;
  }
  if (rekey->protocol != wire::protocol_id::esp || rekey->spi.size() != 4) {
    log(log_level::warning, "CREATE_CHILD_SA: REKEY_SA for an unsupported protocol or SPI size");
    reply.push_back(notify(wire::notify::invalid_syntax));
    return;
  }
  std::uint32_t peer_spi = get_u32(rekey->spi.data());
  auto old = std::find_if(children_.begin(), children_.end(), [&](auto& c) { return c.second.spi_out == peer_spi; });
  if (old == children_.end()) {
    log(log_level::info, "peer wants to rekey unknown CHILD_SA with SPI " + to_hex(rekey->spi) + ": CHILD_SA_NOT_FOUND");
    reply.push_back(notify(wire::notify::child_sa_not_found, {}, wire::protocol_id::esp, rekey->spi));
    return;
  }
  child_sa& cur = old->second;
  bool delete_queued = std::any_of(queue_.begin(), queue_.end(), [&](const queued_request& q) {
    return q.kind == queued::delete_child && q.child_id == cur.id;
  });
  bool ours_in_flight = rekey_out_ && rekey_out_->old_id == cur.id;
  bool answered_already = ours_in_flight && rekey_out_->peer_fresh_id != 0;
  if (cur.state == child_state::deleting || delete_queued || answered_already ||
      (superseded_.count(cur.id) && !ours_in_flight)) {
    // §2.25.1: an SA we are closing (or have already replaced) is not rekeyed.
    log(log_level::info, "peer wants to rekey " + child_label(cur) + ", which is being deleted: TEMPORARY_FAILURE");
    reply.push_back(notify(wire::notify::temporary_failure));
    return;
  }
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* ni = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  auto* tsi = wire::find_first<wire::ts_payload>(ps, payload_type::tsi);
  auto* tsr = wire::find_first<wire::ts_payload>(ps, payload_type::tsr);
  if (!sa || !ni || !tsi || !tsr) {
    log(log_level::warning, "CREATE_CHILD_SA to rekey " + child_label(cur) + " without SA, nonce or selectors");
    reply.push_back(notify(wire::notify::invalid_syntax));
    return;
  }
  const child_config* cc = conn_->find_child(cur.name);
  if (!cc) {
    log(log_level::warning, "peer wants to rekey " + child_label(cur) + " whose configuration is gone");
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  auto chosen = proposal::select(sa->proposals, cc->esp_proposals, wire::protocol_id::esp, ke ? ke->group : 0);
  if (!chosen || chosen->spi.size() != 4) {
    log(log_level::warning, "rekey of " + child_label(cur) + ": NO_PROPOSAL_CHOSEN (" +
                                (chosen ? std::string("no 4-octet SPI") : chosen.err().message) + ")");
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  auto alg = proposal::algorithms_of(*chosen);
  std::unique_ptr<crypto::key_exchange> our_ke;
  bytes shared;
  if (alg.ke != 0) {
    if (!ke || ke->group != alg.ke) {
      log(log_level::info, "rekey of " + child_label(cur) + ": asking for KE group " + std::to_string(alg.ke));
      reply.push_back(notify(wire::notify::invalid_ke_payload, u16_bytes(alg.ke)));
      return;
    }
    auto k = crypto::key_exchange::create(alg.ke);
    auto s = k ? (*k)->shared_secret(ke->data) : result<bytes>(k.err());
    if (!s) {
      log(log_level::warning, "rekey of " + child_label(cur) + ": key exchange failed: " + s.err().message);
      reply.push_back(notify(wire::notify::no_proposal_chosen));
      return;
    }
    our_ke = std::move(*k);
    shared = std::move(*s);
  }
  std::string err;
  auto their_ts = selectors_of(tsi, err);
  auto our_ts = selectors_of(tsr, err);
  auto narrowed_remote = ts::narrow(their_ts, or_host(cc->remote_ts, remote_));
  auto narrowed_local = ts::narrow(our_ts, or_host(cc->local_ts, local_));
  if (!err.empty() || !narrowed_remote || !narrowed_local) {
    log(log_level::warning, "rekey of " + child_label(cur) + ": TS_UNACCEPTABLE (" + ts::to_string(their_ts) + " === " +
                                ts::to_string(our_ts) + ")");
    reply.push_back(notify(wire::notify::ts_unacceptable));
    wipe(shared);
    return;
  }
  child_sa fresh;
  fresh.id = params_.env.new_child_id();
  fresh.reqid = cur.reqid;
  fresh.name = cur.name;
  bool want_transport = wire::find_notify(ps, wire::notify::use_transport_mode) != nullptr;
  fresh.mode = want_transport && cur.mode == child_mode::transport ? child_mode::transport : child_mode::tunnel;
  fresh.spi_out = get_u32(chosen->spi.data());
  fresh.spi_in = params_.env.new_child_spi();
  fresh.local_ts = *narrowed_local;
  fresh.remote_ts = *narrowed_remote;
  bytes nr = crypto::random_bytes(nonce_size);
  wire::proposal answer = *chosen;
  answer.spi = u32_bytes(fresh.spi_in);
  const std::uint32_t old_id = cur.id, fresh_id = fresh.id;
  child_keying k{shared, ni->data, nr, false};
  bool ok = complete_child(fresh, *chosen, &k, old_id);
  wipe(shared);
  if (!ok) {
    reply.push_back(notify(wire::notify::no_proposal_chosen));
    return;
  }
  if (fresh.mode == child_mode::transport) reply.push_back(notify(wire::notify::use_transport_mode));
  wire::sa_payload rsa;
  rsa.proposals.push_back(std::move(answer));
  reply.push_back(wire::make_payload(payload_type::sa, std::move(rsa)));
  reply.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{nr}));
  if (our_ke) reply.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{alg.ke, our_ke->public_value()}));
  const child_sa& made = children_.at(fresh_id);
  reply.push_back(ts_payload_of(payload_type::tsi, made.remote_ts));
  reply.push_back(ts_payload_of(payload_type::tsr, made.local_ts));

  // Whichever new SA stays, the old one is replaced: its removal is part of the rekey.
  superseded_.insert(old_id);
  if (ours_in_flight) {
    // §2.8.1: we are rekeying the same SA; which new SA stays is decided when our answer arrives.
    rekey_out_->peer_fresh_id = fresh_id;
    rekey_out_->peer_nonces = exchange_nonces(ni->data, nr);
    return;
  }
  // The peer deletes the old SA once it has our answer; a rekey of it we had queued is moot.
  children_.at(old_id).state = child_state::rekeying;
  queue_.erase_if([&](const queued_request& q) { return q.kind == queued::rekey_child && q.child_id == old_id; });
}

}  // namespace aike::sa
