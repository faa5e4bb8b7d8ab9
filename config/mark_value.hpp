// swanctl's mark_in / mark_out values: "value[/mask]" with value and mask in hex (0x...) or
// decimal, or "%unique[/mask]" / "%unique-dir[/mask]". The mask defaults to 0xffffffff; a value
// with bits outside its mask is refused (the kernel would never match it).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/result.hpp"
#include "engine/sa/connection.hpp"

namespace aike::config {

// A 32-bit number in hex (0x prefix) or decimal; nothing else (no sign, no spaces).
bool parse_u32(std::string_view text, std::uint32_t& out);

result<sa::xfrm_mark> parse_mark(std::string_view text);
// The form parse_mark reads back ("0x00000010/0x000000ff", "%unique/0xffffffff"); "" for no mark.
std::string format_mark(const sa::xfrm_mark& m);

}  // namespace aike::config
