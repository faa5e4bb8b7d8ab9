#include "actors/kernel_actor.hpp"

#include "actors/messages.hpp"

namespace aike::actors {

namespace {

// One (purge) at a time, when the backend has put-off clean-up (see backend::purge_retired).
void arm_purge(caf::stateful_actor<kernel_state>* self, std::chrono::milliseconds wait) {
  if (wait.count() <= 0 || self->state.purge_armed) return;
  self->state.purge_armed = true;
  self->delayed_send(self, wait, purge_atom::value);
}

}  // namespace

caf::behavior kernel_actor(caf::stateful_actor<kernel_state>* self, std::shared_ptr<kernel::backend> backend,
                           log_sink log) {
  self->state.log = std::move(log);
  auto* be = backend.get();
  self->attach_functor([backend] {});  // the backend lives as long as the actor
  return {
      [self, be](install_atom, const kernel::child_install& c) {
        auto r = be->install(c);
        if (!r) {
          self->state.log(level::error, "installing CHILD_SA " + c.child.name + "{" + std::to_string(c.child.id) +
                                            "} failed: " + r.err().message);
          return caf::make_message(false, r.err().message);
        }
        self->state.log(level::debug, "installed CHILD_SA " + c.child.name + "{" + std::to_string(c.child.id) +
                                          "} reqid " + std::to_string(c.child.reqid) + " in " + be->name());
        return caf::make_message(true, std::string());
      },
      [self, be](remove_atom, std::uint32_t child_id) {
        auto r = be->remove(child_id);
        if (!r) self->state.log(level::error, "removing CHILD_SA {" + std::to_string(child_id) + "} failed: " + r.err().message);
        arm_purge(self, be->purge_retired());
        return r.ok();
      },
      [self, be](purge_atom) {
        self->state.purge_armed = false;
        arm_purge(self, be->purge_retired());
      },
      [be](list_atom) { return be->list(); },
      [self, be](trap_atom, const kernel::trap_install& t) {
        auto r = be->install_trap(t);
        if (!r) return caf::make_message(false, r.err().message);
        self->state.log(level::info, "trap policies for " + t.connection + "/" + t.child + " installed (reqid " +
                                         std::to_string(t.reqid) + ")");
        return caf::make_message(true, std::string());
      },
  };
}

}  // namespace aike::actors
