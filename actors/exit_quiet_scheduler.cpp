#include "actors/exit_quiet_scheduler.hpp"

#include <caf/detail/set_thread_name.hpp>

namespace aike::actors {

void timeout_tracking_clock::note(caf::abstract_actor* self) {
  std::lock_guard<std::mutex> g(mtx_);
  with_timeouts_.insert(self);
}

void timeout_tracking_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                                  uint64_t id) {
  note(self);
  super::set_ordinary_timeout(t, self, type, id);
}

void timeout_tracking_clock::set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) {
  note(self);
  super::set_request_timeout(t, self, id);
}

void timeout_tracking_clock::set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                               uint64_t id) {
  note(self);
  super::set_multi_timeout(t, self, type, id);
}

void timeout_tracking_clock::cancel_timeouts(caf::abstract_actor* self) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    // An actor is only ever cancelled once, at its end: forget it so a later actor at the same
    // address starts clean.
    if (with_timeouts_.erase(self) == 0) {
      ++skipped_;
      return;
    }
    ++forwarded_;
  }
  super::cancel_timeouts(self);
}

std::uint64_t timeout_tracking_clock::forwarded_cancels() const {
  std::lock_guard<std::mutex> g(mtx_);
  return forwarded_;
}

std::uint64_t timeout_tracking_clock::skipped_cancels() const {
  std::lock_guard<std::mutex> g(mtx_);
  return skipped_;
}

void exit_quiet_scheduler::start() {
  clock_thread_ = std::thread([this] {
    caf::detail::set_thread_name("aike.clock");
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  });
  super::start();
}

void exit_quiet_scheduler::stop() {
  // Workers and actors first (their cleanup may still cancel timeouts), then our clock.
  super::stop();
  clock_.cancel_dispatch_loop();
  clock_thread_.join();
}

}  // namespace aike::actors
