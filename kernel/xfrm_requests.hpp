// XFRM requests libnl-xfrm 3.7 has no call for, built with libnl's generic message API
// (nlmsg_alloc_simple, nlmsg_append, nla_put): XFRM_MSG_ALLOCSPI and XFRM_MSG_MIGRATE.
// The caller owns the message (nl_send_auto + nlmsg_free, or xfrm_socket::request).
#pragma once
#include <linux/xfrm.h>

#include <cstdint>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "kernel/xfrm_events.hpp"
#include "kernel/xfrm_selectors.hpp"

struct nl_msg;

namespace aike::kernel {

// The SPI range aike reserves inbound SPIs in.
inline constexpr std::uint32_t spi_min = 0xc0000000u, spi_max = 0xcfffffffu;

// The kernel form of one selector, zero-filled so that equal selectors compare equal byte-wise.
xfrm_selector raw_selector(const kernel_selector& k);

// XFRM_MSG_ALLOCSPI: a larval ESP state src -> dst with `reqid` and a free SPI in [min, max].
// nullptr when out of memory or the addresses are of two families.
nl_msg* build_allocspi(const ip_address& src, const ip_address& dst, std::uint32_t reqid,
                       std::uint32_t min = spi_min, std::uint32_t max = spi_max);

// XFRM_MSG_MIGRATE of the policy (dir, selector) — what a Mobile IPv6 daemon sends when a host
// moves; aike itself only reads the kernel's announcement of it (tests send it).
nl_msg* build_migrate(std::uint8_t dir, const kernel_selector& sel, const std::vector<xfrm_migration>& moves);

}  // namespace aike::kernel
