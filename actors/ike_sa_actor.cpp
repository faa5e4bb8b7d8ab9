#include "actors/ike_sa_actor.hpp"

#include <chrono>
#include <optional>

#include "actors/child_install_params.hpp"
#include "actors/messages.hpp"
#include "engine/crypto/random.hpp"
#include "engine/sa/summary.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<ike_sa_actor_state>*;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The IKE SA part of an event (the child_* fields stay empty).
sa_event ike_event(self_ptr self, sa_event_kind kind) {
  auto& st = self->state;
  sa_event ev;
  ev.kind = kind;
  ev.at_ms = now_ms();
  ev.connection = st.sa->conn() ? st.sa->conn()->name : std::string();
  ev.ike_id = st.sa->unique_id();
  ev.local = st.sa->local();
  ev.remote = st.sa->remote();
  ev.local_id = st.sa->local_id();
  ev.remote_id = st.sa->remote_id();
  auto it = st.updown.find({ev.connection, std::string()});
  if (it != st.updown.end()) ev.updown = it->second;
  return ev;
}

sa_event child_event(self_ptr self, sa_event_kind kind, const sa::child_sa& c) {
  auto ev = ike_event(self, kind);
  ev.child = c.name;
  ev.child_id = c.id;
  ev.reqid = c.reqid;
  ev.spi_in = c.spi_in;
  ev.spi_out = c.spi_out;
  ev.tunnel = c.mode == sa::child_mode::tunnel;
  ev.encap = c.encap;
  ev.local_ts = c.local_ts;
  ev.remote_ts = c.remote_ts;
  auto it = self->state.updown.find({ev.connection, c.name});
  ev.updown = it != self->state.updown.end() ? it->second : std::string();
  return ev;
}

std::string to_hex_spi(std::uint64_t spi) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, spi >>= 4) s[static_cast<std::size_t>(i)] = digits[spi & 0xf];
  return s;
}

// Whether an event of this IKE SA (child: of its CHILD_SA `child_name`) reaches anyone: a
// monitor, or an updown script. Unwanted events are not even built.
bool wanted(self_ptr self, bool child, const std::string& child_name = {}) {
  auto& st = self->state;
  if (!st.events) return false;
  if (!st.watchers || st.watchers->any()) return true;
  if (st.updown.empty()) return false;
  std::string conn = st.sa->conn() ? st.sa->conn()->name : std::string();
  return st.updown.count({std::move(conn), child ? child_name : std::string()}) > 0;
}

void emit(self_ptr self, sa_event ev) {
  if (self->state.events) self->send(self->state.events, event_atom::value, std::move(ev));
}

// Outcomes of waited-for CHILD_SA rekeys go to the registry, which counts them per operation.
void flush_rekeys(self_ptr self) {
  for (auto& o : self->state.rekeys.take())
    self->send(self->state.registry, rekeyed_atom::value, o.op, self->state.sa->unique_id(), o.child_id, o.ok, o.error);
  // The IKE SA itself: child id 0.
  for (auto& o : self->state.ike_rekeys.take())
    self->send(self->state.registry, rekeyed_atom::value, o.op, self->state.sa->unique_id(), std::uint32_t{0}, o.ok,
               o.error);
}

void flush_creates(self_ptr self) {
  for (auto& o : self->state.creates.take()) {
    if (o.op == 0) continue;
    self->send(self->state.registry, child_made_atom::value, o.op, self->state.sa->unique_id(), o.child, o.ok, o.error);
  }
}

// Hands the CHILD_SAs wanted before the IKE SA was up to the engine; true if any was.
bool request_deferred_creates(self_ptr self) {
  auto& st = self->state;
  if (st.closed || st.sa->state() != sa::ike_state::established) return false;
  auto names = st.creates.take_deferred();
  for (const auto& n : names)
    st.creates.requested(n, st.sa->request_child_create(n), "connection has no child '" + n + "'");
  flush_creates(self);
  return !names.empty();
}

void report(self_ptr self) {
  auto s = sa::summarize(*self->state.sa);
  s.established_at = self->state.established_at;
  self->send(self->state.registry, update_atom::value, std::move(s));
}

// Ends the actor once the SA is closed and the kernel confirmed every removal: only then does
// the registry learn that the SA is gone, so "terminated" means really gone.
void maybe_finish(self_ptr self) {
  auto& st = self->state;
  if (!st.closed || st.kernel_pending > 0) return;
  if (st.ike_up_sent && wanted(self, false)) {
    auto ev = ike_event(self, sa_event_kind::ike_down);
    ev.reason = st.reason;
    emit(self, std::move(ev));
  }
  st.rekeys.close(st.reason);
  st.ike_rekeys.close(st.reason);
  flush_rekeys(self);
  st.creates.close(st.reason);
  flush_creates(self);
  self->send(st.registry, gone_atom::value, st.sa->unique_id(), st.reason, st.peer_dead);
  self->quit();
}

