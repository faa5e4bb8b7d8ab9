#include "engine/sa/ike_sa.hpp"

#include <algorithm>

#include "engine/auth/psk.hpp"
#include "engine/auth/signature_auth.hpp"
#include "engine/auth/signed_octets.hpp"
#include "engine/crypto/algorithms.hpp"
#include "engine/crypto/random.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/proposal/parser.hpp"
#include "engine/sa/nat_detection.hpp"
#include "engine/sa/sa_payloads.hpp"
#include "engine/sa/stateless_response.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::sa {

using wire::payload_type;

namespace {

using namespace detail;
constexpr int max_ke_retries = 3;
constexpr int max_cookie_retries = 3;

}  // namespace

const char* to_string(ike_state s) {
  switch (s) {
    case ike_state::created: return "CREATED";
    case ike_state::init_sent: return "CONNECTING";
    case ike_state::init_done: return "CONNECTING";
    case ike_state::auth_sent: return "CONNECTING";
    case ike_state::established: return "ESTABLISHED";
    case ike_state::deleting: return "DELETING";
    case ike_state::closed: return "DESTROYING";
  }
  return "UNKNOWN";
}

const char* to_string(timer_kind k) {
  switch (k) {
    case timer_kind::retransmit: return "retransmit";
    case timer_kind::dpd: return "dpd";
    case timer_kind::half_open: return "half-open";
    case timer_kind::reassembly: return "reassembly";
    case timer_kind::child_rekey: return "child-rekey";
    case timer_kind::child_expire: return "child-expire";
    case timer_kind::ike_rekey: return "ike-rekey";
    case timer_kind::old_ike: return "old-ike";
    case timer_kind::redundant_ike: return "redundant-ike";
    case timer_kind::ike_reauth: return "ike-reauth";
    case timer_kind::ike_expire: return "ike-expire";
  }
  return "unknown";
}

ike_sa::ike_sa(ike_sa_params p, bool initiator)
    : params_(std::move(p)), initiator_(initiator), local_(params_.local), remote_(params_.remote) {
  if (!params_.connections.empty()) conn_ = params_.connections.front();
  if (conn_) fragments_.set_limits(conn_->reassembly);
}

ike_sa::~ike_sa() {
  for (auto& [id, c] : children_) c.wipe_keys();
}

std::unique_ptr<ike_sa> ike_sa::make_initiator(ike_sa_params p) {
  std::unique_ptr<ike_sa> sa(new ike_sa(std::move(p), true));
  sa->spi_i_ = sa->params_.local_spi;
  while (sa->spi_i_ == 0) sa->spi_i_ = crypto::random_u64();
  return sa;
}

std::unique_ptr<ike_sa> ike_sa::make_responder(ike_sa_params p) {
  std::unique_ptr<ike_sa> sa(new ike_sa(std::move(p), false));
  sa->spi_r_ = sa->params_.local_spi;
  while (sa->spi_r_ == 0) sa->spi_r_ = crypto::random_u64();
  return sa;
}

std::vector<action> ike_sa::take_actions() {
  std::vector<action> out;
  out.swap(actions_);
  return out;
}

void ike_sa::lend_action_buffer(std::vector<action>&& buf) {
  if (!actions_.empty() || actions_.capacity() >= buf.capacity()) return;
  buf.clear();
  actions_.swap(buf);
}

std::string ike_sa::local_id() const {
  if (!conn_) return {};
  return conn_->local.id.to_string();
}

std::string ike_sa::remote_id() const {
  if (peer_id_) return peer_id_->to_string();
  if (!conn_) return {};
  return conn_->remote.id.to_string();
}

