#include "kernel/xfrm_ownership.hpp"

namespace aike::kernel {

std::uint32_t policy_priority(policy_kind kind, const selector_shape& s, const xfrm_ownership& own) {
  unsigned scale = s.v6 ? 1 : 4;
  unsigned bits = (s.prefix_src + s.prefix_dst) * scale;
  if (bits > 256) bits = 256;
  std::uint32_t p = own.policy_priority_first + static_cast<std::uint32_t>(kind);
  p += (256 - bits) * 8;
  if (s.any_protocol) p += 4;
  if (s.any_src_port) p += 1;
  if (s.any_dst_port) p += 1;
  return p;
}

}  // namespace aike::kernel
