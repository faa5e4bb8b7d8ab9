#include "actors/ike_rekey_waiters.hpp"

#include <utility>

namespace aike::actors {

void ike_rekey_waiters::add(std::uint64_t op, const sa::ike_sa& sa, bool started) {
  if (!started && sa.state() != sa::ike_state::established) {
    out_.push_back({op, false, std::string("not rekeyed: the IKE SA is ") + sa::to_string(sa.state())});
    return;
  }
  // While the old SA of the last rekey is still being deleted, that rekey is the one waited for.
  std::uint64_t retiring = sa.retiring_local_spi();
  std::uint64_t old_spi = !started && retiring ? retiring : sa.local_spi();
  if (!started && !retiring && !sa.ike_rekey_under_way()) {
    out_.push_back({op, false, "not rekeyed now: the redundant IKE SA of a rekey collision is still being deleted"});
    return;
  }
  waiting_.push_back({op, old_spi});
}

void ike_rekey_waiters::check(const sa::ike_sa& sa) {
  if (waiting_.empty()) return;
  const bool under_way = sa.ike_rekey_under_way();
  std::vector<waiter> still;
  for (auto& w : waiting_) {
    if (sa.local_spi() != w.old_spi && sa.retiring_local_spi() != w.old_spi)
      out_.push_back({w.op, true, {}});
    else if (sa.local_spi() == w.old_spi && !under_way)
      out_.push_back({w.op, false, "the rekey failed (the peer refused it or answered badly; see the log)"});
    else
      still.push_back(w);
  }
  waiting_ = std::move(still);
}

void ike_rekey_waiters::close(const std::string& why) {
  for (auto& w : waiting_) out_.push_back({w.op, false, "the IKE SA closed: " + why});
  waiting_.clear();
}

std::vector<ike_rekey_outcome> ike_rekey_waiters::take() { return std::exchange(out_, {}); }

}  // namespace aike::actors
