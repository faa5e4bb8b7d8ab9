// sweep_departed_nodes: the BASP broker's per-node entries of clients that disconnected are
// dropped, those of connected clients kept. Clients are further actor systems in this process,
// connected over loopback TCP like aikectl.
#include "actors/control/departed_nodes.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace {

using namespace aike::actors;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::actor_system_config& with_middleman(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{1});
  cfg.set("middleman.workers", size_t{0});
  cfg.load<caf::io::middleman>();
  return cfg;
}

struct sweep_counts {
  std::size_t dropped = 0, kept = 0;
};

sweep_counts sweep(caf::actor_system& sys) {
  auto done = std::make_shared<std::promise<sweep_counts>>();
  auto f = done->get_future();
  sweep_departed_nodes(sys, [done](std::size_t d, std::size_t k) { done->set_value({d, k}); });
  EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return f.get();
}

// A client: its own actor system that asks the server once (so the server knows its node).
struct client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  explicit client(std::uint16_t port) {
    sys = std::make_unique<caf::actor_system>(with_middleman(cfg));
    auto server = sys->middleman().remote_actor("127.0.0.1", port);
    EXPECT_TRUE(server) << sys->render(server.error());
    if (!server) return;
    caf::scoped_actor self{*sys};
    bool answered = false;
    self->request(*server, std::chrono::seconds(10), ping_atom::value)
        .receive([&](ping_atom) { answered = true; }, [&](caf::error&) {});
    EXPECT_TRUE(answered);
  }
};

TEST(DepartedNodes, NodesOfClosedConnectionsAreDroppedAndConnectedOnesKept) {
  caf::actor_system_config cfg;
  caf::actor_system sys{with_middleman(cfg)};
  // Spawned with an argument: CAF 0.17 dereferences a null argument tuple for an actor function
  // spawned without any (UBSan reports it).
  auto echo = sys.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](ping_atom p) { return p; }}; }, 0);
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  ASSERT_TRUE(port) << sys.render(port.error());

  auto stays = std::make_unique<client>(*port);
  {
    client a{*port};
    client b{*port};
  }  // a and b shut down: their connections close

  // The server learns of the closed connections in its own time; sweep until both are gone.
  sweep_counts total;
  for (int i = 0; i < 100 && total.dropped < 2; ++i) {
    auto c = sweep(sys);
    total.dropped += c.dropped;
    total.kept = c.kept;
    if (total.dropped < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(total.dropped, 2u);
  EXPECT_EQ(total.kept, 1u);  // the client still connected

  stays.reset();
  for (int i = 0; i < 100; ++i) {
    auto c = sweep(sys);
    if (c.kept == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(sweep(sys).kept, 0u);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST(DepartedNodes, WithoutMiddlemanThereIsNothingToSweep) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto c = sweep(sys);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.kept, 0u);
}

}  // namespace