std::string ike_sa::proposal_string() const {
  if (ike_proposal_.transforms.empty()) return {};
  return proposal::to_string(ike_proposal_);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

void ike_sa::log(log_level lvl, std::string text) { actions_.push_back(log_line{lvl, std::move(text)}); }

void ike_sa::drop(const char* category, std::string detail) {
  log(log_level::debug, "dropped message from " + remote_.to_string() + ": " + detail);
  actions_.push_back(dropped{category});
}

void ike_sa::arm(timer_kind kind, std::chrono::milliseconds after) {
  auto token = next_token_++;
  timer_tokens_[kind] = token;
  actions_.push_back(arm_timer{kind, after, token});
}

void ike_sa::transmit(bytes data, const endpoint& local, const endpoint& remote) {
  actions_.push_back(send_datagram{local, remote, std::move(data)});
}

void ike_sa::finish(const std::string& reason, bool peer_dead) {
  if (state_ == ike_state::closed) return;
  retire_old_sa("the IKE SA closed");
  retire_spare(spare::redundant, "the IKE SA closed");
  drop_collision_sa("the IKE SA closed");
  ike_rekey_out_.reset();
  switch_to_.reset();
  for (auto& [id, c] : children_) {
    c.state = child_state::deleted;
    c.wipe_keys();
    actions_.push_back(remove_child{std::move(c)});  // the map is cleared below
  }
  children_.clear();
  state_ = ike_state::closed;
  timer_tokens_.clear();  // every pending timer becomes stale
  child_timers_.clear();
  rekey_out_.reset();
  superseded_.clear();
  fail_queued_creates("the IKE SA closed: " + reason, true);
  queue_.clear();
  actions_.push_back(ike_closed{reason, peer_dead});
}

void ike_sa::close(const std::string& reason) { finish(reason); }

result<bytes> ike_sa::protect(wire::ike_header h, const std::vector<wire::payload>& inner) const {
  return wire::seal_message(h, inner, *cipher_, keys_out_);
}

result<std::vector<bytes>> ike_sa::protect_for_path(wire::ike_header h, const std::vector<wire::payload>& inner,
                                                    const endpoint& local, const endpoint& remote) {
  auto whole = protect(h, inner);
  // fragment_size counts the IP datagram (as strongSwan's does): take off IP and UDP headers, and
  // the non-ESP marker the socket puts before IKE on the NAT-T port (RFC 3948 §2.2).
  const std::size_t overhead = (remote.addr.v6 ? 40 : 20) + 8 + (local.port == params_.natt_port ? 4 : 0);
  const std::size_t limit = conn_->fragment_size > overhead ? conn_->fragment_size - overhead : 0;
  std::vector<bytes> out;
  if (!peer_fragmentation_ || !conn_->fragmentation || (whole && whole->size() <= limit)) {
    if (!whole) return whole.err();
    out.push_back(std::move(*whole));
    return out;
  }
  auto frags = wire::seal_fragments(h, inner, limit, *cipher_, keys_out_);
  if (!frags) return frags.err();
  log(log_level::debug, "sending " + std::string(wire::name_of(h.exchange_type)) +
                            (h.is_response() ? " response" : " request") + " of " +
                            (whole ? std::to_string(whole->size()) : std::string("more than 65535")) + " octets as " +
                            std::to_string(frags->size()) + " fragments of at most " + std::to_string(limit) +
                            " octets (fragment_size " + std::to_string(conn_->fragment_size) + ")");
  return frags;
}

void ike_sa::transmit_all(const std::vector<bytes>& datagrams, const endpoint& local, const endpoint& remote) {
  for (const auto& d : datagrams) transmit(d, local, remote);
}

std::vector<wire::payload> ike_sa::nat_detection_payloads(std::uint64_t spi_r, const endpoint& local,
                                                          const endpoint& remote) const {
  std::vector<wire::payload> ps;
  bytes src = nat_detection_hash(spi_i_, spi_r, local);
  // encap = true: a source hash that cannot match makes both sides believe we are behind a
  // NAT, so ESP is UDP-encapsulated and IKE moves to the NAT-T port (as RFC 7296 §2.23 allows).
  if (conn_ && conn_->force_encap) src = crypto::random_bytes(src.size());
  ps.push_back(notify(wire::notify::nat_detection_source_ip, std::move(src)));
  ps.push_back(notify(wire::notify::nat_detection_destination_ip, nat_detection_hash(spi_i_, spi_r, remote)));
  return ps;
}

void ike_sa::check_nat_detection(const std::vector<wire::payload>& ps, std::uint64_t spi_r, const endpoint& local,
                                 const endpoint& remote) {
  bool any_src = false, src_match = false, dst_seen = false, dst_match = false;
  bytes expect_src = nat_detection_hash(spi_i_, spi_r, remote);
  bytes expect_dst = nat_detection_hash(spi_i_, spi_r, local);
  for (const auto* n : wire::notifies(ps)) {
    if (n->type == wire::notify::nat_detection_source_ip) {
      any_src = true;
      if (n->data == expect_src) src_match = true;
    } else if (n->type == wire::notify::nat_detection_destination_ip) {
      dst_seen = true;
      if (n->data == expect_dst) dst_match = true;
    }
  }
  if (any_src) nat_remote_ = !src_match;
  if (dst_seen) nat_local_ = !dst_match;
  if (dst_seen) detected_behind_nat_ = !dst_match;
  if (conn_ && conn_->force_encap) nat_local_ = true;
  if (nat_local_ || nat_remote_)
    log(log_level::info, std::string("NAT detected: ") + (nat_local_ ? "we are" : "the peer is") +
                             " behind a NAT (or UDP encapsulation is forced); using port " +
                             std::to_string(params_.natt_port));
}

void ike_sa::switch_to_natt_ports() {
  if (local_.port == params_.natt_port) return;
  local_.port = params_.natt_port;
  if (remote_.port == 500) remote_.port = params_.natt_port;
}

// RFC 7296 §2.23: a host not behind a NAT whose peer is behind one sends to wherever the peer's
// last authenticated message came from (its NAT may have a new mapping). A host behind a NAT
// does not: anyone on the path could redirect its traffic by replaying a message from elsewhere.
// "Behind a NAT" is what detection found: our own force_encap (which the userspace backend sets
// for every connection) only makes the peer believe it, so it does not stop us from following.
void ike_sa::follow_peer(const endpoint& from) {
  if (from == remote_) return;
  if (!nat_remote_ || detected_behind_nat_) {
    log(log_level::debug, "authenticated message from " + from.to_string() + ", the SA's peer is " +
                              remote_.to_string() + ": not moving (" +
                              (detected_behind_nat_ ? "we are behind a NAT" : "no NAT detected in front of the peer") +
                              ")");
    return;
  }
  remote_moved moved{remote_, from};
  remote_ = from;
  log(log_level::info, "peer moved from " + moved.old_remote.to_string() + " to " + from.to_string() +
                           " (its NAT mapping changed): sending there from now on");
  actions_.push_back(std::move(moved));
}

bool ike_sa::derive_ike_keys(bytes_view peer_ke) {
  auto alg = proposal::algorithms_of(ike_proposal_);
  auto shared = ke_->shared_secret(peer_ke);
  if (!shared) {
    log(log_level::error, "invalid KE payload from " + remote_.to_string() + ": " + shared.err().message);
    return false;
  }
  auto p = crypto::prf::create(alg.prf);
  auto c = crypto::sk_cipher::create(alg.encr, alg.encr_key_bits, alg.integ);
  if (!p || !c) {
    log(log_level::error, "negotiated algorithms not usable: " + proposal_string());
    return false;
  }
  prf_ = std::move(*p);
  cipher_ = std::move(*c);
  auto keys = crypto::derive_ike_keys(*prf_, ni_, nr_, *shared, spi_i_, spi_r_, cipher_->encr_key_size(),
                                      cipher_->integ_key_size());
  bytes secret = std::move(*shared);
  wipe(secret);
  if (!keys) {
    log(log_level::error, "key derivation failed: " + keys.err().message);
    return false;
  }
  keys_ = std::move(*keys);
  keys_in_ = initiator_ ? crypto::sk_keys{keys_.sk_er, keys_.sk_ar} : crypto::sk_keys{keys_.sk_ei, keys_.sk_ai};
  keys_out_ = initiator_ ? crypto::sk_keys{keys_.sk_ei, keys_.sk_ai} : crypto::sk_keys{keys_.sk_er, keys_.sk_ar};
  ke_.reset();  // the private value is not needed any more
  return true;
}

// ---------------------------------------------------------------------------------------------
// Requests we send

void ike_sa::send_request(wire::exchange ex, std::vector<wire::payload> inner) {
  wire::ike_header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange_type = ex;
  h.flags = initiator_ ? wire::flag::initiator : 0;
  h.message_id = window_.next_request_id();
  auto data = protect_for_path(h, inner, local_, remote_);
  if (!data) {
    finish("cannot protect " + std::string(wire::name_of(ex)) + " request: " + data.err().message);
    return;
  }
  transmit_all(*data, local_, remote_);
  window_.request_sent(std::move(*data), local_, remote_);
  arm(timer_kind::retransmit, conn_->retransmit.delay(0));
}

void ike_sa::send_response(const wire::ike_header& req, std::vector<wire::payload> inner, const endpoint& local,
                           const endpoint& remote) {
  wire::ike_header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange_type = req.exchange_type;
  h.flags = wire::flag::response | (initiator_ ? wire::flag::initiator : 0);
  h.message_id = req.message_id;
  auto data = protect_for_path(h, inner, local, remote);
  if (!data) {
    log(log_level::error, "cannot protect response: " + data.err().message);
    return;
  }
  transmit_all(*data, local, remote);
  window_.response_sent(req.message_id, std::move(*data));
}

// An unprotected error answer to an IKE_SA_INIT request (no keys exist yet).
void ike_sa::send_clear_error(const wire::ike_header& req, std::uint16_t notify_type, bytes data,
                              const endpoint& local, const endpoint& remote) {
  transmit(stateless_init_response(req, notify_type, std::move(data)), local, remote);
}

void ike_sa::start_next_request() {
  if (state_ != ike_state::established || window_.request_outstanding() || queue_.empty()) return;
  auto next = queue_.front();
  queue_.pop_front();
  std::vector<wire::payload> inner;
  switch (next.kind) {
    case queued::liveness:
      break;
    case queued::delete_ike: {
      wire::delete_payload d;
      d.protocol = wire::protocol_id::ike;
      inner.push_back(wire::make_payload(payload_type::del, std::move(d)));
      state_ = ike_state::deleting;
      log(log_level::info, "deleting IKE SA with " + remote_.to_string());
      break;
    }
    case queued::rekey_ike:
      in_flight_ = next;
      if (!send_ike_rekey(proposal::algorithms_of(ike_proposal_).ke)) {
        in_flight_.reset();
        start_next_request();
      }
      return;
    case queued::rekey_child:
      in_flight_ = next;
      if (!send_child_rekey(next.child_id)) {
        in_flight_.reset();
        start_next_request();
      }
      return;
    case queued::create_child:
      in_flight_ = next;
      if (!send_child_create(next.child_name)) {
        in_flight_.reset();
        start_next_request();
      }
      return;
    case queued::delete_child: {
      auto it = children_.find(next.child_id);
      if (it == children_.end()) return start_next_request();
      it->second.state = child_state::deleting;
      wire::delete_payload d;
      d.protocol = wire::protocol_id::esp;
      d.spi_size = 4;
      d.spis.push_back(u32_bytes(it->second.spi_in));
      inner.push_back(wire::make_payload(payload_type::del, std::move(d)));
      log(log_level::info, "deleting CHILD_SA " + it->second.name + "{" + std::to_string(it->first) + "}");
      break;
    }
  }
  in_flight_ = next;
  send_request(wire::exchange::informational, std::move(inner));
}

void ike_sa::request_delete() {
  switch (state_) {
    case ike_state::established:
      // A delete overrides anything still queued.
      fail_queued_creates("the IKE SA is being deleted", false);
      queue_.clear();
      queue_.push_back({queued::delete_ike});
      start_next_request();  // waits for an outstanding request to be answered first
      return;
    case ike_state::deleting:
    case ike_state::closed:
      return;
    default:
      // Not established: there is no authenticated channel to send a DELETE on.
      finish("terminated before it was established");
  }
}

bool ike_sa::request_child_delete(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end()) return false;
  if (state_ != ike_state::established) return false;
  queue_.push_back({queued::delete_child, child_id});
  start_next_request();
  return true;
}

void ike_sa::request_liveness_check() {
  if (state_ != ike_state::established) return;
  bool queued_already = std::any_of(queue_.begin(), queue_.end(), [](auto& q) { return q.kind == queued::liveness; });
  if (!queued_already && !window_.request_outstanding()) queue_.push_back({queued::liveness});
  start_next_request();
}

// ---------------------------------------------------------------------------------------------
// IKE_SA_INIT, initiator

void ike_sa::initiate(const std::string& child) {
  if (state_ != ike_state::created || !initiator_ || !conn_) return;
  wanted_child_ = child;
  if (!wanted_child_.empty() && !conn_->find_child(wanted_child_)) {
    finish("connection '" + conn_->name + "' has no child '" + wanted_child_ + "'");
    return;
  }
  ke_group_ = proposal::preferred_ke_group(conn_->ike_proposals);
  ni_ = crypto::random_bytes(nonce_size);
  send_init_request();
}

