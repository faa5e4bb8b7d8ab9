// Who holds a UDP port: read from /proc (the socket's inode in /proc/net/udp{,6}, then the process
// whose fd points at it), so "address in use" can name strongSwan's charon or libreswan's pluto.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace aike::net {

struct port_owner {
  pid_t pid = 0;
  std::string command;  // /proc/PID/comm, e.g. "charon"
  // "strongSwan's charon (pid 812)", "libreswan's pluto (pid 90)", "aiked (pid 7)", "nc (pid 3)"
  std::string describe() const;
};

// The first process found with a UDP socket bound to `port` (any address), if /proc tells.
std::optional<port_owner> find_udp_port_owner(std::uint16_t port);

}  // namespace aike::net
