// What the kernel backend is told when a CHILD_SA is installed: the negotiated SA plus what the
// connection's configuration asks of it (anti-replay window, byte, packet and time lifetimes).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

#include "engine/sa/child_sa.hpp"
#include "engine/sa/connection.hpp"
#include "kernel/backend.hpp"

namespace aike::actors {

// Soft and hard byte/packet limits of a child's SAs: hard = life, soft = rekey minus a random part
// of rand (uniform in 0..rand, drawn from `random`, one draw per kind), never below 1 when rekey
// is set. Time limits stay 0 here (see add_time_backstop).
kernel::sa_lifetime volume_lifetime_for(const sa::child_config& cc, const std::function<std::uint64_t()>& random);

// Kernel time limits as a backstop only: the IKE SA's own timers rekey a CHILD_SA at rekey_time
// (minus jitter) and delete it at life_time, so the kernel's soft limit (rekey_time + margin: a
// rekey request, as a soft expire is) and hard limit (life_time + margin: the kernel removes the
// SA) fire only when aiked did not act — e.g. it was killed and not restarted. 0 stays 0 (none);
// a soft limit not below the hard one is dropped.
inline constexpr std::uint64_t kernel_time_margin_s = 30;
void add_time_backstop(kernel::sa_lifetime& l, const sa::child_config& cc);

// The XFRM marks of a CHILD_SA (in, out) from mark_in / mark_out. %unique gives both directions the
// CHILD_SA's reqid as value (unique per CHILD_SA and stable across its rekeys, like the reqid);
// %unique-dir gives in the reqid and out the reqid + unique_dir_out_offset (outside the reqid
// range, so no in value equals an out value). Both are then limited to the mask.
inline constexpr std::uint32_t unique_dir_out_offset = 0x01000000;
std::pair<kernel::child_install::mark, kernel::child_install::mark> resolve_marks(const sa::child_config& cc,
                                                                                   std::uint32_t reqid);

// The complete install request; `conn` may be null (no configured child: defaults).
kernel::child_install child_install_params(std::uint32_t ike_id, const sa::connection* conn, const sa::child_sa& child,
                                           const endpoint& local, const endpoint& remote,
                                           const std::function<std::uint64_t()>& random);

}  // namespace aike::actors
