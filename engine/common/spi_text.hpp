// SPIs as people read them in listings, events and updown scripts: lowercase hex, zero-padded
// (8 digits for an ESP SPI, 16 for an IKE SPI).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace aike {

inline std::string spi_hex(std::uint32_t spi) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", spi);
  return b;
}

inline std::string spi_hex(std::uint64_t spi) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(spi));
  return b;
}

}  // namespace aike