void ike_sa::send_init_request() {
  auto ke = crypto::key_exchange::create(ke_group_);
  if (!ke) {
    finish("cannot create key exchange for group " + std::to_string(ke_group_) + ": " + ke.err().message);
    return;
  }
  ke_ = std::move(*ke);

  wire::message m;
  m.header.spi_i = spi_i_;
  m.header.exchange_type = wire::exchange::ike_sa_init;
  m.header.flags = wire::flag::initiator;
  if (!cookie_.empty()) m.payloads.push_back(notify(wire::notify::cookie, cookie_));
  wire::sa_payload sa;
  // The first offer is the configured list; after INVALID_KE_PAYLOAD only proposals with the
  // asked group remain, that group first.
  offered_ = ke_retries_ == 0 ? conn_->ike_proposals : proposal::with_ke_group_first(conn_->ike_proposals, ke_group_);
  sa.proposals = offered_;
  m.payloads.push_back(wire::make_payload(payload_type::sa, std::move(sa)));
  m.payloads.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{ke_group_, ke_->public_value()}));
  m.payloads.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{ni_}));
  for (auto& p : nat_detection_payloads(0, local_, remote_)) m.payloads.push_back(std::move(p));
  if (conn_->fragmentation) m.payloads.push_back(notify(wire::notify::ikev2_fragmentation_supported));
  m.payloads.push_back(
      notify(wire::notify::signature_hash_algorithms, auth::encode_hash_algorithms(auth::supported_hash_algorithms())));

  init_request_ = wire::encode_message(m);
  if (state_ == ike_state::init_sent)
    window_.request_replaced(init_request_);
  else
    window_.request_sent(init_request_, local_, remote_);
  state_ = ike_state::init_sent;
  log(log_level::info, "initiating IKE SA '" + conn_->name + "' to " + remote_.to_string());
  transmit(init_request_, local_, remote_);
  arm(timer_kind::retransmit, conn_->retransmit.delay(0));
}

void ike_sa::handle_init_response(const wire::message& m, bytes_view raw, const endpoint& local,
                                  const endpoint& remote) {
  const auto& ps = m.payloads;
  if (auto* c = wire::find_notify(ps, wire::notify::cookie)) {
    if (++cookie_retries_ > max_cookie_retries || c->data.empty() || c->data.size() > 64) {
      finish("peer keeps asking for a COOKIE");
      return;
    }
    log(log_level::info, "peer " + remote_.to_string() + " asked for a COOKIE, retrying");
    cookie_ = c->data;
    send_init_request();
    return;
  }
  if (auto* n = wire::find_notify(ps, wire::notify::invalid_ke_payload)) {
    std::uint16_t group = n->data.size() >= 2 ? get_u16(n->data.data()) : 0;
    if (group == ke_group_ || !proposal::accepts_ke_group(conn_->ike_proposals, group) ||
        ++ke_retries_ > max_ke_retries) {
      finish("peer " + remote_.to_string() + " wants key exchange group " + std::to_string(group) +
             ", which our proposals (" + proposals_string(conn_->ike_proposals) + ") do not allow");
      return;
    }
    log(log_level::info, "peer " + remote_.to_string() + " asked for KE group " + std::to_string(group) +
                             " instead of " + std::to_string(ke_group_) + ", retrying");
    ke_group_ = group;
    send_init_request();
    return;
  }
  if (auto* e = first_error(ps)) {
    std::string what = wire::notify_name(e->type);
    if (e->type == wire::notify::no_proposal_chosen)
      what += " (we offered: " + proposals_string(conn_->ike_proposals) + ")";
    finish("peer " + remote_.to_string() + " rejected IKE_SA_INIT: " + what);
    return;
  }
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  auto* nr = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  if (!sa || !ke || !nr || sa->proposals.size() != 1 || m.header.spi_r == 0) {
    drop("malformed", "IKE_SA_INIT response without SA, KE or nonce");
    return;
  }
  auto chosen = proposal::check_reply(sa->proposals.front(),
                                      offered_,
                                      wire::protocol_id::ike);
  if (!chosen) {
    finish("peer chose a proposal we did not offer: " + chosen.err().message);
    return;
  }
  if (proposal::algorithms_of(*chosen).ke != ke_group_ || ke->group != ke_group_) {
    finish("peer answered with KE group " + std::to_string(ke->group) + " but we sent " + std::to_string(ke_group_));
    return;
  }
  ike_proposal_ = *chosen;
  spi_r_ = m.header.spi_r;
  nr_ = nr->data;
  init_response_.assign(raw.begin(), raw.end());
  window_.response_received();
  timer_tokens_.erase(timer_kind::retransmit);

  for (const auto* n : wire::notifies(ps)) {
    if (n->type == wire::notify::ikev2_fragmentation_supported) peer_fragmentation_ = true;
    if (n->type == wire::notify::signature_hash_algorithms) {
      auto h = auth::decode_hash_algorithms(n->data);
      if (h) peer_hash_algorithms_ = *h;
    }
  }
  check_nat_detection(ps, spi_r_, local, remote);
  if (!derive_ike_keys(ke->data)) {
    finish("key exchange with " + remote_.to_string() + " failed");
    return;
  }
  if (nat_detected()) switch_to_natt_ports();
  send_auth_request();
}

// ---------------------------------------------------------------------------------------------
// IKE_SA_INIT, responder

void ike_sa::handle_init_request(const wire::message& m, bytes_view raw, const endpoint& local,
                                 const endpoint& remote) {
  const auto& ps = m.payloads;
  spi_i_ = m.header.spi_i;
  local_ = local;
  remote_ = remote;
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
  auto* ni = wire::find_first<wire::nonce_payload>(ps, payload_type::nonce);
  if (!sa || !ke || !ni) {
    send_clear_error(m.header, wire::notify::invalid_syntax, {}, local, remote);
    finish("IKE_SA_INIT from " + remote.to_string() + " without SA, KE or nonce");
    return;
  }
  // The group of the peer's KE payload breaks ties, so a peer that guessed a group we accept
  // needs no INVALID_KE_PAYLOAD round trip.
  // Several connections may share these addresses: answer with the first whose proposals
  // accept the offer (IKE_AUTH later picks among all of them by identity).
  auto chosen = proposal::select(sa->proposals, conn_->ike_proposals, wire::protocol_id::ike, ke->group);
  for (std::size_t i = 1; !chosen && i < params_.connections.size(); ++i) {
    auto alt = proposal::select(sa->proposals, params_.connections[i]->ike_proposals, wire::protocol_id::ike, ke->group);
    if (alt) {
      conn_ = params_.connections[i];
      chosen = std::move(alt);
    }
  }
  if (!chosen) {
    send_clear_error(m.header, wire::notify::no_proposal_chosen, {}, local, remote);
    finish("no acceptable proposal from " + remote.to_string() + " for '" + conn_->name + "': " +
           chosen.err().message);
    return;
  }
  auto alg = proposal::algorithms_of(*chosen);
  if (alg.ke != ke->group) {
    // §1.2: tell the initiator which group we want; it retries with a new KE payload.
    send_clear_error(m.header, wire::notify::invalid_ke_payload, u16_bytes(alg.ke), local, remote);
    finish("peer " + remote.to_string() + " sent KE group " + std::to_string(ke->group) + ", asked for group " +
           std::to_string(alg.ke));
    return;
  }
  ike_proposal_ = *chosen;
  ni_ = ni->data;
  nr_ = crypto::random_bytes(nonce_size);
  auto kex = crypto::key_exchange::create(alg.ke);
  if (!kex) {
    send_clear_error(m.header, wire::notify::no_proposal_chosen, {}, local, remote);
    finish("cannot create key exchange group " + std::to_string(alg.ke) + ": " + kex.err().message);
    return;
  }
  ke_ = std::move(*kex);
  ke_group_ = alg.ke;
  bytes our_public = ke_->public_value();
  for (const auto* n : wire::notifies(ps)) {
    if (n->type == wire::notify::ikev2_fragmentation_supported) peer_fragmentation_ = true;
    if (n->type == wire::notify::signature_hash_algorithms) {
      auto h = auth::decode_hash_algorithms(n->data);
      if (h) peer_hash_algorithms_ = *h;
    }
  }
  // The request's NAT detection hashes were made with SPIr = 0.
  check_nat_detection(ps, 0, local, remote);
  if (!derive_ike_keys(ke->data)) {
    send_clear_error(m.header, wire::notify::invalid_syntax, {}, local, remote);
    finish("key exchange with " + remote.to_string() + " failed");
    return;
  }

  wire::message r;
  r.header.spi_i = spi_i_;
  r.header.spi_r = spi_r_;
  r.header.exchange_type = wire::exchange::ike_sa_init;
  r.header.flags = wire::flag::response;
  r.header.message_id = 0;
  wire::sa_payload rsa;
  rsa.proposals.push_back(*chosen);
  r.payloads.push_back(wire::make_payload(payload_type::sa, std::move(rsa)));
  r.payloads.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{ke_group_, std::move(our_public)}));
  r.payloads.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{nr_}));
  for (auto& p : nat_detection_payloads(spi_r_, local, remote)) r.payloads.push_back(std::move(p));
  if (conn_->remote.kind == auth_kind::pubkey && conn_->remote.cas) {
    bytes hashes;
    for (const auto& h : conn_->remote.cas->ca_key_hashes()) append(hashes, h);
    if (!hashes.empty())
      r.payloads.push_back(wire::make_payload(
          payload_type::certreq, wire::certreq_payload{wire::cert_encoding::x509_signature, std::move(hashes)}));
  }
  if (conn_->fragmentation && peer_fragmentation_)
    r.payloads.push_back(notify(wire::notify::ikev2_fragmentation_supported));
  if (!peer_hash_algorithms_.empty())
    r.payloads.push_back(
        notify(wire::notify::signature_hash_algorithms, auth::encode_hash_algorithms(auth::supported_hash_algorithms())));

  init_request_.assign(raw.begin(), raw.end());
  init_response_ = wire::encode_message(r);
  window_.response_sent(0, init_response_);
  state_ = ike_state::init_done;
  transmit(init_response_, local, remote);
  arm(timer_kind::half_open, conn_->half_open_timeout);
}

