// An IP address and UDP port, as the engine sees them (no sockets here).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/bytes.hpp"

namespace aike {

struct ip_address {
  bool v6 = false;
  std::array<std::uint8_t, 16> octets{};  // IPv4 uses the first 4

  static std::optional<ip_address> parse(std::string_view text);  // "10.0.0.1", "2001:db8::1"
  static ip_address from_bytes(bytes_view b);                     // 4 or 16 octets
  bytes_view view() const { return bytes_view(octets.data(), v6 ? 16 : 4); }
  std::string to_string() const;
  bool is_any() const;  // 0.0.0.0 or ::
  bool operator==(const ip_address&) const = default;
};

struct endpoint {
  ip_address addr;
  std::uint16_t port = 500;
  std::string to_string() const;  // "10.0.0.1[500]", like IKE logs usually show it
  bool operator==(const endpoint&) const = default;
};

}  // namespace aike
