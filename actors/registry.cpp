#include "actors/registry.hpp"

#include <algorithm>

#include "actors/id_source.hpp"
#include "actors/ike_sa_actor.hpp"
#include "actors/kernel_events.hpp"
#include "actors/route_lookup.hpp"
#include "actors/spi_pool.hpp"
#include "engine/crypto/random.hpp"
#include "engine/sa/init_request_check.hpp"
#include "engine/sa/stateless_response.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<registry_state>*;

constexpr auto cookie_rotation = std::chrono::minutes(2);

std::string label(const registry_entry& e, std::uint32_t id) { return e.connection + "[" + std::to_string(id) + "]"; }

bool contains(const std::vector<ip_address>& list, const ip_address& a) {
  return list.empty() || std::find(list.begin(), list.end(), a) != list.end();
}

void count_drop(self_ptr self, const std::string& reason, const endpoint& from) {
  auto& st = self->state;
  ++st.drops[reason];
  std::uint64_t total = 0;
  for (const auto& [r, n] : st.drops) total += n;
  // Rate-limited: the first drop, then one line per 1,000 (a flood must not flood the log).
  if (total == 1 || total - st.drops_logged_at >= 1000) {
    st.drops_logged_at = total;
    st.log(level::info, "dropped datagram from " + from.to_string() + ": " + reason + " (" + std::to_string(total) +
                            " dropped so far)");
  } else {
    st.log(level::debug, "dropped datagram from " + from.to_string() + ": " + reason);
  }
}

std::uint64_t fresh_spi(self_ptr self) {
  std::uint64_t spi = 0;
  while (spi == 0 || self->state.by_spi.count(spi)) spi = crypto::random_u64();
  return spi;
}

// new_child_spi: a kernel-reserved SPI for the SA's local address when the XFRM backend keeps
// some (actors/spi_pool.hpp), else a random one; never waits.
sa::sa_environment environment(const ip_address& local) {
  sa::sa_environment env;
  env.new_child_spi = [local] {
    if (auto spi = spi_pool::global().take(local)) return *spi;
    return next_esp_spi();
  };
  env.new_child_id = next_child_id;
  env.new_reqid = next_reqid;
  return env;
}

// The updown scripts of the connections an SA may end up with, as the configuration names them now.
updown_scripts scripts_for(const config::config& cfg, const std::vector<std::shared_ptr<const sa::connection>>& conns) {
  updown_scripts out;
  for (const auto& c : conns) {
    const auto* conn = cfg.find(c->name);
    if (!conn) continue;
    if (!conn->updown.empty()) out[{c->name, std::string()}] = conn->updown;
    for (const auto& ch : conn->children)
      if (!ch.updown.empty()) out[{c->name, ch.name}] = ch.updown;
  }
  return out;
}

// `reauth_of`: the new SA reauthenticates that one, recreating `reauth` (make-before-break).
std::uint32_t spawn_sa(self_ptr self, bool initiator, std::vector<std::shared_ptr<const sa::connection>> conns,
                       const endpoint& local, const endpoint& remote, const std::string& child,
                       std::uint64_t child_op = 0, std::uint32_t reauth_of = 0, std::vector<sa::reauth_child> reauth = {}) {
  auto& st = self->state;
  std::uint32_t id = st.next_id++;
  ike_sa_init init;
  init.params.unique_id = id;
  init.params.reauth_of = reauth_of;
  init.params.reauth_children = std::move(reauth);
  init.params.connections = std::move(conns);
  init.params.local = local;
  init.params.remote = remote;
  init.params.natt_port = st.cfg->daemon.natt_port;
  init.params.local_spi = fresh_spi(self);
  init.params.env = environment(local.addr);
  spi_pool::global().warm(local.addr);  // the first CHILD_SA SPI is asked for one round trip later
  init.initiator = initiator;
  init.child = child;
  init.child_op = child_op;
  init.registry = caf::actor_cast<caf::actor>(self);
  init.kernel = st.kernel;
  init.events = st.events;
  init.updown = scripts_for(*st.cfg, init.params.connections);
  init.io = st.io;
  init.timers = st.timers;
  init.watchers = st.watchers;
  std::string conn_name = init.params.connections.front()->name;
  init.log = st.log.with(subsystem::ike, conn_name + "[" + std::to_string(id) + "]");
  std::uint64_t spi = init.params.local_spi;
  registry_entry e;
  e.connection = conn_name;
  e.child = child;
  e.initiator = initiator;
  e.reauth_of = reauth_of;
  e.summary.name = conn_name;
  e.summary.id = id;
  e.summary.state = "CONNECTING";
  e.summary.initiator = initiator;
  e.summary.local_spi = spi;
  e.handle = self->spawn(ike_sa_actor, std::move(init));
  st.by_spi.emplace(spi, id);
  st.sas.emplace(id, std::move(e));
  ++st.half_open;
  // A terminate --all in progress covers SAs that appear while it runs.
  for (auto& [op_id, op] : st.ops) {
    if (op.what == bulk_op::kind::terminate_ike && op.all) {
      op.pending.insert(id);
      ++op.result.matched;
      self->send(st.sas[id].handle, terminate_atom::value, op.force);
    }
  }
  return id;
}

