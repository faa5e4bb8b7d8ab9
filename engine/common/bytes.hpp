// Byte buffers and views used across the engine.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aike {

using bytes = std::vector<std::uint8_t>;
using bytes_view = std::span<const std::uint8_t>;

inline bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }
inline bytes to_bytes(bytes_view v) { return bytes(v.begin(), v.end()); }

// Lower-case hex without separators ("0a1b..."), for logs and JSON.
std::string to_hex(bytes_view v);
// Parses hex (whitespace and ':' ignored); returns false on any other character or odd length.
bool from_hex(std::string_view hex, bytes& out);

inline void append(bytes& out, bytes_view v) { out.insert(out.end(), v.begin(), v.end()); }
inline void put_u8(bytes& out, std::uint8_t v) { out.push_back(v); }
inline void put_u16(bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(bytes& out, std::uint32_t v) {
  put_u16(out, static_cast<std::uint16_t>(v >> 16));
  put_u16(out, static_cast<std::uint16_t>(v));
}
inline void put_u64(bytes& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
  put_u32(out, static_cast<std::uint32_t>(v));
}
inline std::uint16_t get_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t get_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
inline std::uint64_t get_u64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(get_u32(p)) << 32 | get_u32(p + 4);
}

// Overwrites secret material before the memory is released (OPENSSL_cleanse, so it is not optimised away).
void wipe(bytes& b);

}  // namespace aike
