#include "engine/sa/in_memory_pair.hpp"

#include "engine/sa/stateless_response.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

namespace aike::sa {

in_memory_pair::in_memory_pair(std::shared_ptr<const connection> initiator_conn,
                               std::shared_ptr<const connection> responder_conn)
    : conn_a_(std::move(initiator_conn)), conn_b_(std::move(responder_conn)) {}

sa_environment in_memory_pair::env() {
  sa_environment e;
  e.new_child_spi = [this] { return next_spi_++; };
  e.new_child_id = [this] { return next_id_++; };
  return e;
}

void in_memory_pair::start(const std::string& child) {
  ike_sa_params p;
  p.unique_id = 1;
  p.connections = {conn_a_};
  p.local = a;
  p.remote = b;
  p.env = env();
  p.reauth_of = reauth_of;
  p.reauth_children = reauth_children;
  initiator = ike_sa::make_initiator(p);
  initiator->initiate(child);
  collect(*initiator, true);
}

void in_memory_pair::collect(ike_sa& sa, bool is_a) {
  for (auto& act : sa.take_actions()) {
    if (auto* s = std::get_if<send_datagram>(&act)) {
      if (on_wire) on_wire(*s, is_a);
      wire_log.push_back(s->data);
      (is_a ? to_b : to_a).push_back(std::move(*s));
    } else if (auto* t = std::get_if<arm_timer>(&act)) {
      (is_a ? timers_a : timers_b)[t->kind] = t->token;
      (is_a ? delays_a : delays_b)[t->kind] = t->after;
    } else if (auto* i = std::get_if<install_child>(&act)) {
      (is_a ? installed_a : installed_b).push_back(i->child);
      (is_a ? replaces_a : replaces_b).push_back(i->replaces);
    } else if (auto* r = std::get_if<remove_child>(&act)) {
      (is_a ? removed_a : removed_b).push_back(r->child);
      (is_a ? rekey_removed_a : rekey_removed_b).push_back(r->rekeyed);
    } else if (std::get_if<ike_established>(&act)) {
      ++(is_a ? established_a : established_b);
    } else if (auto* c = std::get_if<ike_closed>(&act)) {
      (is_a ? closed_a : closed_b) = c->reason;
      if (is_a) dead_a = c->peer_dead;
    } else if (auto* k = std::get_if<ike_rekeyed>(&act)) {
      (is_a ? rekeyed_a : rekeyed_b).push_back(*k);
    } else if (auto* rt = std::get_if<ike_retired>(&act)) {
      (is_a ? retired_a : retired_b).push_back(rt->local_spi);
    } else if (auto* rd = std::get_if<reauth_due>(&act)) {
      (is_a ? reauth_due_a : reauth_due_b).push_back(*rd);
    } else if (auto* rc = std::get_if<reauth_complete>(&act)) {
      if (is_a) reauth_complete_a.push_back(rc->old_id);
    } else if (auto* f = std::get_if<child_create_failed>(&act)) {
      (is_a ? failed_a : failed_b).push_back(*f);
    } else if (auto* mv = std::get_if<remote_moved>(&act)) {
      (is_a ? moved_a : moved_b).push_back(*mv);
    } else if (std::get_if<dropped>(&act)) {
      ++drops;
    } else if (auto* l = std::get_if<log_line>(&act)) {
      logs.push_back((is_a ? "A: " : "B: ") + l->text);
    }
  }
}

void in_memory_pair::send_cookie(const send_datagram& d) {
  auto h = wire::parse_header(d.data);
  auto m = wire::parse_message(d.data);
  auto* ni = m ? wire::find_first<wire::nonce_payload>(m->payloads, wire::payload_type::nonce) : nullptr;
  bytes cookie = jar_.make(ni ? bytes_view(ni->data) : bytes_view(), d.local.addr, h->spi_i);
  send_datagram answer{d.remote, d.local, stateless_init_response(*h, wire::notify::cookie, std::move(cookie))};
  if (on_wire) on_wire(answer, false);
  wire_log.push_back(answer.data);
  to_a.push_back(std::move(answer));
}

void in_memory_pair::deliver_to_b(const send_datagram& d) {
  auto h = wire::parse_header(d.data);
  if (!h) return;
  bool new_init = h->exchange_type == wire::exchange::ike_sa_init && !h->is_response() &&
                  (!responder || responder->state() == ike_state::closed);
  if (new_init) {
    if (require_cookie) {
      auto m = wire::parse_message(d.data);
      if (!m) return;
      auto* ni = wire::find_first<wire::nonce_payload>(m->payloads, wire::payload_type::nonce);
      auto* c = wire::find_notify(m->payloads, wire::notify::cookie);
      if (!ni || !c || !jar_.check(c->data, ni->data, d.local.addr, h->spi_i)) {
        send_cookie(d);
        return;
      }
    }
    ike_sa_params p;
    p.unique_id = 2;
    p.connections = {conn_b_};
    p.connections.insert(p.connections.end(), more_responder_connections.begin(), more_responder_connections.end());
    p.local = d.remote;
    p.remote = d.local;
    p.env = env();
    responder = ike_sa::make_responder(p);
  }
  if (!responder) return;
  responder->on_datagram(d.data, d.remote, d.local);
  collect(*responder, false);
}

void in_memory_pair::deliver_to_a(const send_datagram& d) {
  initiator->on_datagram(d.data, d.remote, d.local);
  collect(*initiator, true);
}

void in_memory_pair::run(int lose) {
  int n = 0;
  while (!to_b.empty() || !to_a.empty()) {
    if (!to_b.empty()) {
      auto d = std::move(to_b.front());
      to_b.pop_front();
      if (n++ != lose) deliver_to_b(d);
    }
    if (!to_a.empty()) {
      auto d = std::move(to_a.front());
      to_a.pop_front();
      if (n++ != lose) deliver_to_a(d);
    }
  }
}

void in_memory_pair::fire_a(timer_kind k) {
  auto it = timers_a.find(k);
  if (it == timers_a.end()) return;
  initiator->on_timer(k, it->second);
  collect(*initiator, true);
}

void in_memory_pair::fire_b(timer_kind k) {
  auto it = timers_b.find(k);
  if (it == timers_b.end() || !responder) return;
  responder->on_timer(k, it->second);
  collect(*responder, false);
}

}  // namespace aike::sa