// ---------------------------------------------------------------------------------------------
// IKE_AUTH

std::optional<bytes> ike_sa::make_auth(const connection& c, const auth::identity& peer_id,
                                       std::vector<wire::payload>& out) {
  const auto& own = initiator_ ? init_request_ : init_response_;
  const auto& peer_nonce = initiator_ ? nr_ : ni_;
  const auto& sk_p = initiator_ ? keys_.sk_pi : keys_.sk_pr;
  bytes octets = auth::signed_octets(own, peer_nonce, *prf_, sk_p, c.local.id);
  if (c.local.kind == auth_kind::psk) {
    auto secret = c.find_psk(c.local.id, peer_id);
    if (!secret) {
      log(log_level::error, "no PSK for '" + c.local.id.to_string() + "' - '" + peer_id.to_string() + "'");
      return std::nullopt;
    }
    out.push_back(wire::make_payload(payload_type::auth,
                                     wire::auth_payload{wire::auth_method::psk, auth::psk_auth(*prf_, *secret, octets)}));
    return octets;
  }
  if (!c.local.key) {
    log(log_level::error, "connection '" + c.name + "' has no private key for pubkey authentication");
    return std::nullopt;
  }
  for (const auto& cert : c.local.certs)
    out.push_back(wire::make_payload(payload_type::cert,
                                     wire::cert_payload{wire::cert_encoding::x509_signature, cert.der()}));
  auth::sign_options opt;
  opt.use_rfc7427 = !peer_hash_algorithms_.empty();
  opt.peer_hashes = peer_hash_algorithms_;
  auto a = auth::sign(*c.local.key, octets, opt);
  if (!a) {
    log(log_level::error, "signing AUTH failed: " + a.err().message);
    return std::nullopt;
  }
  out.push_back(wire::make_payload(payload_type::auth, std::move(*a)));
  return octets;
}

bool ike_sa::verify_peer_auth(const connection& c, const std::vector<wire::payload>& ps,
                              const auth::identity& peer_id, std::string& why) {
  auto* a = wire::find_first<wire::auth_payload>(ps, payload_type::auth);
  if (!a) {
    why = "no AUTH payload";
    return false;
  }
  const auto& peer_msg = initiator_ ? init_response_ : init_request_;
  const auto& our_nonce = initiator_ ? ni_ : nr_;
  const auto& sk_p = initiator_ ? keys_.sk_pr : keys_.sk_pi;
  bytes octets = auth::signed_octets(peer_msg, our_nonce, *prf_, sk_p, peer_id);

  if (c.remote.kind == auth_kind::psk) {
    if (a->method != wire::auth_method::psk) {
      why = "peer '" + peer_id.to_string() + "' used auth method " + std::to_string(int(a->method)) +
            " but we expect a pre-shared key";
      return false;
    }
    auto secret = c.find_psk(c.local.id, peer_id);
    if (!secret) {
      why = "no PSK for '" + c.local.id.to_string() + "' - '" + peer_id.to_string() + "'";
      return false;
    }
    if (!auth::psk_verify(*prf_, *secret, octets, a->data)) {
      why = "pre-shared key of '" + peer_id.to_string() + "' does not match";
      return false;
    }
    return true;
  }

  if (a->method == wire::auth_method::psk) {
    why = "peer '" + peer_id.to_string() + "' used a pre-shared key but we expect a signature";
    return false;
  }
  // Candidate keys: from a certificate chain the peer sent (verified against our CAs), from a
  // raw public key the peer sent (must be one we trust), or the raw keys we have configured.
  std::vector<auth::public_key> candidates;
  std::vector<auth::certificate> certs;
  for (const auto& p : ps) {
    if (p.type != payload_type::cert) continue;
    const auto& cp = std::get<wire::cert_payload>(p.body);
    if (cp.encoding == wire::cert_encoding::x509_signature) {
      auto cert = auth::certificate::from_der(cp.data);
      if (!cert) {
        why = "peer sent an unreadable certificate: " + cert.err().message;
        return false;
      }
      certs.push_back(std::move(*cert));
    } else if (cp.encoding == wire::cert_encoding::raw_public_key) {
      auto k = auth::public_key::from_spki_der(cp.data);
      if (!k) continue;
      for (const auto& trusted : c.remote.pubkeys)
        if (trusted.fingerprint() == k->fingerprint()) candidates.push_back(trusted);
    }
  }
  if (!certs.empty()) {
    if (!c.remote.cas) {
      why = "peer '" + peer_id.to_string() + "' sent a certificate but no CA is configured for it";
      return false;
    }
    std::vector<auth::certificate> intermediates(certs.begin() + 1, certs.end());
    auto key = c.remote.cas->verify(certs.front(), intermediates);
    if (!key) {
      why = "certificate of '" + peer_id.to_string() + "' not trusted: " + key.err().message;
      return false;
    }
    if (!certs.front().has_identity(peer_id)) {
      why = "certificate does not contain the identity '" + peer_id.to_string() + "'";
      return false;
    }
    candidates.push_back(std::move(*key));
  }
  if (candidates.empty()) candidates = c.remote.pubkeys;
  if (candidates.empty()) {
    why = "no trusted public key for '" + peer_id.to_string() + "'";
    return false;
  }
  std::string last;
  for (const auto& k : candidates) {
    auto v = auth::verify(k, *a, octets);
    if (v) return true;
    last = v.err().message;
  }
  why = "signature of '" + peer_id.to_string() + "' does not verify: " + last;
  return false;
}

std::vector<wire::payload> ike_sa::child_request_payloads(const child_config& cc, child_sa& pending,
                                                          std::vector<wire::proposal>& proposals) {
  std::vector<wire::payload> out;
  if (pending.id == 0) {
    pending.id = params_.env.new_child_id();
    pending.name = cc.name;
    pending.mode = cc.mode;
    pending.spi_in = params_.env.new_child_spi();
    pending.local_ts = cc.local_ts.empty() ? std::vector<ts::selector>{ts::host(local_.addr.view())} : cc.local_ts;
    pending.remote_ts = cc.remote_ts.empty() ? std::vector<ts::selector>{ts::host(remote_.addr.view())} : cc.remote_ts;
    if (const reauth_child* old = reauth_child_named(cc.name)) {
      // Reauthentication: the CHILD_SA keeps its reqid (the kernel's policies stay valid) and the
      // selectors it had.
      pending.reqid = old->reqid;
      if (!old->local_ts.empty()) pending.local_ts = old->local_ts;
      if (!old->remote_ts.empty()) pending.remote_ts = old->remote_ts;
    } else {
      pending.reqid = params_.env.new_reqid ? params_.env.new_reqid() : pending.id;
    }
  }
  if (cc.mode == child_mode::transport) out.push_back(notify(wire::notify::use_transport_mode));
  for (auto& p : proposals) {
    p.protocol = wire::protocol_id::esp;
    p.spi = u32_bytes(pending.spi_in);
  }
  wire::sa_payload sa;
  sa.proposals = proposals;
  out.push_back(wire::make_payload(payload_type::sa, std::move(sa)));
  out.push_back(ts_payload_of(payload_type::tsi, pending.local_ts));
  out.push_back(ts_payload_of(payload_type::tsr, pending.remote_ts));
  return out;
}