// Finishes an operation whose pending set is empty.
// Progress goes to aikectl at most four times a second, anonymously so that the registry's handle
// never crosses the control connection.
void report_progress(bulk_op& op, bool final) {
  if (!op.progress) return;
  auto now = std::chrono::steady_clock::now();
  if (!final && now - op.progress_at < std::chrono::milliseconds(250)) return;
  op.progress_at = now;
  caf::anon_send(op.progress, progress_atom::value, static_cast<std::uint64_t>(op.result.completed + op.result.failed),
                 static_cast<std::uint64_t>(op.result.matched));
}

std::uint32_t spawn_sa(self_ptr self, bool initiator, std::vector<std::shared_ptr<const sa::connection>> conns,
                       const endpoint& local, const endpoint& remote, const std::string& child, std::uint64_t child_op,
                       std::uint32_t reauth_of, std::vector<sa::reauth_child> reauth);

// Starts waiting SAs of an initiate --count while fewer than initiate_window are under way.
void refill(self_ptr self, bulk_op& op) {
  while (op.remaining > 0 && op.pending.size() < initiate_window) {
    --op.remaining;
    op.pending.insert(spawn_sa(self, true, {op.conn}, op.local, op.remote, op.child));
  }
}

void maybe_complete(self_ptr self, std::uint64_t op_id) {
  auto it = self->state.ops.find(op_id);
  if (it == self->state.ops.end()) return;
  auto& op = it->second;
  if (op.what == bulk_op::kind::initiate) refill(self, op);
  if (!op.pending.empty()) {
    report_progress(op, false);
    return;
  }
  if (op.promise.pending()) op.promise.deliver(op.result);
  self->state.ops.erase(it);
}

bool matches(const registry_entry& e, std::uint32_t id, const sa_filter& f) {
  switch (f.kind) {
    case sa_filter::by::all: return true;
    case sa_filter::by::ike_name: return e.connection == f.name;
    case sa_filter::by::ike_id: return id == f.id;
    case sa_filter::by::child_name:
      return std::any_of(e.summary.children.begin(), e.summary.children.end(),
                         [&](const sa::child_summary& c) { return c.name == f.name; });
    case sa_filter::by::child_id:
      return std::any_of(e.summary.children.begin(), e.summary.children.end(),
                         [&](const sa::child_summary& c) { return c.id == f.id; });
  }
  return false;
}

void on_datagram(self_ptr self, net::datagram& d) {
  auto& st = self->state;
  ++st.messages_in;
  auto h = wire::parse_header(d.data);
  if (!h) {
    count_drop(self, "malformed", d.remote);
    return;
  }
  // The original initiator sets the I flag: then our SPI is the responder's, else the initiator's.
  bool from_initiator = h->is_initiator();
  std::uint64_t ours = from_initiator ? h->spi_r : h->spi_i;
  if (ours != 0) {
    auto it = st.by_spi.find(ours);
    if (it == st.by_spi.end()) {
      count_drop(self, "unknown_spi", d.remote);
      return;
    }
    self->send(st.sas[it->second].handle, dgram_atom::value, std::move(d));
    return;
  }
  if (h->exchange_type != wire::exchange::ike_sa_init || h->is_response() || !from_initiator || h->message_id != 0) {
    count_drop(self, "unknown_spi", d.remote);
    return;
  }
  auto key = std::make_pair(h->spi_i, d.remote.to_string());
  if (auto it = st.by_init.find(key); it != st.by_init.end()) {
    self->send(st.sas[it->second].handle, dgram_atom::value, std::move(d));  // a retransmission
    return;
  }
  // A new IKE_SA_INIT: nothing is spawned for one that cannot start an SA.
  auto m = wire::parse_message(d.data);
  if (!m) {
    count_drop(self, "malformed", d.remote);
    return;
  }
  if (auto why = sa::check_init_request(*m)) {
    count_drop(self, "malformed", d.remote);
    return;
  }
  // Under load (§2.6), insist on a COOKIE before keeping any state.
  if (st.half_open >= st.cfg->daemon.half_open_cookie_threshold) {
    auto* ni = wire::find_first<wire::nonce_payload>(m->payloads, wire::payload_type::nonce);
    auto* c = wire::find_notify(m->payloads, wire::notify::cookie);
    if (!c || !st.cookies.check(c->data, ni->data, d.remote.addr, h->spi_i)) {
      st.io->send(d.local, d.remote,
                  sa::stateless_init_response(*h, wire::notify::cookie, st.cookies.make(ni->data, d.remote.addr, h->spi_i)));
      ++st.cookies_sent;
      return;
    }
  }
  std::vector<std::shared_ptr<const sa::connection>> candidates;
  for (int pass = 0; pass < 2; ++pass) {  // connections naming the peer's address first, then %any
    for (const auto& c : st.cfg->connections) {
      const auto& ike = *c.ike;
      if (pass == 0 ? ike.remote_addrs.empty() : !ike.remote_addrs.empty()) continue;
      if (contains(ike.local_addrs, d.local.addr) && contains(ike.remote_addrs, d.remote.addr))
        candidates.push_back(c.ike);
    }
  }
  if (candidates.empty()) {
    st.log(level::info, "no connection for IKE_SA_INIT " + d.local.to_string() + " <- " + d.remote.to_string() +
                            ", sending NO_PROPOSAL_CHOSEN");
    st.io->send(d.local, d.remote, sa::stateless_init_response(*h, wire::notify::no_proposal_chosen));
    ++st.drops["no_connection"];
    return;
  }
  std::uint32_t id = spawn_sa(self, false, std::move(candidates), d.local, d.remote, {});
  st.sas[id].init_key = key;
  st.by_init.emplace(key, id);
  self->send(st.sas[id].handle, dgram_atom::value, std::move(d));
}

