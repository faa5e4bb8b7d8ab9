#include "engine/common/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace aike {

std::optional<ip_address> ip_address::parse(std::string_view text) {
  std::string s(text);
  ip_address a;
  if (inet_pton(AF_INET, s.c_str(), a.octets.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.octets.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

ip_address ip_address::from_bytes(bytes_view b) {
  ip_address a;
  a.v6 = b.size() == 16;
  std::memcpy(a.octets.data(), b.data(), std::min<std::size_t>(b.size(), 16));
  return a;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, octets.data(), buf, sizeof buf);
  return buf;
}

bool ip_address::is_any() const {
  auto v = view();
  return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
}

std::string endpoint::to_string() const { return addr.to_string() + "[" + std::to_string(port) + "]"; }

}  // namespace aike