// One action buffer per worker thread: lent to the SA before each call into it and taken back by
// drain(), so events do not allocate (and free) a fresh vector each.
std::vector<sa::action>& spare_actions() {
  thread_local std::vector<sa::action> buffer;
  return buffer;
}

sa::ike_sa& sa_of(self_ptr self) {
  self->state.sa->lend_action_buffer(std::move(spare_actions()));
  return *self->state.sa;
}

// The datagrams of one batch of actions that installs CHILD_SAs: sent once the kernel actor has
// answered every install of the batch. A responder's IKE_AUTH or CREATE_CHILD_SA response must not
// reach the initiator before the new inbound SA exists: the initiator starts sending on it as soon
// as it has the response (a packet sealed for an SPI not yet installed would be dropped).
struct held_sends {
  std::vector<sa::send_datagram> datagrams;
  int installs = 0;  // not yet answered
};

void send_now(self_ptr self, const sa::send_datagram& s) {
  if (!self->state.io->send(s.local, s.remote, s.data))
    self->state.log(level::debug, "sending to " + s.remote.to_string() + " failed");
}

void release(self_ptr self, const std::shared_ptr<held_sends>& held) {
  if (!held || --held->installs > 0) return;
  for (const auto& d : held->datagrams) send_now(self, d);
  held->datagrams.clear();
}

