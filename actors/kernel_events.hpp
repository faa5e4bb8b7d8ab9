// The registry's side of kernel events and traps (start_action = "trap"):
//  - install_traps: one trap (out policies that catch the child's traffic before an SA exists) per
//    configured child with start_action = "trap", each with a reqid of its own, through the kernel actor;
//  - on_kernel_event (from the XFRM listener, or the userspace backend's byte/packet expires): an
//    acquire on a trap's reqid initiates that connection's child (unless an IKE SA of the
//    connection already exists); an expire finds the CHILD_SA by reqid and SPI, else by SPI and
//    destination (the SA's reqid is the kernel reqid, maybe not the CHILD_SA's own) — hard: its IKE
//    SA actor deletes it; soft: its IKE SA actor rekeys it; a migrate goes to the kernel actor,
//    which updates the backend's records and names the CHILD_SAs whose *kernel* reqid the MIGRATE
//    names (backend::children_with_kernel_reqid, kernel/shared_reqids.hpp); the registry moves the
//    IKE SA of each of them to the new addresses when the moved template addresses were its endpoints.
#pragma once
#include <caf/all.hpp>

#include <vector>

#include "actors/registry.hpp"
#include "kernel/xfrm_events.hpp"

namespace aike::actors {

void install_traps(caf::stateful_actor<registry_state>* self);
// After a reload: installs the traps of added children, replaces those whose selectors, addresses
// or mode changed (same reqid), removes those no longer configured; unchanged traps stay as they are.
void sync_traps(caf::stateful_actor<registry_state>* self);
// One move of a kernel MIGRATE as our side and the peer's: the policy's direction says which
// template address is ours (out: the source; in and fwd: the destination).
struct migrate_move {
  std::uint32_t reqid = 0;
  ip_address old_local, old_remote, new_local, new_remote;
};
std::vector<migrate_move> migrate_moves(const kernel::xfrm_event& ev);

void on_kernel_event(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev);

}  // namespace aike::actors
