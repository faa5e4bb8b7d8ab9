// Reading the kernel's SPD and SAD over NETLINK_XFRM (dumps), with libnl's message helpers:
// libnl 3.7's policy parser leaks every address it builds, so policies and states are taken from
// the raw messages. Used by the XFRM backend (reconciliation) and by `aikectl doctor`.
#pragma once
#include <linux/xfrm.h>

#include <cstdint>
#include <vector>

#include "engine/common/result.hpp"
#include "kernel/xfrm_doctor.hpp"
#include "kernel/xfrm_socket.hpp"

namespace aike::kernel {

// One policy from a dump: the fixed part, its mark and its templates.
struct dumped_policy {
  xfrm_userpolicy_info info;
  std::uint32_t mark_value = 0, mark_mask = 0;
  std::vector<xfrm_user_tmpl> tmpls;
};

// One state from a dump: the fixed part and its mark.
struct dumped_state {
  xfrm_usersa_info info;
  std::uint32_t mark_value = 0, mark_mask = 0;
};

status dump_policies(xfrm_socket& sock, std::vector<dumped_policy>& out);
status dump_states(xfrm_socket& sock, std::vector<dumped_state>& out);

// A kernel address of the given family (AF_INET / AF_INET6).
ip_address from_xfrm(const xfrm_address_t& a, unsigned family);

// The same, as doctor's plain structs.
xfrm_policy_view to_view(const dumped_policy& p);
xfrm_sa_view to_view(const dumped_state& s);

}  // namespace aike::kernel