void on_update(self_ptr self, sa::ike_summary s) {
  auto& st = self->state;
  std::uint64_t initiate_op = 0;
  auto it = st.sas.find(s.id);
  if (it == st.sas.end()) return;
  auto& e = it->second;
  bool now_up = s.state == "ESTABLISHED";
  e.connection = s.name;
  e.summary = std::move(s);
  if (now_up && e.half_open) {
    e.half_open = false;
    --st.half_open;
    st.by_init.erase(e.init_key);
    // unique ids: another established SA of the same connection and peer identity?
    if (const auto* conn = st.cfg->find(e.connection)) {
      if (conn->unique == config::unique_policy::replace || conn->unique == config::unique_policy::keep) {
        for (auto& [oid, other] : st.sas) {
          if (oid == e.summary.id || other.half_open || other.connection != e.connection ||
              other.summary.remote_id != e.summary.remote_id)
            continue;
          // Our own reauthentication deletes the old SA itself once the new one is complete.
          if (e.reauth_of == oid || other.reauth_of == e.summary.id) continue;
          // "keep" with a new SA from the very address of the old one: the peer reauthenticates
          // (or restarted); the old SA is the one to go, as with "replace".
          const bool policy_replace = conn->unique == config::unique_policy::replace;
          bool replace = policy_replace || other.summary.remote.addr == e.summary.remote.addr;
          std::uint32_t victim = replace ? oid : e.summary.id;
          st.log(level::info, "unique policy '" + std::string(policy_replace ? "replace" : "keep") + "': deleting " +
                                  label(st.sas[victim], victim) + " of peer '" + e.summary.remote_id + "'" +
                                  (replace && !policy_replace ? " (the new IKE SA comes from its address: a reauthentication)"
                                                              : ""));
          self->send(st.sas[victim].handle, terminate_atom::value, false);
          if (!replace) break;
        }
      }
    }
    for (auto& [op_id, op] : st.ops) {
      if (op.what == bulk_op::kind::initiate && op.pending.erase(e.summary.id)) {
        ++op.result.completed;
        initiate_op = op_id;
        break;
      }
    }
  }
  // CHILD_SA terminations complete when the child is gone from the summary.
  for (auto op_it = st.ops.begin(); op_it != st.ops.end();) {
    auto& op = op_it->second;
    auto next = std::next(op_it);
    if (op.what == bulk_op::kind::terminate_child) {
      auto c = op.children.find(e.summary.id);
      if (c != op.children.end()) {
        for (auto cid = c->second.begin(); cid != c->second.end();) {
          bool present = std::any_of(e.summary.children.begin(), e.summary.children.end(),
                                     [&](const sa::child_summary& x) { return x.id == *cid; });
          if (!present) {
            ++op.result.completed;
            cid = c->second.erase(cid);
          } else {
            ++cid;
          }
        }
        if (c->second.empty()) {
          op.children.erase(c);
          op.pending.erase(e.summary.id);
        }
        maybe_complete(self, op_it->first);
      }
    }
    op_it = next;
  }
  // Last: completing an initiate may start more SAs, which may move `e` in st.sas.
  if (initiate_op) maybe_complete(self, initiate_op);
}

