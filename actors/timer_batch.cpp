#include "actors/timer_batch.hpp"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "actors/messages.hpp"

namespace aike::actors {

timer_batch::timer_batch(std::chrono::milliseconds slack) : slack_(slack) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "aike-timer");
    run();
  });
}

timer_batch::~timer_batch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  // The last owner may in principle be released on the timer thread itself: it cannot join itself.
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
}

void timer_batch::arm(const caf::strong_actor_ptr& target, std::chrono::milliseconds after, int kind,
                      std::uint64_t token) {
  if (!target) return;
  auto at = clock::now() + std::max(after, std::chrono::milliseconds(0));
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    heap_.push_back(entry{at, next_seq_++, caf::weak_actor_ptr(target.get()), kind, token});
    std::push_heap(heap_.begin(), heap_.end(), later{});
    // The thread sleeps until wake_at_ (the earliest deadline plus the slack); it wakes for this
    // timer only if it would otherwise fire it more than `slack` late.
    wake = at + slack_ < wake_at_;
    if (wake) wake_at_ = at;  // asked once: further arms in the same burst need not notify
  }
  if (wake) cv_.notify_one();
}

std::size_t timer_batch::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return heap_.size();
}

void timer_batch::run() {
  std::vector<entry> due;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_at_ = clock::time_point::min();  // awake: arms need not notify, the heap is looked at below
    auto now = clock::now();
    while (!heap_.empty() && heap_.front().at <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), later{});
      due.push_back(std::move(heap_.back()));
      heap_.pop_back();
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& e : due)
        if (auto target = e.target.lock())
          caf::anon_send(caf::actor_cast<caf::actor>(std::move(target)), timer_atom::value, e.kind, e.token);
      due.clear();
      lock.lock();
      continue;
    }
    if (heap_.empty()) {
      wake_at_ = clock::time_point::max();
      cv_.wait(lock);
    } else {
      wake_at_ = heap_.front().at + slack_;
      cv_.wait_until(lock, wake_at_);
    }
  }
}

}  // namespace aike::actors
