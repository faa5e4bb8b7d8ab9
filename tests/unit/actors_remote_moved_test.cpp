// RFC 7296 §2.23 on the actor side: (remotemv, child_install) moves an installed CHILD_SA's outer
// peer endpoint in the backend the kernel actor owns.
#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "actors/kernel_actor.hpp"
#include "actors/messages.hpp"
#include "kernel/null_backend.hpp"

using namespace aike;

namespace {

std::vector<kernel::installed_child> list_of(caf::scoped_actor& self, const caf::actor& k) {
  std::vector<kernel::installed_child> out;
  self->request(k, caf::infinite, actors::list_atom::value)
      .receive([&](const std::vector<kernel::installed_child>& l) { out = l; },
               [&](caf::error& e) { ADD_FAILURE() << "list failed: " << caf::to_string(e); });
  return out;
}

}  // namespace

TEST(KernelActorRemoteMoved, MovesTheInstalledChildsPeer) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto k = sys.spawn(actors::kernel_actor, std::make_shared<kernel::null_backend>(), actors::log_sink{});
  kernel::child_install c;
  c.ike_id = 1;
  c.child.id = 5;
  c.child.name = "net";
  c.local = endpoint{*ip_address::parse("192.0.2.1"), 4500};
  c.remote = endpoint{*ip_address::parse("192.0.2.2"), 4500};
  bool installed = false;
  self->request(k, caf::infinite, actors::install_atom::value, c)
      .receive([&](bool ok, const std::string&) { installed = ok; },
               [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  ASSERT_TRUE(installed);
  auto moved = c;
  moved.remote.port = 31337;
  self->send(k, actors::remote_moved_atom::value, moved);
  auto l = list_of(self, k);  // handled in order: after the move
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].remote, moved.remote);
  // A CHILD_SA the backend does not hold: logged, nothing else changes, the actor keeps running.
  auto unknown = moved;
  unknown.child.id = 6;
  unknown.remote.port = 1;
  self->send(k, actors::remote_moved_atom::value, unknown);
  l = list_of(self, k);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].remote, moved.remote);
  self->send_exit(k, caf::exit_reason::user_shutdown);
}
