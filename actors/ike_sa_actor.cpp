#include "actors/ike_sa_actor.hpp"

#include <chrono>

#include "actors/messages.hpp"
#include "engine/sa/summary.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<ike_sa_actor_state>*;

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
  self->send(st.registry, gone_atom::value, st.sa->unique_id(), st.reason, st.peer_dead);
  self->quit();
}

void drain(self_ptr self) {
  auto& st = self->state;
  bool changed = false;
  for (auto& act : st.sa->take_actions()) {
    if (auto* s = std::get_if<sa::send_datagram>(&act)) {
      if (!st.io->send(s->local, s->remote, s->data))
        st.log(level::debug, "sending to " + s->remote.to_string() + " failed");
    } else if (auto* t = std::get_if<sa::arm_timer>(&act)) {
      self->delayed_send(self, t->after, timer_atom::value, static_cast<int>(t->kind), t->token);
    } else if (auto* i = std::get_if<sa::install_child>(&act)) {
      kernel::child_install ci;
      ci.ike_id = st.sa->unique_id();
      ci.connection = st.sa->conn() ? st.sa->conn()->name : std::string();
      ci.child = i->child;
      ci.local = st.sa->local();
      ci.remote = st.sa->remote();
      self->request(st.kernel, caf::infinite, install_atom::value, std::move(ci))
          .then([](bool, const std::string&) {});  // failures are logged by the kernel actor
      changed = true;
    } else if (auto* r = std::get_if<sa::remove_child>(&act)) {
      ++st.kernel_pending;
      self->request(st.kernel, caf::infinite, remove_atom::value, r->child.id)
          .then(
              [self](bool) {
                --self->state.kernel_pending;
                maybe_finish(self);
              },
              [self](caf::error&) {
                --self->state.kernel_pending;
                maybe_finish(self);
              });
      changed = true;
    } else if (std::get_if<sa::ike_established>(&act)) {
      st.established_at =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      st.log = st.log.with(subsystem::ike, st.sa->conn()->name + "[" + std::to_string(st.sa->unique_id()) + "]");
      changed = true;
    } else if (auto* c = std::get_if<sa::ike_closed>(&act)) {
      st.closed = true;
      st.reason = c->reason;
      st.peer_dead = c->peer_dead;
      st.log(c->peer_dead ? level::warning : level::info, "IKE SA closed: " + c->reason);
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
  if (changed && !st.closed) report(self);
  maybe_finish(self);
}

}  // namespace

caf::behavior ike_sa_actor(caf::stateful_actor<ike_sa_actor_state>* self, ike_sa_init init) {
  auto& st = self->state;
  st.registry = init.registry;
  st.kernel = init.kernel;
  st.io = init.io;
  st.log = init.log;
  st.sa = init.initiator ? sa::ike_sa::make_initiator(std::move(init.params))
                         : sa::ike_sa::make_responder(std::move(init.params));
  if (init.initiator) {
    st.sa->initiate(init.child);
    drain(self);
  }
  report(self);
  return {
      [self](dgram_atom, const net::datagram& d) {
        if (self->state.closed) return;
        self->state.sa->on_datagram(d.data, d.local, d.remote);
        drain(self);
      },
      [self](timer_atom, int kind, std::uint64_t token) {
        if (self->state.closed) return;
        self->state.sa->on_timer(static_cast<sa::timer_kind>(kind), token);
        drain(self);
      },
      [self](terminate_atom, bool force) {
        if (self->state.closed) return;
        if (force)
          self->state.sa->close("terminated (forced, no DELETE sent)");
        else
          self->state.sa->request_delete();
        drain(self);
      },
      [self](child_del_atom, std::uint32_t child_id) {
        if (self->state.closed) return;
        self->state.sa->request_child_delete(child_id);
        drain(self);
      },
  };
}

}  // namespace aike::actors
