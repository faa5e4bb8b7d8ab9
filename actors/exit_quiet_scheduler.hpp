// CAF's work-sharing scheduler with a clock that stays quiet when an actor without timeouts ends.
//
// CAF 0.17 ends every actor with clock().cancel_timeouts(self), which pushes an event into the
// clock thread's queue under a mutex and wakes that thread. IKE SA actors keep their timers in
// actors/timer_batch and never set a CAF timeout, so for them the push does nothing but cost:
// measured at 5 % of the CPU of a bulk terminate, plus about as much again in the woken clock
// thread. This clock remembers which actors ever set a timeout and forwards cancel_timeouts only
// for those; everything else is CAF's own thread_safe_actor_clock.
//
// Load it with actor_system_config::load<exit_quiet_scheduler>() (before the actor_system is
// made); "scheduler.max-threads" still sets the number of workers.
#pragma once
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <caf/all.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace aike::actors {

class timeout_tracking_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;

  // For tests: cancel_timeouts calls passed on to CAF's clock, and those answered here.
  std::uint64_t forwarded_cancels() const;
  std::uint64_t skipped_cancels() const;

 private:
  void note(caf::abstract_actor* self);

  mutable std::mutex mtx_;
  std::unordered_set<caf::abstract_actor*> with_timeouts_;
  std::uint64_t forwarded_ = 0, skipped_ = 0;
};

class exit_quiet_scheduler final : public caf::scheduler::coordinator<caf::policy::work_sharing> {
 public:
  using super = caf::scheduler::coordinator<caf::policy::work_sharing>;

  explicit exit_quiet_scheduler(caf::actor_system& sys) : super(sys) {}

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new exit_quiet_scheduler(sys);
  }

  timeout_tracking_clock& clock() noexcept override { return clock_; }

 protected:
  void start() override;
  void stop() override;

 private:
  // The base class still runs its own (now idle) clock thread; this one runs ours.
  timeout_tracking_clock clock_;
  std::thread clock_thread_;
};

}  // namespace aike::actors
