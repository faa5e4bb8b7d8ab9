// The inbound anti-replay window of RFC 4303 §3.4.3, with the extended (64-bit) sequence
// numbers of RFC 4303 Appendix A: only the low 32 bits travel in the packet, the high 32 bits are
// inferred from where the window stands.
//
// Use: estimate() the full sequence number of a packet and check it (before the ICV: a cheap
// early drop), verify the ICV, then accept() it, which checks again and moves the window. A
// forged packet therefore never moves the window.
#pragma once
#include <cstdint>
#include <vector>

namespace aike::kernel::esp {

class replay_window {
 public:
  // size: 0 (no replay check; the highest sequence number is still tracked so ESN works) or
  // 32..4096, already rounded up to a multiple of 32 by the caller. `highest` positions the
  // window as if that sequence number had been received (0 = a fresh SA).
  replay_window(unsigned size, bool esn, std::uint64_t highest = 0);

  struct verdict {
    bool ok = false;         // false: a replay (seen before, left of the window, or 0)
    std::uint64_t seq = 0;   // the full (inferred) sequence number
  };
  // The full sequence number of a packet carrying `seq_low` and whether it may be accepted.
  verdict check(std::uint32_t seq_low) const;
  // Marks `seq` (from check()) as received once its ICV verified; false if it is a replay after
  // all (only possible if the window moved in between).
  bool accept(std::uint64_t seq);

  std::uint64_t highest() const { return top_; }
  unsigned size() const { return size_; }

 private:
  bool seen(std::uint64_t seq) const;
  void set(std::uint64_t seq);
  void clear(std::uint64_t seq);

  unsigned size_;      // W in packets; 0 = off
  unsigned infer_;     // the W used for inferring the high bits (size_, or 32 when off)
  bool esn_;
  std::uint64_t top_;  // T: the highest sequence number accepted
  std::vector<std::uint64_t> bits_;  // ring bitmap: bit (seq mod W) says seq was received
};

}  // namespace aike::kernel::esp
