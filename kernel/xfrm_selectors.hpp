// From IKEv2 traffic selectors (address ranges, a protocol, port ranges) to kernel XFRM selectors,
// which know only prefixes and port/mask pairs: a range that is not one prefix becomes several
// selectors (10.0.0.1-10.0.0.6 -> .1/32 .2/31 .4/31 .6/32), and so does a port range.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/common/result.hpp"
#include "engine/ts/selector.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::kernel {

// One side of a kernel selector. For ICMP/ICMPv6 the source port holds the type, the destination
// port the code (how the kernel's flow keys carry them).
struct prefix_port {
  std::array<std::uint8_t, 16> addr{};
  unsigned prefix = 0;
  std::uint16_t port = 0, port_mask = 0;  // mask 0 = any port
};

struct kernel_selector {
  bool v6 = false;
  std::uint8_t protocol = 0;
  prefix_port src, dst;
  selector_shape shape() const;
};

// Prefixes covering [start, end] exactly (both inclusive; 4 or 16 significant octets).
std::vector<std::pair<std::array<std::uint8_t, 16>, unsigned>> range_to_prefixes(const std::array<std::uint8_t, 16>& start,
                                                                                const std::array<std::uint8_t, 16>& end,
                                                                                bool v6);
// (value, mask) pairs covering [first, last] exactly; the full range is the single pair (0, 0).
std::vector<std::pair<std::uint16_t, std::uint16_t>> range_to_masks(std::uint16_t first, std::uint16_t last);

// All kernel selectors for traffic from `src` to `dst` (same family, protocols compatible).
// More than `limit` selectors, mixed families, or ICMP ranges the kernel cannot express are errors.
result<std::vector<kernel_selector>> to_kernel_selectors(const ts::selector& src, const ts::selector& dst,
                                                         std::size_t limit = 64);

}  // namespace aike::kernel