void drain(self_ptr self) {
  auto& st = self->state;
  bool changed = false;
  auto acts = st.sa->take_actions();
  std::shared_ptr<held_sends> held;
  for (const auto& act : acts)
    if (std::holds_alternative<sa::install_child>(act)) {
      if (!held) held = std::make_shared<held_sends>();
      ++held->installs;
    }
  for (auto& act : acts) {
    if (auto* s = std::get_if<sa::send_datagram>(&act)) {
      if (held)
        held->datagrams.push_back(std::move(*s));
      else
        send_now(self, *s);
    } else if (auto* t = std::get_if<sa::arm_timer>(&act)) {
      if (st.timers)
        st.timers->arm(caf::actor_cast<caf::strong_actor_ptr>(self), t->after, static_cast<int>(t->kind), t->token);
      else
        self->delayed_send(self, t->after, timer_atom::value, static_cast<int>(t->kind), t->token);
    } else if (auto* i = std::get_if<sa::install_child>(&act)) {
      auto ci = child_install_params(st.sa->unique_id(), st.sa->conn(), i->child, st.sa->local(),
                                     st.sa->remote(), crypto::random_u64);
      // child_up once the kernel actor confirmed the install (failures are logged there); a
      // rekey's new SA is reported as child_rekey (the old one goes quietly afterwards).
      std::optional<sa_event> up;
      if (wanted(self, true, i->child.name))
        up = child_event(self, i->replaces ? sa_event_kind::child_rekey : sa_event_kind::child_up, i->child);
      ++st.kernel_pending;  // the SA's end waits for this answer, so a down never precedes its up
      std::uint32_t replaces = i->replaces;
      std::uint32_t child_id = i->child.id;
      if (!replaces) st.creates.made(i->child.name, i->child.id);
      self->request(st.kernel, caf::infinite, install_atom::value, std::move(ci))
          .then(
              [self, up = std::move(up), replaces, child_id, held](bool ok, const std::string& why) mutable {
                release(self, held);
                --self->state.kernel_pending;
                if (replaces)
                  self->state.rekeys.installed(replaces, child_id, ok);
                else
                  self->state.creates.installed(child_id, ok, why);
                flush_rekeys(self);
                flush_creates(self);
                if (ok) {
                  self->state.children_up.insert(child_id);
                  if (up) emit(self, std::move(*up));
                }
                maybe_finish(self);
              },
              [self, id = i->child.id, held](caf::error&) {
                release(self, held);
                --self->state.kernel_pending;
                self->state.creates.installed(id, false);
                flush_creates(self);
                maybe_finish(self);
              });
      changed = true;
    } else if (auto* r = std::get_if<sa::remove_child>(&act)) {
      ++st.kernel_pending;
      // child_down once the kernel actor answered the removal, for CHILD_SAs that were up and
      // not replaced by a rekey. The kernel actor handles requests in order, so a rekey's new SA
      // is installed before the old one is removed.
      // Shared by the result and the error handler: the event is built once, not copied.
      std::shared_ptr<sa_event> down;
      if (wanted(self, true, r->child.name))
        down = std::make_shared<sa_event>(child_event(self, sa_event_kind::child_down, r->child));
      bool rekeyed = r->rekeyed;
      std::uint32_t child_id = r->child.id;
      auto removed = [self, down, rekeyed, child_id](bool ok) {
        auto& st = self->state;
        --st.kernel_pending;
        st.rekeys.removed(child_id, st.closed);
        flush_rekeys(self);
        if (st.children_up.erase(child_id) && (!rekeyed || !ok) && down) {
          down->reason = ok ? st.reason : "kernel removal failed";
          emit(self, std::move(*down));
        }
        maybe_finish(self);
      };
      self->request(st.kernel, caf::infinite, remove_atom::value, r->child.id)
          .then([removed](bool ok) { removed(ok); }, [removed](caf::error&) { removed(false); });
      changed = true;
    } else if (std::get_if<sa::ike_established>(&act)) {
      st.established_at =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      st.log = st.log.with(subsystem::ike, st.sa->conn()->name + "[" + std::to_string(st.sa->unique_id()) + "]");
      st.ike_up_sent = true;
      if (wanted(self, false)) emit(self, ike_event(self, sa_event_kind::ike_up));
      changed = true;
    } else if (auto* c = std::get_if<sa::ike_closed>(&act)) {
      st.closed = true;
      st.reason = c->reason;
      st.peer_dead = c->peer_dead;
      st.log(c->peer_dead ? level::warning : level::info, "IKE SA closed: " + c->reason);
    } else if (auto* k = std::get_if<sa::ike_rekeyed>(&act)) {
      // The old SPI stays routed here until ike_retired: the old SA's DELETE still uses it.
      self->send(st.registry, ike_spi_atom::value, st.sa->unique_id(), k->new_local_spi, true);
      st.log(level::info, "IKE SA now uses local SPI " + to_hex_spi(k->new_local_spi) + " (was " +
                              to_hex_spi(k->old_local_spi) + ")");
      if (wanted(self, false)) emit(self, ike_event(self, sa_event_kind::ike_rekey));
      changed = true;
    } else if (auto* r = std::get_if<sa::ike_retired>(&act)) {
      self->send(st.registry, ike_spi_atom::value, st.sa->unique_id(), r->local_spi, false);
      changed = true;  // list-sas no longer shows it
    } else if (auto* a = std::get_if<sa::ike_spi_added>(&act)) {
      // The redundant SA of an IKE rekey collision: routed here until ike_retired.
      self->send(st.registry, ike_spi_atom::value, st.sa->unique_id(), a->local_spi, true);
    } else if (auto* r = std::get_if<sa::reauth_due>(&act)) {
      // The registry spawns the new IKE SA (make-before-break); this one stays until it is complete.
      self->send(st.registry, reauth_atom::value, st.sa->unique_id(), std::move(*r));
    } else if (auto* r = std::get_if<sa::reauth_complete>(&act)) {
      self->send(st.registry, reauth_atom::value, r->old_id, st.sa->unique_id());
    } else if (auto* f = std::get_if<sa::child_create_failed>(&act)) {
      st.creates.failed(f->name, f->reason);
    } else if (auto* mv = std::get_if<sa::remote_moved>(&act)) {
      // RFC 7296 §2.23: the peer's NAT mapping changed; its CHILD_SAs' ESP follows (one-way: the
      // kernel actor logs what it could not move).
      st.log(level::info, "moving the CHILD_SAs' ESP to " + mv->new_remote.to_string() + " (was " +
                              mv->old_remote.to_string() + ")");
      for (const auto& [id, child] : st.sa->children()) {
        // A CHILD_SA this same event installs goes in with the new endpoint already.
        bool installing = false;
        for (const auto& a : acts)
          if (auto* in = std::get_if<sa::install_child>(&a); in && in->child.id == id) installing = true;
        if (installing) continue;
        self->send(st.kernel, remote_moved_atom::value,
                   child_install_params(st.sa->unique_id(), st.sa->conn(), child, st.sa->local(), mv->new_remote,
                                        crypto::random_u64));
      }
      changed = true;  // list-sas shows the new endpoint
    } else if (auto* d = std::get_if<sa::dropped>(&act)) {
      self->send(st.registry, drop_atom::value, d->reason);
    } else if (auto* l = std::get_if<sa::log_line>(&act)) {
      level lv = l->level == sa::log_level::error     ? level::error
                 : l->level == sa::log_level::warning ? level::warning
                 : l->level == sa::log_level::info    ? level::info
                                                      : level::debug;
      st.log(lv, l->text);
    }
  }
  acts.clear();
  if (acts.capacity() > spare_actions().capacity()) spare_actions() = std::move(acts);
  if (changed && !st.closed) report(self);
  st.rekeys.check(*st.sa);
  if (!st.closed) st.ike_rekeys.check(*st.sa);
  flush_rekeys(self);
  flush_creates(self);
  if (request_deferred_creates(self)) return drain(self);
  maybe_finish(self);
}

}  // namespace

