#include "actors/kernel_actor.hpp"

#include "actors/id_source.hpp"
#include "actors/messages.hpp"
#include "actors/spi_pool.hpp"

namespace aike::actors {

namespace {

// One (purge) at a time, when the backend has put-off clean-up (see backend::purge_retired).
void arm_purge(caf::stateful_actor<kernel_state>* self, std::chrono::milliseconds wait) {
  if (wait.count() <= 0 || self->state.purge_armed) return;
  self->state.purge_armed = true;
  self->delayed_send(self, wait, purge_atom::value);
}

constexpr std::chrono::seconds spi_refresh{10};

// Brings the pool's SPIs for `local` back to spi_pool::target: releases aged reservations, reserves
// new ones. A refusal turns the pool off with one log line (SPIs are then picked at random).
void top_up_spis(caf::stateful_actor<kernel_state>* self, kernel::backend* be, const ip_address& local) {
  auto& pool = spi_pool::global();
  if (!pool.enabled()) return;
  std::vector<std::uint32_t> aged;
  bool first = pool.size(local) == 0 && !pool.serves(local);
  std::size_t n = pool.missing(local, spi_pool::clock::now(), aged);
  for (auto spi : aged) be->release_spi(local, spi);
  for (std::size_t i = 0; i < n; ++i) {
    auto spi = be->reserve_spi(local, next_reqid());
    if (!spi) {
      self->state.log(level::warning, "XFRM_MSG_ALLOCSPI refused (" + spi.err().message +
                                          "): inbound SPIs are picked at random by aiked from now on");
      pool.disable();
      return;
    }
    pool.put(local, *spi, spi_pool::clock::now());
  }
  if (first && n)
    self->state.log(level::info, "inbound SPIs for " + local.to_string() + " are reserved by the kernel " +
                                     "(XFRM_MSG_ALLOCSPI), " + std::to_string(spi_pool::target) + " ahead");
}

}  // namespace

caf::behavior kernel_actor(caf::stateful_actor<kernel_state>* self, std::shared_ptr<kernel::backend> backend,
                           log_sink log) {
  self->state.log = std::move(log);
  auto* be = backend.get();
  self->attach_functor([backend] {});  // the backend lives as long as the actor
  if (be->reserves_spis()) {
    spi_pool::global().enable(caf::actor_cast<caf::actor>(self));
    self->attach_functor([] { spi_pool::global().disable(); });
    self->delayed_send(self, spi_refresh, spi_atom::value);
  }
  return {
      [self, be](install_atom, const kernel::child_install& c) {
        auto r = be->install(c);
        for (const auto& w : be->take_warnings()) self->state.log(level::warning, w);
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
      [be](stats_atom) { return std::string(be->name()); },  // for `stats`: which backend runs
      [self, be](trap_atom, const kernel::trap_install& t) {
        auto r = be->install_trap(t);
        if (!r) return caf::make_message(false, r.err().message);
        self->state.log(level::info, "trap policies for " + t.connection + "/" + t.child + " installed (reqid " +
                                         std::to_string(t.reqid) + ")");
        return caf::make_message(true, std::string());
      },
      [self, be](spi_atom, const ip_address& local) { top_up_spis(self, be, local); },
      [self, be](spi_atom) {
        for (const auto& a : spi_pool::global().addresses()) top_up_spis(self, be, a);
        if (spi_pool::global().enabled()) self->delayed_send(self, spi_refresh, spi_atom::value);
      },
      // A kernel MIGRATE names the kernel reqid: the backend updates its records of the CHILD_SAs
      // that use it, and the reply names them (child ids) for the registry to route.
      [self, be](migrate_atom, std::uint32_t reqid, const ip_address& old_local, const ip_address& old_remote,
                 const ip_address& new_local, const ip_address& new_remote) {
        auto children = be->children_with_kernel_reqid(reqid);
        std::uint32_t n = be->note_migrate(reqid, old_local, old_remote, new_local, new_remote);
        if (n)
          self->state.log(level::info, "kernel MIGRATE of reqid " + std::to_string(reqid) + ": " + std::to_string(n) +
                                           " CHILD_SA(s) now " + new_local.to_string() + " <-> " + new_remote.to_string());
        return children;
      },
      [self, be](remote_moved_atom, const kernel::child_install& c) {
        const std::string name = c.child.name + "{" + std::to_string(c.child.id) + "}";
        if (auto r = be->update_remote(c); !r)
          self->state.log(level::warning, "CHILD_SA " + name + " not moved to " + c.remote.to_string() + ": " +
                                              r.err().message);
        else
          self->state.log(level::info, "CHILD_SA " + name + ": ESP now goes to " + c.remote.to_string() + " (" +
                                           be->name() + ")");
      },
      // No reply: the registry sends this one-way.
      [self, be](trap_atom, remove_atom, std::uint32_t reqid) {
        if (auto r = be->remove_trap(reqid); !r)
          self->state.log(level::error, "removing the trap policies of reqid " + std::to_string(reqid) + " failed: " + r.err().message);
        else
          self->state.log(level::info, "trap policies of reqid " + std::to_string(reqid) + " removed");
      },
  };
}

}  // namespace aike::actors
