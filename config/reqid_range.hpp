// `[kernel] reqid_range = "START-END"`: the reqids aiked hands out and recognises as its own in
// the kernel (kernel/xfrm_ownership.hpp). Both ends inclusive, each in decimal or hex (0x...).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/result.hpp"

namespace aike::config {

struct reqid_range {
  std::uint32_t first = 0, count = 0;
};

// Refuses what is not "START-END", a START of 0 (reqid 0 means "any reqid" to the kernel), END
// below START, and more than 16,777,216 reqids (a %unique-dir out mark, reqid + 0x01000000, must
// stay outside the range).
result<reqid_range> parse_reqid_range(std::string_view text);
// "0x0a1e0000-0x0b1dffff": what parse_reqid_range reads back.
std::string format_reqid_range(const reqid_range& r);

}  // namespace aike::config
