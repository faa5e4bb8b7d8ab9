// CREATE_CHILD_SA for additional CHILD_SAs on an established IKE SA (RFC 7296 §1.3.1, §2.9,
// §2.12), both roles: the request (SA, Ni, KEi with PFS, TSi, TSr) goes through the same
// one-at-a-time queue as rekeys and deletes; INVALID_KE_PAYLOAD is retried once with the
// group the peer names (§1.3, §1.2). A child that is refused fails on its own: the IKE SA stays.
// Part of sa::ike_sa; the payload building and answer checking it shares with IKE_AUTH's
// child is in ike_sa.cpp (child_request_payloads, answer_child, take_child_answer).
#include <algorithm>

#include "engine/crypto/random.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/ike_sa.hpp"
#include "engine/sa/sa_payloads.hpp"

namespace aike::sa {

using wire::payload_type;
using namespace detail;

namespace {
constexpr int max_create_ke_retries = 1;
}  // namespace

bool ike_sa::request_child_create(const std::string& child_name) {
  if (state_ != ike_state::established || !conn_ || !conn_->find_child(child_name)) return false;
  queue_.push_back({queued::create_child, 0, child_name});
  start_next_request();
  return true;
}

void ike_sa::fail_child_create(const std::string& name, const std::string& why, std::uint16_t notify_type) {
  log(log_level::warning, "CHILD_SA " + name + " not created: " + why);
  actions_.push_back(child_create_failed{name, why, notify_type});
  settle_reauth_child(name, false);  // a CHILD_SA a reauthentication waited for
}

void ike_sa::fail_queued_creates(const std::string& why, bool in_flight) {
  if (in_flight && create_out_) {
    fail_child_create(create_out_->pending.name, why, 0);
    create_out_.reset();
  }
  if (in_flight && pending_child_) {
    fail_child_create(pending_child_->name, why, 0);
    pending_child_.reset();
  }
  for (const auto& q : queue_)
    if (q.kind == queued::create_child) fail_child_create(q.child_name, why, 0);
  queue_.erase_if([](const queued_request& q) { return q.kind == queued::create_child; });
}

bool ike_sa::send_child_create(const std::string& child_name) {
  const child_config* cc = conn_->find_child(child_name);
  if (!cc) {
    fail_child_create(child_name, "its configuration is gone", 0);
    return false;
  }
  child_create cr;
  cr.pending.name = child_name;
  cr.offered = cc->esp_proposals;
  return send_create_request(std::move(cr), proposal::preferred_ke_group(cc->esp_proposals));
}

bool ike_sa::send_create_request(child_create cr, std::uint16_t group) {
  const std::string name = cr.pending.name;
  const child_config* cc = conn_->find_child(name);
  if (!cc) {
    fail_child_create(name, "its configuration is gone", 0);
    return false;
  }
  cr.ke.reset();
  if (group != 0) {
    auto ke = crypto::key_exchange::create(group);
    if (!ke) {
      fail_child_create(name, "key exchange group " + std::to_string(group) + ": " + ke.err().message, 0);
      return false;
    }
    cr.ke = std::move(*ke);
  }
  cr.nonce = crypto::random_bytes(nonce_size);
  auto inner = child_request_payloads(*cc, cr.pending, cr.offered);
  // §1.3.1: SA, Ni, [KEi], TSi, TSr.
  auto after_sa = std::find_if(inner.begin(), inner.end(), [](const wire::payload& p) { return p.type == payload_type::sa; });
  std::vector<wire::payload> keying;
  keying.push_back(wire::make_payload(payload_type::nonce, wire::nonce_payload{cr.nonce}));
  if (cr.ke) keying.push_back(wire::make_payload(payload_type::ke, wire::ke_payload{group, cr.ke->public_value()}));
  inner.insert(after_sa + 1, std::make_move_iterator(keying.begin()), std::make_move_iterator(keying.end()));
  log(log_level::info, "creating CHILD_SA " + name + "{" + std::to_string(cr.pending.id) + "} with TS " +
                           ts::to_string(cr.pending.local_ts) + " === " + ts::to_string(cr.pending.remote_ts) +
                           (cr.ke ? " and PFS group " + std::to_string(group) : std::string()));
  create_out_ = std::move(cr);
  send_request(wire::exchange::create_child_sa, std::move(inner));
  return true;
}

void ike_sa::handle_child_create_response(const wire::message& m) {
  in_flight_.reset();
  child_create cr = std::move(*create_out_);
  create_out_.reset();
  const std::string name = cr.pending.name;
  if (auto* e = first_error(m.payloads); e && e->type == wire::notify::invalid_ke_payload) {
    std::uint16_t group = e->data.size() >= 2 ? get_u16(e->data.data()) : 0;
    if (cr.ke && group != cr.ke->group() && proposal::accepts_ke_group(cr.offered, group) &&
        ++cr.ke_retries <= max_create_ke_retries) {
      log(log_level::info, "peer asked for KE group " + std::to_string(group) + " for CHILD_SA " + name + ", retrying");
      cr.offered = proposal::with_ke_group_first(cr.offered, group);
      in_flight_ = queued_request{queued::create_child, 0, name};
      if (!send_create_request(std::move(cr), group)) in_flight_.reset();
      return;
    }
    fail_child_create(name,
                      "peer answered INVALID_KE_PAYLOAD asking for group " + std::to_string(group) + " (not retried: " +
                          (cr.ke_retries > max_create_ke_retries ? "retried already" : "not a group we offer") + ")",
                      e->type);
    return;
  }
  child_exchange x{cr.nonce, cr.ke.get()};
  std::string why;
  std::uint16_t peer_error = 0;
  if (take_child_answer(m.payloads, std::move(cr.pending), cr.offered, &x, why, peer_error) != child_answer::installed)
    fail_child_create(name, why, peer_error);
}

}  // namespace aike::sa
