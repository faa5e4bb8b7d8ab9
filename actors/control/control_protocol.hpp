// The messages that cross the control connection between aikectl and aiked (CAF middleman over
// TCP): only atoms, strings and integers, so nothing the daemon holds is ever serialized.
//   aikectl -> control:  (ctl, token, command, args as "key=value" lines)
//   control -> aikectl:  (int32 exit code, output text) as the answer
//   daemon  -> aikectl:  (progress, uint64 done, uint64 total) while a bulk operation runs, and
//                        (monline, line) for `monitor`; both sent anonymously.
#pragma once
#include <caf/atom.hpp>

#include <cstdint>

namespace aike::control {

using ctl_atom = caf::atom_constant<caf::atom("ctl")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using monitor_atom = caf::atom_constant<caf::atom("monline")>;

// Exit codes, as aikectl returns them.
constexpr std::int32_t exit_ok = 0;       // done
constexpr std::int32_t exit_failed = 1;   // the operation failed or partly failed
constexpr std::int32_t exit_usage = 2;    // usage error
constexpr std::int32_t exit_refused = 3;  // daemon unreachable or authentication refused

}  // namespace aike::control
