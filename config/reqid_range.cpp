#include "config/reqid_range.hpp"

#include <cstdio>

#include "config/mark_value.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::config {

result<reqid_range> parse_reqid_range(std::string_view text) {
  auto dash = text.find('-');
  std::uint32_t start = 0, end = 0;
  if (dash == std::string_view::npos || !parse_u32(text.substr(0, dash), start) ||
      !parse_u32(text.substr(dash + 1), end))
    return make_error(errc::invalid_argument, "'" + std::string(text) +
                                                  "' is not a range: write \"START-END\" with two numbers of 0..4294967295 "
                                                  "in decimal or hex, e.g. \"0x0a1e0000-0x0b1dffff\"");
  if (start == 0)
    return make_error(errc::invalid_argument, "must start at 1 or above (reqid 0 means \"any reqid\" to the kernel)");
  if (end < start)
    return make_error(errc::invalid_argument, "the end " + std::to_string(end) + " lies below the start " +
                                                  std::to_string(start));
  std::uint64_t count = std::uint64_t{end} - start + 1;
  if (count > kernel::xfrm_ownership::max_reqid_count)
    return make_error(errc::invalid_argument,
                      "holds " + std::to_string(count) + " reqids; at most " +
                          std::to_string(kernel::xfrm_ownership::max_reqid_count) +
                          " (a %unique-dir out mark is the reqid + 0x01000000 and must lie outside the range)");
  return reqid_range{start, static_cast<std::uint32_t>(count)};
}

std::string format_reqid_range(const reqid_range& r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08x-0x%08x", r.first, r.first + (r.count - 1));
  return buf;
}

}  // namespace aike::config
