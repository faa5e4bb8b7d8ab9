// What the kernel backend is told when a CHILD_SA is installed: the negotiated SA plus what the
// connection's configuration asks of it (anti-replay window, byte and packet lifetimes).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/sa/child_sa.hpp"
#include "engine/sa/connection.hpp"
#include "kernel/backend.hpp"

namespace aike::actors {

// Soft and hard byte/packet limits of a child's SAs: hard = life, soft = rekey minus a random part
// of rand (uniform in 0..rand, drawn from `random`, one draw per kind), never below 1 when rekey
// is set. Time limits stay 0: the IKE SA's own timers rekey and expire CHILD_SAs by time.
kernel::sa_lifetime volume_lifetime_for(const sa::child_config& cc, const std::function<std::uint64_t()>& random);

// The complete install request; `conn` may be null (no configured child: defaults).
kernel::child_install child_install_params(std::uint32_t ike_id, const sa::connection* conn, const sa::child_sa& child,
                                           const endpoint& local, const endpoint& remote,
                                           const std::function<std::uint64_t()>& random);

}  // namespace aike::actors
