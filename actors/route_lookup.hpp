// Which local address the kernel would use to reach a peer: needed when a connection leaves
// local_addrs empty, because NAT detection hashes the real source address.
#pragma once
#include <optional>

#include "engine/common/endpoint.hpp"

namespace aike::actors {

std::optional<ip_address> source_address_for(const ip_address& remote);

}  // namespace aike::actors