void ike_sa::send_auth_request() {
  std::vector<wire::payload> inner;
  inner.push_back(wire::make_payload(payload_type::idi, conn_->local.id.to_payload()));
  std::vector<wire::payload> auth_part;
  if (!make_auth(*conn_, conn_->remote.id, auth_part)) {
    finish("cannot authenticate ourselves for '" + conn_->name + "'");
    return;
  }
  // CERT payloads come before CERTREQ, IDr and AUTH (RFC 7296 §1.2 ordering).
  for (auto& p : auth_part)
    if (p.type == payload_type::cert) inner.push_back(std::move(p));
  if (conn_->remote.kind == auth_kind::pubkey && conn_->remote.cas) {
    bytes hashes;
    for (const auto& h : conn_->remote.cas->ca_key_hashes()) append(hashes, h);
    if (!hashes.empty())
      inner.push_back(wire::make_payload(payload_type::certreq,
                                         wire::certreq_payload{wire::cert_encoding::x509_signature, std::move(hashes)}));
  }
  if (!conn_->remote.id.is_any())
    inner.push_back(wire::make_payload(payload_type::idr, conn_->remote.id.to_payload()));
  for (auto& p : auth_part)
    if (p.type == payload_type::auth) inner.push_back(std::move(p));

  const child_config* cc = wanted_child_.empty() ? (conn_->children.empty() ? nullptr : &conn_->children.front())
                                                 : conn_->find_child(wanted_child_);
  if (cc) {
    child_sa pending;
    auto offered = without_ke(cc->esp_proposals);
    for (auto& p : child_request_payloads(*cc, pending, offered)) inner.push_back(std::move(p));
    pending_child_ = std::move(pending);
  }
  state_ = ike_state::auth_sent;
  send_request(wire::exchange::ike_auth, std::move(inner));
}

bool ike_sa::complete_child(child_sa& ch, const wire::proposal& chosen, const child_keying* k, std::uint32_t replaces) {
  auto alg = proposal::algorithms_of(chosen);
  auto encr = crypto::encr_algorithm(alg.encr, alg.encr_key_bits);
  std::size_t integ_len = 0;
  if (alg.integ) {
    auto integ = crypto::integ_algorithm(alg.integ);
    if (integ) integ_len = integ->key_size;
  }
  if (!encr) {
    log(log_level::error, "CHILD_SA " + ch.name + ": unusable ESP algorithms: " + encr.err().message);
    return false;
  }
  auto keys = k ? crypto::derive_child_keys(*prf_, keys_.sk_d, k->shared, k->ni, k->nr, encr->key_size + encr->salt_size,
                                            integ_len)
                : crypto::derive_child_keys(*prf_, keys_.sk_d, {}, ni_, nr_, encr->key_size + encr->salt_size, integ_len);
  if (!keys) {
    log(log_level::error, "CHILD_SA " + ch.name + ": key derivation failed: " + keys.err().message);
    return false;
  }
  ch.proposal = chosen;
  ch.encap = nat_detected();
  // IKE_AUTH's CHILD_SA: the IKE SA's initiator started the exchange; CREATE_CHILD_SA: either end.
  if (k ? k->we_initiated : initiator_) {
    ch.encr_out = keys->encr_i;
    ch.integ_out = keys->integ_i;
    ch.encr_in = keys->encr_r;
    ch.integ_in = keys->integ_r;
  } else {
    ch.encr_out = keys->encr_r;
    ch.integ_out = keys->integ_r;
    ch.encr_in = keys->encr_i;
    ch.integ_in = keys->integ_i;
  }
  ch.state = child_state::installed;
  log(log_level::info, "CHILD_SA " + ch.name + "{" + std::to_string(ch.id) + "} " +
                           (replaces ? "rekeyed {" + std::to_string(replaces) + "} with" : std::string("established with")) +
                           " SPIs " + to_hex(u32_bytes(ch.spi_in)) + "_i " + to_hex(u32_bytes(ch.spi_out)) + "_o and TS " +
                           ts::to_string(ch.local_ts) + " === " + ts::to_string(ch.remote_ts) +
                           (k && !k->shared.empty() ? " (PFS group " + std::to_string(alg.ke) + ")" : std::string()));
  actions_.emplace_back(std::in_place_type<install_child>, install_child{ch, replaces});
  arm_child_lifetimes(ch);
  std::string name = ch.name;
  children_.emplace(ch.id, std::move(ch));
  if (!replaces) settle_reauth_child(name, true);  // a CHILD_SA a reauthentication waited for
  return true;
}

std::uint16_t ike_sa::answer_child(const connection& c, const std::vector<wire::payload>& req,
                                  std::vector<wire::payload>& out, const wire::nonce_payload* ni) {
  auto* sa = wire::find_first<wire::sa_payload>(req, payload_type::sa);
  auto* tsi = wire::find_first<wire::ts_payload>(req, payload_type::tsi);
  auto* tsr = wire::find_first<wire::ts_payload>(req, payload_type::tsr);
  auto* ke = ni ? wire::find_first<wire::ke_payload>(req, payload_type::ke) : nullptr;
  if (!sa || !tsi || !tsr) {
    if (!ni) return 0;  // childless IKE_AUTH
    log(log_level::warning, "CREATE_CHILD_SA for a new CHILD_SA without SA or selectors");
    out.push_back(notify(wire::notify::invalid_syntax));
    return wire::notify::invalid_syntax;
  }
  std::string err;
  auto their_ts = selectors_of(tsi, err);
  auto our_ts = selectors_of(tsr, err);
  if (!err.empty()) {
    out.push_back(notify(wire::notify::ts_unacceptable));
    log(log_level::warning, "invalid traffic selectors from peer: " + err);
    return wire::notify::ts_unacceptable;
  }
  bool want_transport = wire::find_notify(req, wire::notify::use_transport_mode) != nullptr;
  std::string failure;
  std::uint16_t failure_notify = wire::notify::ts_unacceptable;
  for (const auto& cc : c.children) {
    auto cfg_local = cc.local_ts.empty() ? std::vector<ts::selector>{ts::host(local_.addr.view())} : cc.local_ts;
    auto cfg_remote = cc.remote_ts.empty() ? std::vector<ts::selector>{ts::host(remote_.addr.view())} : cc.remote_ts;
    auto narrowed_remote = ts::narrow(their_ts, cfg_remote);
    auto narrowed_local = ts::narrow(our_ts, cfg_local);
    if (!narrowed_remote || !narrowed_local) {
      failure = "child '" + cc.name + "': proposed " + ts::to_string(their_ts) + " === " + ts::to_string(our_ts) +
                ", configured " + ts::to_string(cfg_remote) + " === " + ts::to_string(cfg_local);
      continue;
    }
    // IKE_AUTH's child is keyed from IKE_SA_INIT (no KE transforms); a CREATE_CHILD_SA's
    // proposals carry the KE group of its PFS, if any (§1.3.1).
    auto chosen = ni ? proposal::select(sa->proposals, cc.esp_proposals, wire::protocol_id::esp, ke ? ke->group : 0)
                     : proposal::select(without_ke(sa->proposals), without_ke(cc.esp_proposals), wire::protocol_id::esp);
    if (!chosen) {
      failure = "child '" + cc.name + "': " + chosen.err().message;
      failure_notify = wire::notify::no_proposal_chosen;
      continue;
    }
    if (chosen->spi.size() != 4) {
      failure = "child '" + cc.name + "': ESP proposal without a 4-octet SPI";
      failure_notify = wire::notify::no_proposal_chosen;
      continue;
    }
    auto alg = proposal::algorithms_of(*chosen);
    std::unique_ptr<crypto::key_exchange> our_ke;
    bytes shared;
    if (ni && alg.ke != 0) {
      if (!ke || ke->group != alg.ke) {
        // §1.3.1 / §1.2: the proposal is acceptable, the KE payload's group is not the chosen one.
        log(log_level::info, "CHILD_SA '" + cc.name + "': peer's KE group " + std::to_string(ke ? ke->group : 0) +
                                 " is not the chosen " + std::to_string(alg.ke) + ", answering INVALID_KE_PAYLOAD");
        out.push_back(notify(wire::notify::invalid_ke_payload, u16_bytes(alg.ke)));
        return wire::notify::invalid_ke_payload;
      }
      auto k = crypto::key_exchange::create(alg.ke);
      auto sh = k ? (*k)->shared_secret(ke->data) : result<bytes>(k.err());
      if (!sh) {
        log(log_level::warning, "CHILD_SA '" + cc.name + "': key exchange failed: " + sh.err().message);
        out.push_back(notify(wire::notify::no_proposal_chosen));
        return wire::notify::no_proposal_chosen;
      }
      our_ke = std::move(*k);
      shared = std::move(*sh);
    }
    child_sa ch;
    ch.id = params_.env.new_child_id();
    ch.reqid = params_.env.new_reqid ? params_.env.new_reqid() : ch.id;
    ch.name = cc.name;
    ch.mode = (want_transport && cc.mode == child_mode::transport) ? child_mode::transport : child_mode::tunnel;
    ch.spi_out = get_u32(chosen->spi.data());
    ch.spi_in = params_.env.new_child_spi();
    ch.local_ts = *narrowed_local;
    ch.remote_ts = *narrowed_remote;
    wire::proposal answer = *chosen;
    answer.spi = u32_bytes(ch.spi_in);
    // complete_child takes `ch`: what the answer needs of it is taken first.
    const bool transport = ch.mode == child_mode::transport;
    auto answer_tsi = ts_payload_of(payload_type::tsi, ch.remote_ts);
    auto answer_tsr = ts_payload_of(payload_type::tsr, ch.local_ts);
    bytes nr;
    bool ok = true;
    if (ni) {
      nr = crypto::random_bytes(nonce_size);
      child_keying k{shared, ni->data, nr, false};  // the peer sent the CREATE_CHILD_SA
      ok = complete_child(ch, *chosen, &k);
      wipe(shared);
    } else {
      ok = complete_child(ch, *chosen);
    }
    if (!ok) {
      out.push_back(notify(wire::notify::no_proposal_chosen));
      return wire::notify::no_proposal_chosen;
    }
    if (transport) out.push_back(notify(wire::notify::use_transport_mode));
    wire::sa_payload rsa;
    rsa.proposals.push_back(answer);
    out.push_back(wire::make_payload(payload_type::sa, std::move(rsa)));
    if (ni) {
      out.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{nr}));
      if (our_ke) out.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{alg.ke, our_ke->public_value()}));
    }
    out.push_back(std::move(answer_tsi));
    out.push_back(std::move(answer_tsr));
    return 0;
  }
  if (c.children.empty()) failure = "connection '" + c.name + "' has no children";
  log(log_level::warning, std::string("CHILD_SA not created (") + wire::notify_name(failure_notify) + "): " + failure);
  out.push_back(notify(failure_notify));
  return failure_notify;
}

