// timer_batch: the SA actors' timers outside CAF's clock. Each timer arrives as (timer, kind,
// token) at its actor, in deadline order, never before its deadline; an earlier timer armed after
// a much later one still fires on time; timers of actors that ended are dropped.
#include "actors/timer_batch.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "actors/messages.hpp"

namespace {

using namespace aike::actors;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct TimerBatch : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  void SetUp() override {
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

struct fired {
  int kind = -1;
  std::uint64_t token = 0;
  steady::time_point at;
};

// Receives one timer message, or kind -1 after 10 s.
fired next(caf::scoped_actor& self) {
  fired f;
  self->receive([&](timer_atom, int kind, std::uint64_t token) { f = {kind, token, steady::now()}; },
                caf::after(std::chrono::seconds(10)) >> [] {});
  return f;
}

TEST_F(TimerBatch, FiresInDeadlineOrderAndNeverEarly) {
  timer_batch timers;
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  auto t0 = steady::now();
  timers.arm(me, 120ms, 3, 30);
  timers.arm(me, 40ms, 1, 10);
  timers.arm(me, 80ms, 2, 20);
  for (int k = 1; k <= 3; ++k) {
    auto f = next(self);
    ASSERT_EQ(f.kind, k);
    EXPECT_EQ(f.token, static_cast<std::uint64_t>(k * 10));
    EXPECT_GE(f.at - t0, std::chrono::milliseconds(40 * k));  // never before the deadline
  }
  EXPECT_EQ(timers.pending(), 0u);
}

TEST_F(TimerBatch, AnEarlierTimerArmedAfterALaterOneIsNotHeldBack) {
  timer_batch timers;
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  timers.arm(me, std::chrono::hours(1), 7, 1);  // the thread now sleeps until in an hour
  timers.arm(me, 20ms, 4, 2);
  auto f = next(self);  // would time out (10 s) if the thread were not woken for it
  EXPECT_EQ(f.kind, 4);
  EXPECT_EQ(f.token, 2u);
  EXPECT_EQ(timers.pending(), 1u);
}

TEST_F(TimerBatch, ABurstOfTimersAllArriveOnce) {
  timer_batch timers;
  caf::scoped_actor self{*sys};
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  constexpr std::uint64_t n = 10000;
  for (std::uint64_t i = 0; i < n; ++i) timers.arm(me, std::chrono::milliseconds(i % 50), 0, i);
  std::set<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto f = next(self);
    ASSERT_EQ(f.kind, 0) << "after " << i << " timers";
    seen.insert(f.token);
  }
  EXPECT_EQ(seen.size(), n);
  EXPECT_EQ(timers.pending(), 0u);
}

// Counts the timers it gets. (An argument: CAF 0.17's spawn of an argument-less function
// dereferences an empty pointer, which UBSan reports.)
caf::behavior counting(caf::event_based_actor*, std::atomic<int>* got) {
  return {[got](timer_atom, int, std::uint64_t) { ++*got; }};
}

TEST_F(TimerBatch, TimersOfEndedActorsAreDropped) {
  timer_batch timers;
  std::atomic<int> got{0};
  auto a = sys->spawn(counting, &got);
  timers.arm(caf::actor_cast<caf::strong_actor_ptr>(a), 30ms, 0, 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  a = nullptr;
  for (int i = 0; i < 500 && timers.pending() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_EQ(got.load(), 0);
  // A live actor's timer still arrives after that.
  caf::scoped_actor self{*sys};
  timers.arm(caf::actor_cast<caf::strong_actor_ptr>(self), 1ms, 5, 9);
  EXPECT_EQ(next(self).kind, 5);
}

TEST_F(TimerBatch, DestroyedWithPendingTimers) {
  caf::scoped_actor self{*sys};
  {
    timer_batch timers;
    for (int i = 0; i < 100; ++i) timers.arm(caf::actor_cast<caf::strong_actor_ptr>(self), std::chrono::hours(1), 0, 1);
    EXPECT_EQ(timers.pending(), 100u);
  }  // joins its thread; nothing is delivered
  bool any = false;
  self->receive([&](timer_atom, int, std::uint64_t) { any = true; }, caf::after(50ms) >> [] {});
  EXPECT_FALSE(any);
}

}  // namespace
