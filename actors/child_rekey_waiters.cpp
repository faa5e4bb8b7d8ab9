#include "actors/child_rekey_waiters.hpp"

#include <iterator>
#include <utility>

namespace aike::actors {

void child_rekey_waiters::add(std::uint64_t op, std::uint32_t child_id, const sa::ike_sa& sa, bool started) {
  auto c = sa.children().find(child_id);
  if (c == sa.children().end()) {
    refuse(op, child_id, "no such CHILD_SA (any more)");
    return;
  }
  auto& w = waiting_[child_id];
  w.ops.push_back(op);
  if (!started && c->second.state != sa::child_state::rekeying && c->second.state != sa::child_state::installed) {
    finish(waiting_.find(child_id), false, std::string("not rekeyed: the CHILD_SA is ") + sa::to_string(c->second.state));
    return;
  }
  if (c->second.state == sa::child_state::rekeying) w.seen_rekeying = true;
}

void child_rekey_waiters::refuse(std::uint64_t op, std::uint32_t child_id, const std::string& why) {
  out_.push_back({op, child_id, false, why});
}

void child_rekey_waiters::installed(std::uint32_t replaces, std::uint32_t fresh, bool ok) {
  auto it = waiting_.find(replaces);
  if (it == waiting_.end()) return;
  if (!ok) {
    finish(it, false, "the kernel did not install the new SA");
    return;
  }
  it->second.successor = fresh;
}

void child_rekey_waiters::removed(std::uint32_t child_id, bool closing) {
  auto it = waiting_.find(child_id);
  if (it == waiting_.end()) return;
  if (closing)
    finish(it, false, "the IKE SA closed before the rekey completed");
  else if (it->second.successor)
    finish(it, true, {});
  else
    finish(it, false, "the CHILD_SA was deleted before a rekey completed");
}

void child_rekey_waiters::check(const sa::ike_sa& sa) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto next = std::next(it);
    auto c = sa.children().find(it->first);
    if (c != sa.children().end()) {
      if (c->second.state == sa::child_state::rekeying) {
        it->second.seen_rekeying = true;
      } else if (c->second.state == sa::child_state::installed && it->second.seen_rekeying && !it->second.successor) {
        finish(it, false, "the rekey failed (the peer refused it or answered badly; see the log)");
      }
    }
    it = next;
  }
}

void child_rekey_waiters::close(const std::string& why) {
  while (!waiting_.empty()) finish(waiting_.begin(), false, "the IKE SA closed: " + why);
}

std::vector<rekey_outcome> child_rekey_waiters::take() { return std::exchange(out_, {}); }

void child_rekey_waiters::finish(std::map<std::uint32_t, waiter>::iterator it, bool ok, const std::string& error) {
  for (auto op : it->second.ops) out_.push_back({op, it->first, ok, error});
  waiting_.erase(it);
}

}  // namespace aike::actors
