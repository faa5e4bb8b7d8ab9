// Timers of the IKE SA actors without CAF's clock thread. `delayed_send` in CAF 0.17 takes the
// clock's mutex, pushes into a 64-slot ring buffer (blocking when it is full) and wakes the clock
// thread every time; with tens of thousands of SAs arming a DELETE retransmission at once that
// was a large share of `terminate --all` (docs/benchmarks.md). Here one thread of our own keeps
// all deadlines in a heap; arming takes a mutex and wakes that thread only when the new deadline
// is earlier than the one it sleeps until, which in a burst of arms is almost never.
//
// A timer fires as the message (timer_atom, kind, token) to its actor, exactly like the
// delayed_send it replaces, never before its deadline and at most `slack` after it (due timers
// are delivered together). The actor is held weakly: a timer of an actor that has ended is
// dropped when due. There is no cancel: the engine ignores stale tokens, as it did before.
#pragma once
#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace aike::actors {

class timer_batch {
 public:
  using clock = std::chrono::steady_clock;

  // Starts the thread ("aike-timer"). slack: how late a timer may fire so that timers due close
  // together go out in one wake-up.
  explicit timer_batch(std::chrono::milliseconds slack = std::chrono::milliseconds(5));
  ~timer_batch();  // stops and joins the thread; pending timers are dropped
  timer_batch(const timer_batch&) = delete;
  timer_batch& operator=(const timer_batch&) = delete;

  // Thread-safe. After `after`, sends (timer_atom, kind, token) to `target` if it still lives.
  void arm(const caf::strong_actor_ptr& target, std::chrono::milliseconds after, int kind, std::uint64_t token);

  // Timers armed and not yet due (or due and not yet delivered).
  std::size_t pending() const;

 private:
  struct entry {
    clock::time_point at;
    std::uint64_t seq;  // arming order: equal deadlines fire in the order they were armed
    caf::weak_actor_ptr target;
    int kind;
    std::uint64_t token;
  };
  struct later {
    bool operator()(const entry& a, const entry& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  };
  void run();

  const std::chrono::milliseconds slack_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<entry> heap_;  // a min-heap by (at, seq) through `later`
  std::uint64_t next_seq_ = 0;
  clock::time_point wake_at_ = clock::time_point::max();  // what the thread sleeps until
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace aike::actors
