#include "kernel/esp/replay_window.hpp"

namespace aike::kernel::esp {

replay_window::replay_window(unsigned size, bool esn, std::uint64_t highest)
    : size_(size), infer_(size ? size : 32), esn_(esn), top_(highest), bits_((size + 63) / 64, 0) {
  if (size_ && top_) set(top_);
}

bool replay_window::seen(std::uint64_t seq) const {
  const std::uint64_t i = seq % size_;
  return (bits_[i / 64] >> (i % 64)) & 1u;
}
void replay_window::set(std::uint64_t seq) {
  const std::uint64_t i = seq % size_;
  bits_[i / 64] |= std::uint64_t{1} << (i % 64);
}
void replay_window::clear(std::uint64_t seq) {
  const std::uint64_t i = seq % size_;
  bits_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
}

replay_window::verdict replay_window::check(std::uint32_t seq_low) const {
  verdict v;
  if (!esn_) {
    v.seq = seq_low;
  } else {
    // RFC 4303 Appendix A.2: Tl, Th are the halves of T; W the window size.
    const std::uint32_t tl = static_cast<std::uint32_t>(top_);
    const std::uint32_t th = static_cast<std::uint32_t>(top_ >> 32);
    const std::uint32_t w = infer_;
    std::uint32_t sh = th;
    if (tl >= w - 1) {
      // The window lies within one subspace of 2^32: a low number left of it means the
      // counter wrapped into the next subspace.
      if (seq_low < tl - w + 1) {
        if (th == 0xffffffffu) return v;  // beyond 2^64: cannot be genuine
        sh = th + 1;
      }
    } else {
      // The window spans two subspaces: numbers above Tl - W + 1 (mod 2^32) are in the previous one.
      if (seq_low >= static_cast<std::uint32_t>(tl - w + 1)) {
        if (th == 0) return v;  // before the first subspace: never sent
        sh = th - 1;
      }
    }
    v.seq = static_cast<std::uint64_t>(sh) << 32 | seq_low;
  }
  if (v.seq == 0) return v;  // sequence numbers start at 1 (RFC 4303 §3.3.3)
  if (size_ == 0 || v.seq > top_) {
    v.ok = true;
    return v;
  }
  if (top_ - v.seq >= size_) return v;  // left of the window
  v.ok = !seen(v.seq);
  return v;
}

bool replay_window::accept(std::uint64_t seq) {
  if (seq == 0) return false;
  if (seq > top_) {
    if (size_) {
      const std::uint64_t diff = seq - top_;
      if (diff >= size_) {
        for (auto& w : bits_) w = 0;
      } else {
        for (std::uint64_t s = top_ + 1; s < seq; ++s) clear(s);
      }
      set(seq);
    }
    top_ = seq;
    return true;
  }
  if (size_ == 0) return true;
  if (top_ - seq >= size_ || seen(seq)) return false;
  set(seq);
  return true;
}

}  // namespace aike::kernel::esp
