// Which kernel backend aiked runs with: [daemon] kernel = "xfrm", "userspace", "null", or "auto",
// which probes — XFRM when the kernel accepts ESP states, else the userspace ESP backend when a
// TUN device can be made (/dev/net/tun present, CAP_NET_ADMIN held), else an error that names
// what is missing and what to do.
#pragma once
#include <memory>
#include <string>

#include "config/model.hpp"
#include "engine/common/result.hpp"
#include "kernel/backend.hpp"
#include "kernel/userspace_backend.hpp"

namespace aike::daemon {

struct kernel_choice {
  std::shared_ptr<kernel::backend> backend;
  std::shared_ptr<kernel::userspace_backend> userspace;  // the same object when userspace was chosen
  std::string why;                                        // one line for the log
};

// Errors are one message for stderr, starting with the setting ("kernel = \"auto\": ...").
result<kernel_choice> choose_kernel_backend(const config::daemon_config& d);

}  // namespace aike::daemon
