// The registry's side of kernel events and traps (start_action = "trap"):
//  - install_traps: one trap (out policies that catch the child's traffic before an SA exists) per
//    configured child with start_action = "trap", each with a reqid of its own, through the kernel actor;
//  - on_kernel_event (from the XFRM listener, or the userspace backend's byte/packet expires): an
//    acquire on a trap's reqid initiates that connection's child (unless an IKE SA of the
//    connection already exists); an expire finds the CHILD_SA by reqid and SPI — hard: its IKE
//    SA actor deletes it; soft: its IKE SA actor rekeys it.
#pragma once
#include <caf/all.hpp>

#include "actors/registry.hpp"
#include "kernel/xfrm_events.hpp"

namespace aike::actors {

void install_traps(caf::stateful_actor<registry_state>* self);
void on_kernel_event(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev);

}  // namespace aike::actors
