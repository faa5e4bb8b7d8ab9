// Forgetting aikectl processes that have gone.
//
// CAF 0.17's BASP broker starts a "spawn server" helper for every node that connects and keeps
// it in a map that nothing ever prunes. Every aikectl call is a node of its own, so aiked grew by
// about 1.3 KiB per call (measured: +6.5 MB after 4,000 calls, nothing returned after 400 s idle).
// The control actor sweeps that map now and then; only nodes without a connection are dropped.
#pragma once
#include <caf/actor_system.hpp>

#include <cstddef>
#include <functional>

namespace aike::actors {

// Called in the middleman's thread once the sweep is done.
using sweep_done = std::function<void(std::size_t dropped, std::size_t kept)>;

// Drops the BASP broker's entries for nodes that have no connection left. Runs in the
// middleman's event loop (where the broker runs), so it never races the broker; returns at once.
// Without a middleman there is nothing to sweep and `done` is called with (0, 0).
void sweep_departed_nodes(caf::actor_system& sys, sweep_done done = nullptr);

}  // namespace aike::actors
