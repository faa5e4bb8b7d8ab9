#include "actors/child_create_waiters.hpp"

#include <algorithm>
#include <utility>

namespace aike::actors {

void child_create_waiters::want(std::uint64_t op, const std::string& child, bool requested) {
  waiting_.push_back({op, child, requested ? waiter::stage::requested : waiter::stage::deferred, 0});
}

std::vector<std::string> child_create_waiters::take_deferred() {
  std::vector<std::string> out;
  for (auto& w : waiting_)
    if (w.at == waiter::stage::deferred) out.push_back(w.child);
  return out;
}

void child_create_waiters::requested(const std::string& child, bool accepted, const std::string& why) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const waiter& w) { return w.at == waiter::stage::deferred && w.child == child; });
  if (it == waiting_.end()) return;
  if (accepted)
    it->at = waiter::stage::requested;
  else
    finish(it, false, why);
}

void child_create_waiters::made(const std::string& child, std::uint32_t id) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const waiter& w) { return w.at == waiter::stage::requested && w.child == child; });
  if (it == waiting_.end()) return;
  it->at = waiter::stage::installing;
  it->id = id;
}

void child_create_waiters::installed(std::uint32_t id, bool ok, const std::string& why) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const waiter& w) { return w.at == waiter::stage::installing && w.id == id; });
  if (it == waiting_.end()) return;
  std::string error = ok ? std::string() : "the kernel did not install the CHILD_SA";
  if (!ok && !why.empty()) error += ": " + why;
  finish(it, ok, error);
}

void child_create_waiters::failed(const std::string& child, const std::string& why) {
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const waiter& w) { return w.at == waiter::stage::requested && w.child == child; });
  if (it != waiting_.end()) finish(it, false, why);
}

void child_create_waiters::close(const std::string& why) {
  while (!waiting_.empty()) finish(waiting_.begin(), false, "the IKE SA closed: " + why);
}

std::vector<create_outcome> child_create_waiters::take() { return std::exchange(out_, {}); }

void child_create_waiters::finish(std::deque<waiter>::iterator it, bool ok, const std::string& error) {
  out_.push_back({it->op, it->child, ok, error});
  waiting_.erase(it);
}

}  // namespace aike::actors