void on_gone(self_ptr self, std::uint32_t id, const std::string& reason, bool peer_dead) {
  auto& st = self->state;
  auto it = st.sas.find(id);
  if (it == st.sas.end()) return;
  registry_entry e = std::move(it->second);
  st.sas.erase(it);
  // A reauthentication whose new SA went before it was complete: the old one stays (it retries).
  if (auto r = st.reauths.find(e.reauth_of); e.reauth_of && r != st.reauths.end() && r->second == id) {
    st.reauths.erase(r);
    st.log(level::info, label(e, id) + ": reauthentication of [" + std::to_string(e.reauth_of) +
                            "] failed (" + reason + "); the old IKE SA stays");
  }
  st.reauths.erase(id);
  st.by_spi.erase(e.summary.local_spi);
  if (e.half_open) {
    --st.half_open;
    st.by_init.erase(e.init_key);
  }
  std::vector<std::uint64_t> touched;
  for (auto& [op_id, op] : st.ops) {
    if (!op.pending.erase(id)) continue;
    touched.push_back(op_id);
    switch (op.what) {
      case bulk_op::kind::initiate:
        ++op.result.failed;
        op.result.errors.push_back(label(e, id) + ": " + reason);
        break;
      case bulk_op::kind::terminate_ike:
        ++op.result.completed;
        break;
      case bulk_op::kind::create_child:  // the SA reported its CHILD_SAs before it went
        op.result.failed += op.child_names.size();
        for (const auto& c : op.child_names) op.result.errors.push_back(label(e, id) + " " + c + ": " + reason);
        op.child_names.clear();
        break;
      case bulk_op::kind::terminate_child: {
        auto c = op.children.find(id);
        if (c != op.children.end()) {
          op.result.completed += c->second.size();
          op.children.erase(c);
        }
        break;
      }
      case bulk_op::kind::rekey_child: {  // normally the SA reported these itself before it went
        auto c = op.children.find(id);
        if (c != op.children.end()) {
          op.result.failed += c->second.size();
          for (auto cid : c->second)
            op.result.errors.push_back(label(e, id) + "{" + std::to_string(cid) + "}: the IKE SA went: " + reason);
          op.children.erase(c);
        }
        break;
      }
      case bulk_op::kind::rekey_ike:  // normally the SA reported it itself before it went
        ++op.result.failed;
        op.result.errors.push_back(label(e, id) + ": the IKE SA went: " + reason);
        break;
    }
  }
  for (auto op_id : touched) maybe_complete(self, op_id);
  // dpd_action = restart brings the connection up again after a dead peer; an attempt that
  // never got established counts against keyingtries (0 = try forever).
  if (peer_dead && e.initiator && !(e.reauth_of && st.sas.count(e.reauth_of))) {
    const auto* conn = st.cfg->find(e.connection);
    unsigned next_attempt = e.half_open ? e.attempt + 1 : 1;
    bool tries_left = conn && (conn->keyingtries == 0 || next_attempt <= std::max(1u, conn->keyingtries));
    if (conn && conn->on_dpd == config::dpd_action::restart && !tries_left)
      st.log(level::warning, label(e, id) + ": giving up on '" + e.connection + "' after " + std::to_string(e.attempt) +
                                 " attempt(s) (keyingtries = " + std::to_string(conn->keyingtries) + ")");
    if (conn && conn->on_dpd == config::dpd_action::restart && tries_left) {
      st.log(level::info, label(e, id) + ": peer is dead, restarting '" + e.connection + "' (dpd_action = restart)");
      const auto& ike = *conn->ike;
      if (!ike.remote_addrs.empty()) {
        endpoint remote{ike.remote_addrs.front(), ike.remote_port};
        endpoint local{ike.local_addrs.empty() ? source_address_for(remote.addr).value_or(ip_address{})
                                               : ike.local_addrs.front(),
                       conn->local_port};
        std::uint32_t nid = spawn_sa(self, true, {conn->ike}, local, remote, e.child);
        st.sas[nid].attempt = next_attempt;
        // The other CHILD_SAs it had come back too, by CREATE_CHILD_SA once it is up.
        const auto& cfg_children = conn->ike->children;
        std::string first = e.child.empty() && !cfg_children.empty() ? cfg_children.front().name : e.child;
        std::set<std::string> others;
        for (const auto& c : e.summary.children)
          if (c.name != first && others.insert(c.name).second)
            self->send(st.sas[nid].handle, initiate_atom::value, c.name, std::uint64_t{0});
      }
    }
  }
}