void ike_sa::handle_auth_request(const wire::message& m) {
  const auto& ps = m.payloads;
  auto* idi = wire::find_first<wire::id_payload>(ps, payload_type::idi);
  auto* idr = wire::find_first<wire::id_payload>(ps, payload_type::idr);
  if (!idi || !wire::find_first<wire::auth_payload>(ps, payload_type::auth)) {
    send_response(m.header, {notify(wire::notify::invalid_syntax)}, local_, remote_);
    finish("IKE_AUTH from " + remote_.to_string() + " without IDi or AUTH");
    return;
  }
  auto peer = auth::identity::from_payload(*idi);
  std::optional<auth::identity> wanted;
  if (idr) wanted = auth::identity::from_payload(*idr);

  // Pick the connection: the peer's identity must match, and our identity must be the one the
  // peer asked for (if it asked). Exact remote ids win over wildcards.
  std::shared_ptr<const connection> chosen;
  for (int pass = 0; pass < 2 && !chosen; ++pass) {
    for (const auto& c : params_.connections) {
      bool exact = !c->remote.id.is_any() && peer == c->remote.id;
      bool ok = pass == 0 ? exact : peer.matches(c->remote.id);
      if (!ok) continue;
      if (wanted && !wanted->is_any() && !(*wanted == c->local.id) && !wanted->matches(c->local.id)) continue;
      // The algorithms were agreed in IKE_SA_INIT with another candidate's proposals: a
      // connection whose own proposals would have refused them is not eligible.
      if (!proposal::select({ike_proposal_}, c->ike_proposals, wire::protocol_id::ike, ke_group_)) continue;
      chosen = c;
      break;
    }
  }
  if (!chosen) {
    send_response(m.header, {notify(wire::notify::authentication_failed)}, local_, remote_);
    finish("no connection matches peer identity '" + peer.to_string() + "'" +
           (wanted ? " asking for '" + wanted->to_string() + "'" : std::string()));
    return;
  }
  conn_ = chosen;
  peer_id_ = peer;
  std::string why;
  if (!verify_peer_auth(*conn_, ps, peer, why)) {
    send_response(m.header, {notify(wire::notify::authentication_failed)}, local_, remote_);
    finish("AUTHENTICATION_FAILED for '" + conn_->name + "': " + why);
    return;
  }
  std::vector<wire::payload> out;
  out.push_back(wire::make_payload(payload_type::idr, conn_->local.id.to_payload()));
  std::vector<wire::payload> auth_part;
  if (!make_auth(*conn_, peer, auth_part)) {
    send_response(m.header, {notify(wire::notify::authentication_failed)}, local_, remote_);
    finish("cannot authenticate ourselves for '" + conn_->name + "'");
    return;
  }
  for (auto& p : auth_part) out.push_back(std::move(p));
  state_ = ike_state::established;
  answer_child(*conn_, ps, out);
  send_response(m.header, std::move(out), local_, remote_);
  on_established();
}

void ike_sa::handle_auth_response(const wire::message& m) {
  const auto& ps = m.payloads;
  auto* idr = wire::find_first<wire::id_payload>(ps, payload_type::idr);
  if (!idr || !wire::find_first<wire::auth_payload>(ps, payload_type::auth)) {
    auto* e = first_error(ps);
    finish("peer " + remote_.to_string() + " rejected IKE_AUTH: " +
           (e ? std::string(wire::notify_name(e->type)) : std::string("no IDr or AUTH in the response")));
    return;
  }
  auto peer = auth::identity::from_payload(*idr);
  if (!peer.matches(conn_->remote.id)) {
    finish("peer identity '" + peer.to_string() + "' does not match the configured '" +
           conn_->remote.id.to_string() + "'");
    return;
  }
  peer_id_ = peer;
  std::string why;
  if (!verify_peer_auth(*conn_, ps, peer, why)) {
    // §2.21.2: tell the responder, then forget the SA.
    wire::ike_header h;
    h.spi_i = spi_i_;
    h.spi_r = spi_r_;
    h.exchange_type = wire::exchange::informational;
    h.flags = wire::flag::initiator;
    h.message_id = window_.next_request_id();
    auto data = protect(h, {notify(wire::notify::authentication_failed)});
    if (data) transmit(std::move(*data), local_, remote_);
    finish("AUTHENTICATION_FAILED for '" + conn_->name + "': " + why);
    return;
  }
  state_ = ike_state::established;
  on_established();

  if (!pending_child_) return;
  child_sa ch = std::move(*pending_child_);
  pending_child_.reset();
  const child_config* cc = conn_->find_child(ch.name);
  std::vector<wire::proposal> offered = without_ke(cc->esp_proposals);
  for (auto& p : offered) {
    p.protocol = wire::protocol_id::esp;
    p.spi = u32_bytes(ch.spi_in);
  }
  const std::string name = ch.name;
  why.clear();
  std::uint16_t peer_error = 0;
  switch (take_child_answer(ps, std::move(ch), offered, nullptr, why, peer_error)) {
    case child_answer::installed:
      return;
    case child_answer::bad_proposal:
      queue_.push_back({queued::delete_ike});  // RFC 7296 §2.21.3 leaves it to us; a broken peer gets no SA
      start_next_request();
      break;
    case child_answer::refused:
      break;
  }
  fail_child_create(name, why, peer_error);
}

ike_sa::child_answer ike_sa::take_child_answer(const std::vector<wire::payload>& ps, child_sa ch,
                                               const std::vector<wire::proposal>& offered, const child_exchange* x,
                                               std::string& why, std::uint16_t& peer_error) {
  auto* sa = wire::find_first<wire::sa_payload>(ps, payload_type::sa);
  auto* tsi = wire::find_first<wire::ts_payload>(ps, payload_type::tsi);
  auto* tsr = wire::find_first<wire::ts_payload>(ps, payload_type::tsr);
  auto* nr = x ? wire::find_first<wire::nonce_payload>(ps, payload_type::nonce) : nullptr;
  if (auto* e = first_error(ps); e || !sa || !tsi || !tsr || sa->proposals.size() != 1 || (x && !nr)) {
    peer_error = e ? e->type : 0;
    why = "peer answered " + (e ? std::string(wire::notify_name(e->type)) : std::string("without SA, nonce or TS payloads")) +
          " (we proposed " + ts::to_string(ch.local_ts) + " === " + ts::to_string(ch.remote_ts) + ")";
    return child_answer::refused;
  }
  auto chosen = proposal::check_reply(sa->proposals.front(), offered, wire::protocol_id::esp);
  if (!chosen || sa->proposals.front().spi.size() != 4) {
    why = "invalid ESP proposal in the answer" + (chosen ? std::string() : ": " + chosen.err().message);
    return child_answer::bad_proposal;
  }
  bytes shared;
  if (auto alg = proposal::algorithms_of(*chosen); x && alg.ke != 0) {
    auto* ke = wire::find_first<wire::ke_payload>(ps, payload_type::ke);
    if (!x->ke || !ke || ke->group != alg.ke || x->ke->group() != alg.ke) {
      why = "peer chose KE group " + std::to_string(alg.ke) + " without a matching KE payload";
      return child_answer::bad_proposal;
    }
    auto s = x->ke->shared_secret(ke->data);
    if (!s) {
      why = "invalid KE payload: " + s.err().message;
      return child_answer::bad_proposal;
    }
    shared = std::move(*s);
  }
  std::string err;
  auto ts_i = selectors_of(tsi, err);
  auto ts_r = selectors_of(tsr, err);
  if (!err.empty() || !ts::is_subset(ts_i, ch.local_ts) || !ts::is_subset(ts_r, ch.remote_ts)) {
    why = "peer answered selectors " + ts::to_string(ts_i) + " === " + ts::to_string(ts_r) +
          " outside of what we proposed " + ts::to_string(ch.local_ts) + " === " + ts::to_string(ch.remote_ts);
    wipe(shared);
    return child_answer::refused;
  }
  ch.local_ts = ts_i;
  ch.remote_ts = ts_r;
  ch.spi_out = get_u32(sa->proposals.front().spi.data());
  bool transport = wire::find_notify(ps, wire::notify::use_transport_mode) != nullptr;
  if (ch.mode == child_mode::transport && !transport)
    log(log_level::info, "CHILD_SA " + ch.name + ": peer did not accept transport mode, using tunnel mode");
  ch.mode = transport && ch.mode == child_mode::transport ? child_mode::transport : child_mode::tunnel;
  bool ok = false;
  if (x) {
    child_keying k{shared, x->ni, nr->data, true};  // our CREATE_CHILD_SA
    ok = complete_child(ch, *chosen, &k);
    wipe(shared);
  } else {
    ok = complete_child(ch, *chosen);
  }
  if (!ok) {
    why = "the new SA could not be keyed";
    return child_answer::refused;
  }
  return child_answer::installed;
}

