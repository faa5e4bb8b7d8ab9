// exit_quiet_scheduler: CAF uses our clock; an actor that never set a timeout ends without a call
// into CAF's clock thread; actors with timeouts still get them, and their end still cancels them.
#include "actors/exit_quiet_scheduler.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

// Every actor is spawned with an (unused) argument: CAF 0.17 dereferences a null argument tuple
// for an actor function spawned without any (UBSan reports it).
namespace {

using namespace aike::actors;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct quiet_config : caf::actor_system_config {
  quiet_config() {
    set("scheduler.max-threads", size_t{2});
    load<exit_quiet_scheduler>();
  }
};

timeout_tracking_clock& clock_of(caf::actor_system& sys) {
  auto* c = dynamic_cast<timeout_tracking_clock*>(&sys.clock());
  if (!c) throw std::runtime_error("the actor system does not use exit_quiet_scheduler's clock");
  return *c;
}

// Waits up to 10 s for `pred`.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST(ExitQuietScheduler, ActorSystemUsesItsClock) {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  EXPECT_NE(dynamic_cast<timeout_tracking_clock*>(&sys.clock()), nullptr);
  EXPECT_EQ(sys.scheduler().num_workers(), 2u) << "scheduler.max-threads still applies";
}

TEST(ExitQuietScheduler, ActorsWithoutTimeoutsEndWithoutCancelling) {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto& clk = clock_of(sys);
  auto forwarded0 = clk.forwarded_cancels();
  auto skipped0 = clk.skipped_cancels();
  for (int i = 0; i < 100; ++i) {
    auto a = sys.spawn(
        [](caf::event_based_actor* self, int) -> caf::behavior {
          return {[self](ping_atom) { self->quit(); }};
        },
        0);
    caf::anon_send(a, ping_atom::value);
  }
  EXPECT_TRUE(eventually([&] { return clk.skipped_cancels() - skipped0 >= 100; }))
      << "skipped " << clk.skipped_cancels() - skipped0;
  EXPECT_EQ(clk.forwarded_cancels(), forwarded0);
}

TEST(ExitQuietScheduler, TimeoutsStillFireAndEndingActorsCancelThem) {
  quiet_config cfg;
  caf::actor_system sys{cfg};
  auto& clk = clock_of(sys);
  auto silent = sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](ping_atom) -> caf::result<int> { return caf::delegated<int>(); }};  // never answers
      },
      0);
  // A request timeout and a delayed send both arrive through this clock.
  {
    caf::scoped_actor self{sys};
    bool timed_out = false;
    self->request(silent, std::chrono::milliseconds(50), ping_atom::value)
        .receive([](int) {}, [&](caf::error& e) { timed_out = e == caf::sec::request_timeout; });
    EXPECT_TRUE(timed_out) << "the request did not time out";
    self->delayed_send(self, std::chrono::milliseconds(20), tick_atom::value);
    bool ticked = false;
    self->receive([&](tick_atom) { ticked = true; }, caf::after(std::chrono::seconds(10)) >> [] {});
    EXPECT_TRUE(ticked) << "the delayed message did not arrive";
  }
  // An actor that ends with a request timeout pending has it cancelled at its end.
  auto forwarded0 = clk.forwarded_cancels();
  auto waiter = sys.spawn(
      [silent](caf::event_based_actor* self, int) -> caf::behavior {
        self->request(silent, std::chrono::seconds(3600), ping_atom::value).then([](int) {});
        return {[self](tick_atom) { self->quit(); }};
      },
      0);
  caf::anon_send(waiter, tick_atom::value);
  EXPECT_TRUE(eventually([&] { return clk.forwarded_cancels() > forwarded0; }))
      << "the ended actor's pending timeout was not cancelled";
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

}  // namespace
