#include "actors/route_lookup.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace aike::actors {

std::optional<ip_address> source_address_for(const ip_address& remote) {
  // connect() on a UDP socket sends nothing; it only asks the routing table for a source.
  int fd = socket(remote.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (remote.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(500);
    std::memcpy(&a->sin6_addr, remote.octets.data(), 16);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(500);
    std::memcpy(&a->sin_addr, remote.octets.data(), 4);
    len = sizeof *a;
  }
  std::optional<ip_address> out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
      if (remote.v6)
        out = ip_address::from_bytes(
            bytes_view(reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr), 16));
      else
        out = ip_address::from_bytes(
            bytes_view(reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr), 4));
    }
  }
  close(fd);
  return out;
}

}  // namespace aike::actors
