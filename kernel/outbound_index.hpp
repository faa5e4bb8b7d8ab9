// The outbound SA lookup of the userspace ESP data plane: which CHILD_SA's traffic selectors
// cover an inner packet read from the TUN device. The answer is defined as the first rule, in
// the table's order, whose local x remote selectors cover the flow (first_match_linear); the
// index gives exactly that answer without looking at every rule.
//
// How: the remote (destination) address ranges of each family cut the address space into
// elementary intervals (every range boundary starts a new one). Each interval lists, in table
// order, the rules with a remote selector covering it. A packet finds its interval by binary
// search on its destination and checks only those rules, in order, with the full selector
// match (protocol, ports, source). Rules so wide that listing them in every interval they cover
// would cost too much memory (many overlapping wide ranges, e.g. several 0.0.0.0/0) stay in a
// per-family fallback list, which is merged in order with the interval's list; the first rule of
// the merged walk that matches is the answer, so overlaps, duplicates and rekey pairs (old and
// new SA with equal selectors) resolve exactly as the linear scan does.
//
// The index is immutable after construction and may be read from any thread. outbound_flow_cache
// in front of it remembers the answers for recent flows; it belongs to one thread.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/ts/selector.hpp"
#include "kernel/inner_packet.hpp"

namespace aike::kernel {

// One outbound SA's selectors: packets from `local` to `remote`.
struct outbound_rule {
  std::vector<ts::selector> local, remote;
};

inline constexpr std::size_t no_outbound_rule = static_cast<std::size_t>(-1);

// The reference: position of the first rule covering the flow, or no_outbound_rule.
std::size_t first_match_linear(std::span<const outbound_rule> rules, const inner_flow& f);

class outbound_index {
 public:
  // Collects the rules in priority order (the first match wins), then builds the index; the
  // selectors are copied into one flat array, so the caller's need not outlive add().
  class builder {
   public:
    void add(std::span<const ts::selector> local, std::span<const ts::selector> remote);
    outbound_index build() &&;

   private:
    friend class outbound_index;
    std::vector<ts::selector> selectors_;
    std::vector<std::array<std::uint32_t, 3>> rules_;  // local from [0], remote from [1], end [2]
  };

  outbound_index();
  explicit outbound_index(const std::vector<outbound_rule>& rules);

  // Same answer as first_match_linear(rules, f).
  std::size_t find(const inner_flow& f) const;

  std::size_t size() const { return rules_.size(); }
  // Set at construction, different for every index built in this process (outbound_flow_cache
  // uses it to notice a new table).
  std::uint64_t serial() const { return serial_; }

  struct shape {
    std::size_t intervals = 0;  // elementary destination intervals, both families
    std::size_t listed = 0;     // rule entries over all intervals
    std::size_t fallback = 0;   // rules not listed per interval (checked for every packet of their family)
  };
  shape describe() const;

  // A 128-bit address as two big-endian halves; compares like the 16-octet array it came from.
  struct key {
    std::uint64_t hi = 0, lo = 0;
    auto operator<=>(const key&) const = default;
  };

 private:
  struct family {
    std::vector<key> bounds;          // sorted; interval i is [bounds[i], bounds[i+1]), the last one open
    std::vector<std::uint32_t> first;  // interval i's rules are listed[first[i] .. first[i+1])
    std::vector<std::uint32_t> listed;
    std::vector<std::uint32_t> fallback;  // ascending
  };
  explicit outbound_index(builder&& b);
  family build(bool v6) const;
  bool covers(std::size_t rule, const inner_flow& f) const;
  std::span<const ts::selector> remote_of(std::size_t rule) const;

  std::vector<ts::selector> selectors_;
  std::vector<std::array<std::uint32_t, 3>> rules_;  // as in builder
  family v4_, v6_;
  std::uint64_t serial_;
};

// The answers for the most recent flows (direct-mapped, keyed by the whole flow), for one
// thread. It forgets everything when asked about an index other than the one it remembers
// (compared by serial), so a new table never sees an old table's positions.
class outbound_flow_cache {
 public:
  std::size_t find(const outbound_index& index, const inner_flow& f);
  void reset();

 private:
  static constexpr std::size_t slots = 256;
  struct slot {
    inner_flow flow;
    std::size_t rule = no_outbound_rule;
    bool valid = false;
  };
  std::array<slot, slots> slots_{};
  std::uint64_t serial_ = 0;  // 0: no index seen yet (serials start at 1)
};

}  // namespace aike::kernel
