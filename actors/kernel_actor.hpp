// The kernel actor: the only caller of the kernel backend. IKE SA actors ask it to install and
// remove CHILD_SAs with one request each and never wait for it synchronously.
#pragma once
#include <caf/all.hpp>

#include <memory>

#include "actors/logger.hpp"
#include "kernel/backend.hpp"

namespace aike::actors {

struct kernel_state {
  std::unique_ptr<kernel::backend> backend;
  log_sink log;
  bool purge_armed = false;  // a (purge) is on its way: the backend has clean-up due later
  static inline const char* name = "kernel";
};

// Replies: install -> (bool ok, std::string error); remove -> bool; list -> vector<installed_child>.
// migrate (reqid, old local, old remote, new local, new remote) -> vector<uint32_t>: the child ids
// whose kernel reqid that is (backend::children_with_kernel_reqid).
// stats -> std::string: the backend's name ("xfrm", "userspace", "null").
caf::behavior kernel_actor(caf::stateful_actor<kernel_state>* self, std::shared_ptr<kernel::backend> backend,
                           log_sink log);

}  // namespace aike::actors