void ike_sa::on_established() {
  timer_tokens_.erase(timer_kind::half_open);
  log(log_level::info, "IKE SA '" + conn_->name + "' established between " + local_.to_string() + "[" +
                           conn_->local.id.to_string() + "]..." + remote_.to_string() + "[" + remote_id() +
                           "] with " + proposal_string());
  actions_.emplace_back(std::in_place_type<ike_established>);
  // The first liveness check comes dpd_delay after establishment if the peer stays silent.
  received_since_dpd_ = false;
  if (conn_->dpd_delay.count() > 0) arm(timer_kind::dpd, conn_->dpd_delay);
  arm_ike_lifetime();
  // Reauthentication is counted from establishment only: an IKE rekey does not postpone it.
  if (conn_->reauth_time.count() > 0) arm_reauth(conn_->reauth_time);
}

// ---------------------------------------------------------------------------------------------
// Everything after IKE_SA_INIT

void ike_sa::handle_informational_request(const wire::message& m, std::vector<wire::payload>& reply) {
  std::vector<bytes> our_spis;
  bool delete_ike = false;
  for (const auto& p : m.payloads) {
    if (p.type != payload_type::del) continue;
    const auto& d = std::get<wire::delete_payload>(p.body);
    if (d.protocol == wire::protocol_id::ike) {
      delete_ike = true;
    } else if (d.protocol == wire::protocol_id::esp || d.protocol == wire::protocol_id::ah) {
      for (const auto& spi : d.spis) {
        if (spi.size() != 4) continue;
        std::uint32_t out_spi = get_u32(spi.data());
        for (auto it = children_.begin(); it != children_.end(); ++it) {
          if (it->second.spi_out != out_spi) continue;
          our_spis.push_back(u32_bytes(it->second.spi_in));
          log(log_level::info, "CHILD_SA " + it->second.name + "{" + std::to_string(it->first) + "} deleted by peer");
          // §2.8.1: the redundant SA of a rekey collision, closed by the peer that made it.
          if (rekey_out_ && rekey_out_->peer_fresh_id == it->first) superseded_.insert(it->first);
          remove_child_sa(it);
          break;
        }
      }
    }
  }
  if (delete_ike) return;  // caller answers with an empty message and closes
  if (!our_spis.empty()) {
    wire::delete_payload d;
    d.protocol = wire::protocol_id::esp;
    d.spi_size = 4;
    d.spis = std::move(our_spis);
    reply.push_back(wire::make_payload(payload_type::del, std::move(d)));
  }
}

void ike_sa::handle_informational_response(const wire::message&) {
  if (!in_flight_) return;
  auto done = *in_flight_;
  in_flight_.reset();
  switch (done.kind) {
    case queued::liveness:
    case queued::rekey_child:  // answered by CREATE_CHILD_SA, never INFORMATIONAL
    case queued::create_child:
    case queued::rekey_ike:
      break;
    case queued::delete_ike:
      finish("deleted");
      break;
    case queued::delete_child: {
      auto it = children_.find(done.child_id);
      if (it == children_.end()) break;
      log(log_level::info, "CHILD_SA " + it->second.name + "{" + std::to_string(it->first) + "} deleted");
      remove_child_sa(it);
      break;
    }
  }
}

void ike_sa::handle_protected(const wire::ike_header& h, bytes_view raw, const endpoint& local,
                              const endpoint& remote) {
  if (h.is_response()) {
    if (!window_.is_response_to_outstanding(h.message_id)) {
      drop("unexpected_message_id", "unexpected response with message id " + std::to_string(h.message_id));
      return;
    }
    auto opened = open_protected(h, raw);
    if (!opened) {
      drop("integrity", "response does not verify: " + opened.err().message);
      return;
    }
    if (!opened->has_value()) return;  // more fragments to come
    auto m = std::move(**opened);
    window_.response_received();
    timer_tokens_.erase(timer_kind::retransmit);
    received_since_dpd_ = true;
    follow_peer(remote);
    if (h.exchange_type == wire::exchange::ike_auth && state_ == ike_state::auth_sent) {
      handle_auth_response(m);
      if (params_.reauth_of && state_ == ike_state::established && !reauth_started_) continue_reauth();
    } else if (h.exchange_type == wire::exchange::informational) {
      handle_informational_response(m);
    } else if (h.exchange_type == wire::exchange::create_child_sa) {
      handle_create_child_response(m);
    }
    start_next_request();
    return;
  }

  switch (window_.classify_request(h.message_id)) {
    case message_window::verdict::drop:
      drop("unexpected_message_id", "request with unexpected message id " + std::to_string(h.message_id));
      return;
    case message_window::verdict::retransmit:
      // A fragmented request is retransmitted as all its fragments: answer the first only.
      if (h.next_payload == wire::payload_type::skf) {
        auto frag = wire::parse_message(raw);
        auto* f = frag ? wire::find_first<wire::skf_payload>(frag->payloads, payload_type::skf) : nullptr;
        if (!f || f->fragment_number != 1) return;
      }
      log(log_level::debug, "retransmitting response to message id " + std::to_string(h.message_id));
      transmit_all(window_.cached_response(), local, remote);
      return;
    case message_window::verdict::process:
      break;
  }
  auto opened = open_protected(h, raw);
  if (opened && !opened->has_value()) return;  // more fragments to come
  result<wire::message> m = opened ? result<wire::message>(std::move(**opened)) : result<wire::message>(opened.err());
  if (!m) {
    const auto& e = m.err();
    if (e.code == errc::integrity_check_failed || e.code == errc::crypto_failure) {
      drop("integrity", "request does not verify: " + e.message);
      return;
    }
    if (e.code == errc::invalid_argument && h.next_payload == payload_type::skf) {
      drop("fragment", "fragment refused: " + e.message);  // over the reassembly limits, or foreign
      return;
    }
    // Decrypted, but malformed inside: answer as §2.21 asks.
    std::vector<wire::payload> reply;
    if (e.code == errc::unsupported_critical_payload)
      reply.push_back(notify(wire::notify::unsupported_critical_payload, {static_cast<std::uint8_t>(e.payload_type)}));
    else
      reply.push_back(notify(wire::notify::invalid_syntax));
    log(log_level::warning, "malformed " + std::string(wire::name_of(h.exchange_type)) + " request from " +
                                remote.to_string() + ": " + e.message);
    send_response(h, std::move(reply), local, remote);
    if (h.exchange_type == wire::exchange::ike_auth) finish("malformed IKE_AUTH request: " + e.message);
    return;
  }
  received_since_dpd_ = true;
  if (h.exchange_type == wire::exchange::ike_auth) {
    if (initiator_ || state_ != ike_state::init_done) {
      drop("unexpected_exchange", "IKE_AUTH request in state " + std::string(to_string(state_)));
      return;
    }
    // The initiator may have moved to the NAT-T port: answer where the request came from.
    local_ = local;
    remote_ = remote;
    handle_auth_request(*m);
    return;
  }
  if (state_ != ike_state::established && state_ != ike_state::deleting) {
    drop("unexpected_exchange", std::string(wire::name_of(h.exchange_type)) + " request before the SA is established");
    return;
  }
  follow_peer(remote);
  std::vector<wire::payload> reply;
  if (h.exchange_type == wire::exchange::informational) {
    handle_informational_request(*m, reply);
    bool delete_ike = false;
    for (const auto& p : m->payloads)
      if (p.type == payload_type::del && std::get<wire::delete_payload>(p.body).protocol == wire::protocol_id::ike)
        delete_ike = true;
    if (delete_ike) {
      send_response(h, {}, local, remote);
      if (collision_ && state_ == ike_state::established) {
        // §2.8.2: the peer's rekey won and it deleted the old SA before our answer came.
        adopt_peer_rekey_after_old_deleted();
        return;
      }
      finish("deleted by peer");
      return;
    }
    if (auto* n = wire::find_notify(m->payloads, wire::notify::authentication_failed)) {
      (void)n;
      send_response(h, {}, local, remote);
      finish("peer reported AUTHENTICATION_FAILED");
      return;
    }
  } else if (h.exchange_type == wire::exchange::create_child_sa) {
    handle_create_child_request(*m, reply);
  } else {
    drop("unexpected_exchange", "request of unknown exchange type " + std::to_string(int(h.exchange_type)));
    return;
  }
  send_response(h, std::move(reply), local, remote);
  // An IKE SA rekey the peer started: its answer went out under the old SA, now switch.
  if (switch_to_) switch_to_new_sa();
}

