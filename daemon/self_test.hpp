// `aiked --self-test`: the engine's self-check, run by the demo until the daemon's actors exist.
#pragma once

namespace aike::daemon {

// Negotiates IKE SAs between two in-memory engines, prints what happens; 0 when all passed.
int run_self_test();

}  // namespace aike::daemon