caf::behavior ike_sa_actor(caf::stateful_actor<ike_sa_actor_state>* self, ike_sa_init init) {
  auto& st = self->state;
  st.registry = init.registry;
  st.kernel = init.kernel;
  st.events = init.events;
  st.updown = std::move(init.updown);
  st.io = init.io;
  st.timers = std::move(init.timers);
  st.log = init.log;
  st.watchers = std::move(init.watchers);
  st.sa = init.initiator ? sa::ike_sa::make_initiator(std::move(init.params))
                         : sa::ike_sa::make_responder(std::move(init.params));
  if (init.initiator) {
    if (!init.child.empty()) st.creates.want(init.child_op, init.child, true);
    sa_of(self).initiate(init.child);
    drain(self);
  }
  report(self);
  return {
      [self](dgram_atom, const net::datagram& d) {
        if (self->state.closed) return;
        sa_of(self).on_datagram(d.data, d.local, d.remote);
        drain(self);
      },
      [self](timer_atom, int kind, std::uint64_t token) {
        if (self->state.closed) return;
        sa_of(self).on_timer(static_cast<sa::timer_kind>(kind), token);
        drain(self);
      },
      [self](terminate_atom, bool force) {
        if (self->state.closed) return;
        if (force)
          sa_of(self).close("terminated (forced, no DELETE sent)");
        else
          sa_of(self).request_delete();
        drain(self);
      },
      // (initiate, child, op): another CHILD_SA on this IKE SA (RFC 7296 §1.3.1), once established.
      [self](initiate_atom, const std::string& child, std::uint64_t op) {
        auto& st = self->state;
        st.creates.want(op, child, false);
        if (st.closed) {
          st.creates.close(st.reason);
          flush_creates(self);
          return;
        }
        drain(self);
      },
      // A kernel MIGRATE moved the tunnel endpoints (the registry checked they were ours).
      [self](migrate_atom, const ip_address& local, const ip_address& remote) {
        auto& st = self->state;
        if (st.closed) return;
        auto was_l = st.sa->local().addr, was_r = st.sa->remote().addr;
        if (was_l == local && was_r == remote) return;
        st.sa->migrate_addresses(local, remote);
        st.log(level::info, "kernel MIGRATE: IKE SA endpoints " + was_l.to_string() + " <-> " + was_r.to_string() +
                                " moved to " + local.to_string() + " <-> " + remote.to_string());
        report(self);
      },
      [self](child_del_atom, std::uint32_t child_id) {
        if (self->state.closed) return;
        sa_of(self).request_child_delete(child_id);
        drain(self);
      },
      // (rekey): rekey the IKE SA itself; this actor continues as the new SA.
      [self](rekey_atom) {
        if (self->state.closed) return;
        if (!sa_of(self).request_ike_rekey())
          self->state.log(level::info, "IKE SA not rekeyed now (not established, or a rekey is under way)");
        drain(self);
      },
      [self](reauth_atom) {
        if (self->state.closed) return;
        if (!self->state.sa->request_reauth()) self->state.log(level::info, "IKE SA not reauthenticated now (not established)");
        drain(self);
      },
      [self](rekey_atom, std::uint32_t child_id) {
        if (self->state.closed) return;
        if (!sa_of(self).request_child_rekey(child_id))
          self->state.log(level::info, "CHILD_SA {" + std::to_string(child_id) + "} not rekeyed now (busy or gone)");
        drain(self);
      },
      // A bulk rekey: the outcome goes to the registry as (rekeyed, op, ike id, child id, ok, error).
      [self](rekey_atom, std::uint32_t child_id, std::uint64_t op) {
        auto& st = self->state;
        if (st.closed) {
          st.rekeys.refuse(op, child_id, "the IKE SA is closing");
          flush_rekeys(self);
          return;
        }
        st.rekeys.add(op, child_id, *st.sa, sa_of(self).request_child_rekey(child_id));
        drain(self);
      },
      // A bulk IKE SA rekey: the outcome goes to the registry as (rekeyed, op, ike id, 0, ok, error).
      [self](rekey_ike_atom, std::uint64_t op) {
        auto& st = self->state;
        if (st.closed) {
          self->send(st.registry, rekeyed_atom::value, op, st.sa->unique_id(), std::uint32_t{0}, false,
                     std::string("the IKE SA is closing"));
          return;
        }
        st.ike_rekeys.add(op, *st.sa, st.sa->request_ike_rekey());
        drain(self);
      },
  };
}

}  // namespace aike::actors