result<std::optional<wire::message>> ike_sa::open_protected(const wire::ike_header& h, bytes_view raw) {
  if (h.next_payload == payload_type::skf) {
    // RFC 7383: fragments only after both sides announced support.
    if (!peer_fragmentation_ || !conn_->fragmentation)
      return make_error(errc::integrity_check_failed, "IKE fragment although fragmentation was not negotiated");
    auto r = fragments_.add(raw, *cipher_, keys_in_);
    // An incomplete message may wait fragment_timeout for its other fragments, then it is dropped
    // (the peer's retransmission brings all of them again).
    if (fragments_.received() == 0)
      timer_tokens_.erase(timer_kind::reassembly);
    else if (!timer_tokens_.contains(timer_kind::reassembly))
      arm(timer_kind::reassembly, conn_->fragment_timeout);
    return r;
  }
  auto m = wire::open_message(raw, *cipher_, keys_in_);
  if (!m) return m.err();
  return std::optional<wire::message>(std::move(*m));
}

void ike_sa::on_datagram(bytes_view datagram, const endpoint& local, const endpoint& remote) {
  if (state_ == ike_state::closed) return;
  auto h = wire::parse_header(datagram);
  if (!h) {
    drop("malformed", "malformed header: " + h.err().message);
    return;
  }
  // The old SA of a rekey, until its DELETE is done.
  if (retiring_ && h->spi_i == retiring_->spi_i && h->spi_r == retiring_->spi_r) {
    handle_spare(spare::old_sa, *h, datagram, local, remote);
    return;
  }
  // The redundant SA of a rekey collision (§2.8.2), until its DELETE is done, and the peer's
  // new SA of a collision not decided yet.
  if (redundant_ && h->spi_i == redundant_->spi_i && h->spi_r == redundant_->spi_r) {
    handle_spare(spare::redundant, *h, datagram, local, remote);
    return;
  }
  if (collision_ && h->spi_i == collision_->sa.spi_i && h->spi_r == collision_->sa.spi_r) {
    handle_collision_sa(*h, datagram, local, remote);
    return;
  }
  // Messages from the original initiator carry the I flag; anything else is not for this SA.
  bool from_initiator = h->is_initiator();
  if (from_initiator == initiator_) {
    drop("wrong_flags", "message with the wrong initiator flag");
    return;
  }
  if (h->exchange_type == wire::exchange::ike_sa_init) {
    if (h->message_id != 0) {
      drop("unexpected_message_id", "IKE_SA_INIT with message id " + std::to_string(h->message_id));
      return;
    }
    if (initiator_) {
      if (!h->is_response() || state_ != ike_state::init_sent) {
        drop("unexpected_exchange", "unexpected IKE_SA_INIT");
        return;
      }
      auto m = wire::parse_message(datagram);
      if (!m) {
        drop("malformed", "malformed IKE_SA_INIT response: " + m.err().message);
        return;
      }
      handle_init_response(*m, datagram, local, remote);
      return;
    }
    if (h->is_response()) {
      drop("unexpected_exchange", "IKE_SA_INIT response to a responder");
      return;
    }
    if (state_ != ike_state::created) {
      // A retransmitted IKE_SA_INIT: same answer again.
      if (bytes_view(init_request_).size() == datagram.size() &&
          std::equal(datagram.begin(), datagram.end(), init_request_.begin()))
        transmit(init_response_, local, remote);
      else
        drop("unexpected_exchange", "another IKE_SA_INIT for an existing SA");
      return;
    }
    auto m = wire::parse_message(datagram);
    if (!m) {
      if (m.err().code == errc::unsupported_critical_payload)
        send_clear_error(*h, wire::notify::unsupported_critical_payload,
                         {static_cast<std::uint8_t>(m.err().payload_type)}, local, remote);
      else if (m.err().code == errc::invalid_major_version)
        send_clear_error(*h, wire::notify::invalid_major_version, {}, local, remote);
      else
        send_clear_error(*h, wire::notify::invalid_syntax, {}, local, remote);
      finish("malformed IKE_SA_INIT from " + remote.to_string() + ": " + m.err().message);
      return;
    }
    handle_init_request(*m, datagram, local, remote);
    return;
  }
  if (!cipher_ || (initiator_ && state_ == ike_state::init_sent)) {
    drop("unexpected_exchange", std::string(wire::name_of(h->exchange_type)) + " before keys exist");
    return;
  }
  handle_protected(*h, datagram, local, remote);
}

void ike_sa::on_timer(timer_kind kind, std::uint64_t token) {
  if (kind == timer_kind::child_rekey || kind == timer_kind::child_expire) return on_child_timer(kind, token);
  auto it = timer_tokens_.find(kind);
  if (state_ == ike_state::closed || it == timer_tokens_.end() || it->second != token) return;
  timer_tokens_.erase(it);
  switch (kind) {
    case timer_kind::retransmit: {
      if (!window_.request_outstanding()) return;
      const auto& policy = conn_->retransmit;
      if (window_.retransmissions() >= policy.tries) {
        finish("peer " + remote_.to_string() + " did not answer after " + std::to_string(policy.tries) +
                   " retransmissions",
               true);
        return;
      }
      window_.count_retransmission();
      log(log_level::debug, "retransmit " + std::to_string(window_.retransmissions()) + " of message id " +
                                std::to_string(window_.next_request_id()));
      // IKE_AUTH onwards may have moved ports; the stored endpoints follow local_/remote_.
      if (state_ != ike_state::init_sent) window_.set_request_endpoints(local_, remote_);
      transmit_all(window_.request(), window_.request_local(), window_.request_remote());
      arm(timer_kind::retransmit, policy.delay(window_.retransmissions()));
      return;
    }
    case timer_kind::dpd:
      if (state_ != ike_state::established) return;
      if (!received_since_dpd_) request_liveness_check();
      received_since_dpd_ = false;
      arm(timer_kind::dpd, conn_->dpd_delay);
      return;
    case timer_kind::reassembly:
      if (fragments_.received() == 0) return;
      drop("fragment_timeout", "incomplete fragmented message: " + std::to_string(fragments_.received()) + " of " +
                                   std::to_string(fragments_.total_fragments()) + " fragments within " +
                                   std::to_string(conn_->fragment_timeout.count()) + " ms");
      fragments_.clear();
      return;
    case timer_kind::half_open:
      if (state_ != ike_state::established)
        finish("no IKE_AUTH from " + remote_.to_string() + " within " +
               std::to_string(conn_->half_open_timeout.count() / 1000) + " s");
      return;
    case timer_kind::child_rekey:
    case timer_kind::child_expire:
      return;  // handled by on_child_timer
    case timer_kind::ike_rekey:
      if (state_ != ike_state::established) return;
      log(log_level::info, "IKE SA rekey_time reached, rekeying");
      if (!request_ike_rekey()) {
        log(log_level::debug, "no IKE SA rekey started now, trying again later");
        arm(timer_kind::ike_rekey, std::chrono::milliseconds(10000 + crypto::random_u64() % 10001));
      }
      return;
    case timer_kind::old_ike:
      on_spare_timer(spare::old_sa);
      return;
    case timer_kind::redundant_ike:
      on_spare_timer(spare::redundant);
      return;
    case timer_kind::ike_reauth:
    case timer_kind::ike_expire:
      on_lifetime_timer(kind);
      return;
  }
}

}  // namespace aike::sa
