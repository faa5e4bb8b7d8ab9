// What the kernel backend is told when a CHILD_SA is installed: the negotiated SA plus what the
// connection's configuration asks of it (anti-replay window, byte and packet lifetimes).
#pragma once
#include <cstdint>
#include <functional>
#include <utility>

#include "engine/sa/child_sa.hpp"
#include "engine/sa/connection.hpp"
#include "kernel/backend.hpp"

namespace aike::actors {

// Soft and hard byte/packet limits of a child's SAs: hard = life, soft = rekey minus a random part
// of rand (uniform in 0..rand, drawn from `random`, one draw per kind), never below 1 when rekey
// is set. Time limits stay 0: the IKE SA's own timers rekey and expire CHILD_SAs by time.
kernel::sa_lifetime volume_lifetime_for(const sa::child_config& cc, const std::function<std::uint64_t()>& random);

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
