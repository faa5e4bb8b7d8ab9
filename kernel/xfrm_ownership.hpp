// How aike recognises the XFRM state it installed, so that a restart after a crash removes exactly
// that and nothing of anyone else's.
//
// Two marks, one per kind of object, because the kernel offers no free-form "owner" field:
//  - Policies: a priority band. Every policy aike installs has a priority in
//    [policy_priority_first, policy_priority_first + policy_priority_span). The band sits far from the
//    values people and other daemons use (ip xfrm's default 0, small hand-picked numbers), and a
//    priority changes nothing about which packets a policy matches, only its rank among overlapping
//    policies. An xfrm mark was rejected: a policy's mark also restricts the packets it matches
//    ((skb mark & mask) == value), so marking policies for ownership would change what they protect.
//  - SAs: a reqid range. SAs have no priority; every reqid aike hands out (actors/id_source) lies in
//    [reqid_first, reqid_first + reqid_count), and a policy's template names the same reqid, so
//    `ip xfrm state` and `ip xfrm policy` show the same recognisable number for one CHILD_SA.
//
// Within the band the priority puts more specific selectors first (lower value = consulted first):
//   priority = policy_priority_first + kind_offset
//              + (256 - s) * 8 + (protocol any ? 4 : 0) + (source ports any ? 1 : 0) + (dest ports any ? 1 : 0)
// where s = source prefix length + destination prefix length, IPv4 lengths counted four times so
// both families share one scale (a /32 host counts like a /128 host). kind_offset orders the kinds:
// pass (bypass) policies 0, installed IPsec policies 8192, trap policies 16384, so a trap policy
// never hides the installed policy of the same selectors.
#pragma once
#include <cstdint>

#include "engine/ts/selector.hpp"

namespace aike::kernel {

// The two marks as one value: today's constants by default, `[kernel] reqid_range` and
// `policy_priority_base` in the configuration (config/daemon_section.cpp checks them). aiked builds
// one at start and hands it to actors/id_source (reqid allocation) and the XFRM backend
// (reconciliation, priorities); everything else uses the defaults below.
struct xfrm_ownership {
  static constexpr std::uint32_t policy_priority_span = 65'536;  // the band's width is fixed
  // reqid + unique_dir_out_offset (actors/child_install_params.hpp) must leave the range.
  static constexpr std::uint32_t max_reqid_count = 0x01000000;

  std::uint32_t policy_priority_first = 1'500'000;
  std::uint32_t reqid_first = 0x0a1e0000;
  std::uint32_t reqid_count = 0x01000000;

  constexpr bool owns_policy_priority(std::uint32_t priority) const {
    return priority >= policy_priority_first && priority - policy_priority_first < policy_priority_span;
  }
  constexpr bool owns_reqid(std::uint32_t reqid) const {
    return reqid >= reqid_first && reqid - reqid_first < reqid_count;
  }
  // The n-th reqid aike hands out (n counts from 0 and wraps inside the range).
  constexpr std::uint32_t reqid_at(std::uint32_t n) const { return reqid_first + n % reqid_count; }
  bool operator==(const xfrm_ownership&) const = default;
};

inline constexpr xfrm_ownership default_ownership{};
inline constexpr std::uint32_t policy_priority_first = default_ownership.policy_priority_first;
inline constexpr std::uint32_t policy_priority_span = xfrm_ownership::policy_priority_span;
inline constexpr std::uint32_t reqid_first = default_ownership.reqid_first;
inline constexpr std::uint32_t reqid_count = default_ownership.reqid_count;

enum class policy_kind : std::uint32_t { pass = 0, ipsec = 8192, trap = 16384 };

// With the default marks (tests, `aikectl doctor`).
inline constexpr bool owns_policy_priority(std::uint32_t priority) {
  return default_ownership.owns_policy_priority(priority);
}
inline constexpr bool owns_reqid(std::uint32_t reqid) { return default_ownership.owns_reqid(reqid); }
inline constexpr std::uint32_t reqid_at(std::uint32_t n) { return default_ownership.reqid_at(n); }

// One kernel selector as the priority formula sees it.
struct selector_shape {
  bool v6 = false;
  unsigned prefix_src = 0, prefix_dst = 0;
  bool any_protocol = true;
  bool any_src_port = true, any_dst_port = true;
};

std::uint32_t policy_priority(policy_kind kind, const selector_shape& s,
                              const xfrm_ownership& own = default_ownership);

}  // namespace aike::kernel
