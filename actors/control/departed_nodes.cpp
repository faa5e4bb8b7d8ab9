#include "actors/control/departed_nodes.hpp"

#include <caf/io/basp_broker.hpp>
#include <caf/send.hpp>
#include <caf/io/middleman.hpp>

namespace aike::actors {

void sweep_departed_nodes(caf::actor_system& sys, sweep_done done) {
  if (!sys.has_middleman()) {
    if (done) done(0, 0);
    return;
  }
  auto& mm = sys.middleman();
  mm.run_later([&mm, done = std::move(done)] {
    // In the event loop: the broker only runs here, so its members are ours for this moment.
    auto hdl = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    auto* broker = static_cast<caf::io::basp_broker*>(caf::actor_cast<caf::abstract_actor*>(hdl));
    if (broker->getf(caf::abstract_actor::is_terminated_flag)) {  // shutting down: its state is gone
      if (done) done(0, 0);
      return;
    }
    std::size_t dropped = 0;
    auto& servers = broker->spawn_servers;
    for (auto i = servers.begin(); i != servers.end();) {
      if (broker->instance.tbl().lookup_direct(i->first)) {
        ++i;
      } else {
        // End the helper too: one still waiting for its node's answer (up to 5 minutes) would
        // otherwise outlive this entry in CAF's actor registry and be destroyed only after
        // CAF's clock, at shutdown, which crashes.
        caf::anon_send_exit(i->second, caf::exit_reason::user_shutdown);
        i = servers.erase(i);
        ++dropped;
      }
    }
    if (done) done(dropped, servers.size());
  });
}

}  // namespace aike::actors