// An initiate of one connection's CHILD_SAs (`child`, or all of them): as charon does, they go on
// an IKE SA of that connection to the same peer that exists already (established, or one we are
// setting up), by CREATE_CHILD_SA (RFC 7296 §1.3.1); only without one a new IKE SA is made, whose
// IKE_AUTH carries the first child. The answer counts CHILD_SAs: installed, or failed with why.
caf::result<bulk_result> start_child_initiate(self_ptr self, const config::connection& conn, const std::string& child,
                                              const endpoint& local, const endpoint& remote, std::uint32_t timeout_ms,
                                              bool block, caf::actor progress) {
  auto& st = self->state;
  const auto& ike = *conn.ike;
  std::vector<std::string> names;
  if (!child.empty()) {
    names.push_back(child);
  } else {
    for (const auto& c : ike.children) names.push_back(c.name);
  }
  std::uint32_t reuse = 0;
  for (const auto& [id, e] : st.sas) {
    if (e.connection != ike.name || !(e.summary.remote.addr == remote.addr)) continue;
    bool up = e.summary.state == "ESTABLISHED";
    bool ours_connecting = e.initiator && e.half_open;
    if (up && (!reuse || st.sas[reuse].summary.state != "ESTABLISHED")) reuse = id;
    if (ours_connecting && !reuse) reuse = id;
  }
  bulk_op op;
  op.what = bulk_op::kind::create_child;
  op.conn = conn.ike;
  if (reuse && child.empty()) {
    // --ike NAME on an IKE SA that is up: only the children it does not have yet.
    const auto& have = st.sas[reuse].summary.children;
    std::erase_if(names, [&](const std::string& n) {
      bool present = std::any_of(have.begin(), have.end(), [&](const sa::child_summary& c) { return c.name == n; });
      if (present) {
        ++op.result.matched;
        ++op.result.completed;
      }
      return present;
    });
  }
  op.result.matched += names.size();
  if (names.empty()) return op.result;
  auto op_id = st.next_op++;
  std::uint32_t ike_id = reuse;
  if (reuse) {
    st.log(level::info, "initiate: creating " + std::to_string(names.size()) + " CHILD_SA(s) on the existing " +
                            label(st.sas[reuse], reuse));
    for (const auto& n : names) self->send(st.sas[reuse].handle, initiate_atom::value, n, op_id);
  } else {
    ike_id = spawn_sa(self, true, {conn.ike}, local, remote, names.front(), op_id);
    for (std::size_t i = 1; i < names.size(); ++i)
      self->send(st.sas[ike_id].handle, initiate_atom::value, names[i], op_id);
  }
  op.pending.insert(ike_id);
  op.child_names = std::move(names);
  bulk_result started = op.result;
  if (block) {
    op.promise = self->make_response_promise();
    op.progress = std::move(progress);
  }
  st.ops.emplace(op_id, std::move(op));
  // Without `block` the operation stays too (an acquire checks it), until done or timed out.
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  if (!block) return started;
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

// (childmade, op, ike id, child, ok, error) from an SA actor: one CHILD_SA of an initiate is done.
// Counts one reported outcome of a bulk operation; a failure is listed as "<SA><what>: <error>",
// the SA by its label while the registry still has it, else by its id.
void count_outcome(registry_state& st, bulk_op& op, std::uint32_t ike_id, bool ok, const std::string& what,
                   const std::string& error) {
  if (ok) {
    ++op.result.completed;
    return;
  }
  ++op.result.failed;
  auto e = st.sas.find(ike_id);
  std::string who = e == st.sas.end() ? std::to_string(ike_id) : label(e->second, ike_id);
  op.result.errors.push_back(who + what + ": " + error);
}

void on_child_made(self_ptr self, std::uint64_t op_id, std::uint32_t ike_id, const std::string& child, bool ok,
                   const std::string& error) {
  auto& st = self->state;
  auto it = st.ops.find(op_id);
  if (it == st.ops.end() || it->second.what != bulk_op::kind::create_child) return;  // timed out meanwhile
  auto& op = it->second;
  auto n = std::find(op.child_names.begin(), op.child_names.end(), child);
  if (n == op.child_names.end()) return;
  op.child_names.erase(n);
  count_outcome(st, op, ike_id, ok, " " + child, error);
  if (op.child_names.empty()) op.pending.clear();
  maybe_complete(self, op_id);
}

caf::result<bulk_result> start_initiate(self_ptr self, const std::string& conn_name, const std::string& child,
                                        std::uint32_t count, std::uint32_t timeout_ms, bool block,
                                        caf::actor progress) {
  auto& st = self->state;
  const auto* conn = st.cfg->find(conn_name);
  bulk_result r;
  if (!conn) {
    r.errors.push_back("no connection named '" + conn_name + "'");
    return r;
  }
  const auto& ike = *conn->ike;
  if (ike.remote_addrs.empty()) {
    r.errors.push_back("connection '" + conn_name + "' has no remote address to initiate to (remote_addrs = %any)");
    return r;
  }
  if (count > 1 && conn->unique != config::unique_policy::never && conn->unique != config::unique_policy::no) {
    r.errors.push_back("--count needs unique = \"never\" (or \"no\") on connection '" + conn_name + "'");
    return r;
  }
  endpoint remote{ike.remote_addrs.front(), ike.remote_port};
  endpoint local{ike.local_addrs.empty() ? ip_address{} : ike.local_addrs.front(), conn->local_port};
  if (ike.local_addrs.empty()) {
    auto src = source_address_for(remote.addr);
    if (!src) {
      r.errors.push_back("no route to " + remote.addr.to_string() + " for connection '" + conn_name + "'");
      return r;
    }
    local.addr = *src;
  }
  if (count == initiate_one) {
    if (!child.empty() || !ike.children.empty())
      return start_child_initiate(self, *conn, child, local, remote, timeout_ms, block, std::move(progress));
    count = 1;
  }
  bulk_op op;
  op.what = bulk_op::kind::initiate;
  op.remaining = count;
  op.conn = conn->ike;
  op.local = local;
  op.remote = remote;
  op.child = child;
  op.result.matched = count;
  refill(self, op);
  auto op_id = st.next_op++;
  if (!block) {
    // Nobody waits for the answer, but the op stays until every SA was started.
    bulk_result started = op.result;
    if (op.remaining > 0) st.ops.emplace(op_id, std::move(op));
    return started;
  }
  op.promise = self->make_response_promise();
  op.progress = std::move(progress);
  st.ops.emplace(op_id, std::move(op));
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

caf::result<bulk_result> start_terminate(self_ptr self, const sa_filter& f, bool force, std::uint32_t timeout_ms,
                                         bool block, caf::actor progress) {
  auto& st = self->state;
  bulk_op op;
  op.all = f.kind == sa_filter::by::all;
  op.force = force;
  bool child_op = f.kind == sa_filter::by::child_name || f.kind == sa_filter::by::child_id;
  op.what = child_op ? bulk_op::kind::terminate_child : bulk_op::kind::terminate_ike;
  for (auto& [id, e] : st.sas) {
    if (!matches(e, id, f)) continue;
    if (child_op) {
      for (const auto& c : e.summary.children) {
        if ((f.kind == sa_filter::by::child_name && c.name == f.name) ||
            (f.kind == sa_filter::by::child_id && c.id == f.id)) {
          op.children[id].insert(c.id);
          ++op.result.matched;
          self->send(e.handle, child_del_atom::value, c.id);
        }
      }
      op.pending.insert(id);
    } else {
      op.pending.insert(id);
      ++op.result.matched;
      self->send(e.handle, terminate_atom::value, force);
    }
  }
  if (!block || op.pending.empty()) return op.result;
  auto op_id = st.next_op++;
  op.promise = self->make_response_promise();
  op.progress = std::move(progress);
  st.ops.emplace(op_id, std::move(op));
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

// (rekeyike, filter, ...): rekeys every matching established IKE SA itself (its CHILD_SAs move to
// the new IKE SA). Blocking, each SA answers (rekeyed, op, id, 0, ...) once the new IKE SA is in
// use and the old one deleted (or the rekey failed), and the answer counts IKE SAs. Without
// `block` the answer only counts the IKE SAs asked.
caf::result<bulk_result> start_rekey_ike(self_ptr self, const sa_filter& f, std::uint32_t timeout_ms, bool block,
                                         caf::actor progress) {
  auto& st = self->state;
  bulk_op op;
  op.what = bulk_op::kind::rekey_ike;
  auto op_id = st.next_op++;
  for (auto& [id, e] : st.sas) {
    if (e.half_open || !matches(e, id, f)) continue;
    ++op.result.matched;
    if (!block) {
      self->send(e.handle, rekey_atom::value);
      continue;
    }
    op.pending.insert(id);
    self->send(e.handle, rekey_ike_atom::value, op_id);
  }
  if (!block) op.result.completed = op.result.matched;
  if (!block || op.pending.empty()) return op.result;
  op.promise = self->make_response_promise();
  op.progress = std::move(progress);
  st.ops.emplace(op_id, std::move(op));
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

// (rekey, filter, ...): asks the IKE SA actor of every matching CHILD_SA to rekey it, carrying
// the operation's id; each SA answers (rekeyed, op, ...) once that rekey completed or failed, and the answer counts them (blocking). Without `block` the
// answer only counts the CHILD_SAs asked and the rekeys complete in the background.
caf::result<bulk_result> start_rekey(self_ptr self, const sa_filter& f, std::uint32_t timeout_ms, bool block,
                                     caf::actor progress) {
  auto& st = self->state;
  bulk_op op;
  op.what = bulk_op::kind::rekey_child;
  auto op_id = st.next_op++;
  // --ike NAME / --ike-id N rekey the IKE SAs themselves (as swanctl --rekey --ike does); those are
  // not waited for: the answer counts the IKE SAs asked, list-sas shows the new SPIs.
  const bool ike = f.kind == sa_filter::by::ike_name || f.kind == sa_filter::by::ike_id;
  for (auto& [id, e] : st.sas) {
    if (!matches(e, id, f)) continue;
    if (ike) {
      ++op.result.matched;
      self->send(e.handle, rekey_atom::value);
      continue;
    }
    for (const auto& c : e.summary.children) {
      if ((f.kind == sa_filter::by::child_name && c.name != f.name) || (f.kind == sa_filter::by::child_id && c.id != f.id))
        continue;
      ++op.result.matched;
      if (!block) {
        self->send(e.handle, rekey_atom::value, c.id);
        continue;
      }
      op.children[id].insert(c.id);
      op.pending.insert(id);
      self->send(e.handle, rekey_atom::value, c.id, op_id);
    }
  }
  if (ike || !block) {
    op.result.completed = op.result.matched;
    return op.result;
  }
  if (op.pending.empty()) return op.result;
  op.promise = self->make_response_promise();
  op.progress = std::move(progress);
  st.ops.emplace(op_id, std::move(op));
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

// (rekeyed, op, ike id, child id, ok, error) from an SA actor: one CHILD_SA of a bulk rekey is done.
void on_rekeyed(self_ptr self, std::uint64_t op_id, std::uint32_t ike_id, std::uint32_t child_id, bool ok,
                const std::string& error) {
  auto& st = self->state;
  auto it = st.ops.find(op_id);
  if (it == st.ops.end()) return;  // timed out meanwhile
  auto& op = it->second;
  if (op.what == bulk_op::kind::rekey_ike) {
    if (!op.pending.erase(ike_id)) return;
    count_outcome(st, op, ike_id, ok, "", error);
    maybe_complete(self, op_id);
    return;
  }
  if (op.what != bulk_op::kind::rekey_child) return;
  auto c = op.children.find(ike_id);
  if (c == op.children.end() || !c->second.erase(child_id)) return;
  count_outcome(st, op, ike_id, ok, "{" + std::to_string(child_id) + "}", error);
  if (c->second.empty()) {
    op.children.erase(c);
    op.pending.erase(ike_id);
  }
  maybe_complete(self, op_id);
}

// (reauth, old id, due) from an SA whose reauth_time passed (or that was asked to): a new IKE SA to
// the same peer for the same connection, as initiator, recreating its CHILD_SAs with their reqids.
void start_reauth(self_ptr self, std::uint32_t old_id, sa::reauth_due& due) {
  auto& st = self->state;
  auto it = st.sas.find(old_id);
  if (it == st.sas.end()) return;
  const auto& old = it->second;
  if (auto r = st.reauths.find(old_id); r != st.reauths.end() && st.sas.count(r->second)) {
    st.log(level::debug, label(old, old_id) + ": reauthentication by [" + std::to_string(r->second) + "] still under way");
    return;
  }
  const auto* conn = st.cfg->find(old.connection);
  if (!conn) {
    st.log(level::info, label(old, old_id) + ": not reauthenticated, connection '" + old.connection + "' is gone");
    return;
  }
  std::vector<sa::reauth_child> children;
  for (auto& c : due.children) {
    if (conn->ike->find_child(c.name))
      children.push_back(std::move(c));
    else
      st.log(level::warning, label(old, old_id) + ": CHILD_SA " + c.name + " is not recreated, its connection has no such child any more");
  }
  // The peer's address as the old SA has it (the connection may allow %any); IKE_SA_INIT goes to
  // the configured ports, as for any new SA.
  endpoint remote{old.summary.remote.addr, conn->ike->remote_port};
  endpoint local{old.summary.local.addr, conn->local_port};
  std::string first = children.empty() ? std::string() : children.front().name;
  std::uint32_t nid = spawn_sa(self, true, {conn->ike}, local, remote, first, 0, old_id, std::move(children));
  st.reauths[old_id] = nid;
  st.log(level::info, label(old, old_id) + ": reauthenticating with new IKE SA [" + std::to_string(nid) + "]");
}

// (reauth, old id, new id): the new SA and its CHILD_SAs are in; the old SA is deleted (DELETE sent).
void finish_reauth(self_ptr self, std::uint32_t old_id, std::uint32_t new_id) {
  auto& st = self->state;
  if (auto r = st.reauths.find(old_id); r != st.reauths.end() && r->second == new_id) st.reauths.erase(r);
  auto it = st.sas.find(old_id);
  if (it == st.sas.end()) return;
  st.log(level::info, label(it->second, old_id) + ": reauthenticated by [" + std::to_string(new_id) + "], deleting the old IKE SA");
  self->send(it->second.handle, terminate_atom::value, false);
}

// A reload: new SAs and responder matching use `cfg` from now on; existing SAs keep the
// sa::connection they hold. SAs of connections `cfg` no longer has are deleted (DELETE sent) as
// by terminate; the answer counts them once they are gone (or `timeout_ms` passed).
caf::result<bulk_result> take_config(self_ptr self, std::shared_ptr<const config::config> cfg, std::uint32_t timeout_ms) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  sync_traps(self);  // traps of added, changed and removed start_action = "trap" children
  bulk_op op;
  op.what = bulk_op::kind::terminate_ike;
  for (auto& [id, e] : st.sas) {
    if (st.cfg->find(e.connection)) continue;
    st.log(level::info, label(e, id) + ": connection '" + e.connection + "' was removed by a reload, deleting the SA");
    op.pending.insert(id);
    ++op.result.matched;
    self->send(e.handle, terminate_atom::value, false);
  }
  if (op.pending.empty()) return op.result;
  auto op_id = st.next_op++;
  op.promise = self->make_response_promise();
  st.ops.emplace(op_id, std::move(op));
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
  return caf::result<bulk_result>(caf::delegated<bulk_result>());
}

}  // namespace

caf::behavior registry_actor(caf::stateful_actor<registry_state>* self, std::shared_ptr<const config::config> cfg,
                             std::shared_ptr<net::udp_io> io, caf::actor kernel, log_sink log,
                             caf::actor events, std::shared_ptr<timer_batch> timers,
                             std::shared_ptr<const event_watchers> watchers) {
  auto& st = self->state;
  st.watchers = std::move(watchers);
  st.events = std::move(events);
  st.timers = std::move(timers);
  st.cfg = std::move(cfg);
  st.io = std::move(io);
  st.kernel = std::move(kernel);
  st.log = std::move(log);
  self->delayed_send(self, cookie_rotation, timeout_atom::value, std::uint64_t{0});
  return {
      [self](dgram_atom, net::datagram& d) { on_datagram(self, d); },
      [self](update_atom, sa::ike_summary& s) { on_update(self, std::move(s)); },
      [self](gone_atom, std::uint32_t id, const std::string& reason, bool peer_dead) {
        on_gone(self, id, reason, peer_dead);
      },
      [self](ike_spi_atom, std::uint32_t id, std::uint64_t spi, bool add) {
        auto& st = self->state;
        if (add && st.sas.count(id)) st.by_spi[spi] = id;
        if (auto it = st.by_spi.find(spi); !add && it != st.by_spi.end() && it->second == id) st.by_spi.erase(it);
      },
      [self](drop_atom, const std::string& reason) { ++self->state.drops[reason]; },
      [self](trap_atom) { install_traps(self); },
      [self](kevent_atom, const kernel::xfrm_event& ev) { on_kernel_event(self, ev); },
      [self](cfg_atom, std::shared_ptr<const config::config>& cfg, std::uint32_t timeout_ms) {
        return take_config(self, std::move(cfg), timeout_ms);
      },
      // (initiate, connection, child, count, timeout ms, block[, progress actor]) -> bulk_result
      [self](initiate_atom, const std::string& conn_name, const std::string& child, std::uint32_t count,
             std::uint32_t timeout_ms, bool block) {
        return start_initiate(self, conn_name, child, count, timeout_ms, block, {});
      },
      [self](initiate_atom, const std::string& conn_name, const std::string& child, std::uint32_t count,
             std::uint32_t timeout_ms, bool block, caf::actor progress) {
        return start_initiate(self, conn_name, child, count, timeout_ms, block, std::move(progress));
      },
      // (terminate, filter, force, timeout ms, block[, progress actor]) -> bulk_result
      [self](terminate_atom, const sa_filter& f, bool force, std::uint32_t timeout_ms, bool block) {
        return start_terminate(self, f, force, timeout_ms, block, {});
      },
      [self](terminate_atom, const sa_filter& f, bool force, std::uint32_t timeout_ms, bool block,
             caf::actor progress) { return start_terminate(self, f, force, timeout_ms, block, std::move(progress)); },
      // (rekey, filter, timeout ms, block[, progress actor]) -> bulk_result counting CHILD_SAs
      [self](rekey_atom, const sa_filter& f, std::uint32_t timeout_ms, bool block) {
        return start_rekey(self, f, timeout_ms, block, {});
      },
      [self](rekey_atom, const sa_filter& f, std::uint32_t timeout_ms, bool block, caf::actor progress) {
        return start_rekey(self, f, timeout_ms, block, std::move(progress));
      },
      [self](reauth_atom, std::uint32_t old_id, sa::reauth_due& due) { start_reauth(self, old_id, due); },
      [self](reauth_atom, std::uint32_t old_id, std::uint32_t new_id) { finish_reauth(self, old_id, new_id); },
      // (reauth, filter) -> bulk_result: the IKE SAs asked to reauthenticate (not waited for).
      [self](reauth_atom, const sa_filter& f) {
        bulk_result r;
        for (auto& [id, e] : self->state.sas) {
          if (!matches(e, id, f)) continue;
          ++r.matched;
          self->send(e.handle, reauth_atom::value);
        }
        r.completed = r.matched;
        return r;
      },
      [self](child_made_atom, std::uint64_t op_id, std::uint32_t ike_id, const std::string& child, bool ok,
             const std::string& error) { on_child_made(self, op_id, ike_id, child, ok, error); },
      [self](rekey_ike_atom, const sa_filter& f, std::uint32_t timeout_ms, bool block, caf::actor progress) {
        return start_rekey_ike(self, f, timeout_ms, block, std::move(progress));
      },
      [self](rekeyed_atom, std::uint64_t op_id, std::uint32_t ike_id, std::uint32_t child_id, bool ok,
             const std::string& error) { on_rekeyed(self, op_id, ike_id, child_id, ok, error); },
      [self](list_atom, const sa_filter& f) {
        std::vector<sa::ike_summary> out;
        for (const auto& [id, e] : self->state.sas)
          if (matches(e, id, f)) out.push_back(e.summary);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return out;
      },
      [self](stats_atom) {
        auto& st = self->state;
        registry_stats s;
        s.ike_sas = st.sas.size();
        s.half_open = st.half_open;
        for (const auto& [id, e] : st.sas) {
          ++s.by_state[e.summary.state];
          if (e.summary.state == "ESTABLISHED") ++s.ike_sas_established;
          s.child_sas += e.summary.children.size();
        }
        s.messages_in = st.messages_in;
        s.messages_out = st.io ? st.io->counters().sent : 0;
        s.drops = st.drops;
        s.cookies_sent = st.cookies_sent;
        if (st.io) {
          auto c = st.io->counters();
          if (c.runts) s.drops["runt"] = c.runts;
          if (c.esp_unhandled) s.drops["esp_without_data_plane"] = c.esp_unhandled;
          if (c.keepalives) s.drops["nat_keepalive"] = c.keepalives;
        }
        return s;
      },
      [self](timeout_atom, std::uint64_t op_id) {
        auto& st = self->state;
        if (op_id == 0) {  // periodic COOKIE secret rotation
          st.cookies.rotate();
          self->delayed_send(self, cookie_rotation, timeout_atom::value, std::uint64_t{0});
          return;
        }
        auto it = st.ops.find(op_id);
        if (it == st.ops.end()) return;
        auto& op = it->second;
        bulk_result r = op.result;
        for (auto id : op.pending) {
          auto e = st.sas.find(id);
          std::string who = e == st.sas.end() ? std::to_string(id) : label(e->second, id);
          auto c = op.children.find(id);
          if (op.what == bulk_op::kind::rekey_child && c != op.children.end()) {
            for (auto cid : c->second) r.not_done.push_back(who + "{" + std::to_string(cid) + "}");
          } else {
            r.not_done.push_back(who);
          }
        }
        if (op.remaining > 0)
          r.errors.push_back(std::to_string(op.remaining) + " IKE SA(s) not started yet (at most " +
                             std::to_string(initiate_window) + " are set up at once); they are started in the background");
        if (op.promise.pending()) op.promise.deliver(std::move(r));
        op.progress = {};
        // The SAs not started yet still are; the operation only stops waiting.
        if (op.what != bulk_op::kind::initiate || op.remaining == 0) st.ops.erase(it);
      },
      // Daemon shutdown: every SA deleted (or closed quietly), answered when all are gone.
      [self](shutdown_atom, bool send_delete, std::uint32_t timeout_ms) -> caf::result<bulk_result> {
        auto& st = self->state;
        for (auto& [op_id, op] : st.ops) op.remaining = 0;  // start nothing more
        bulk_op op;
        op.all = true;
        op.force = !send_delete;
        for (auto& [id, e] : st.sas) {
          op.pending.insert(id);
          ++op.result.matched;
          self->send(e.handle, terminate_atom::value, !send_delete);
        }
        if (op.pending.empty()) return op.result;
        auto op_id = st.next_op++;
        op.promise = self->make_response_promise();
        st.ops.emplace(op_id, std::move(op));
        self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, op_id);
        return caf::result<bulk_result>(caf::delegated<bulk_result>());
      },
  };
}

}  // namespace aike::actors
