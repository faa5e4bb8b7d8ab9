// Durations as swanctl writes them: "500ms", "30s", "5m", "4h", "2d"; a plain number is seconds.
#pragma once
#include <chrono>
#include <string>
#include <string_view>

#include "engine/common/result.hpp"

namespace aike::config {

result<std::chrono::milliseconds> parse_duration(std::string_view text);
// Whole seconds as a plain number of seconds; the largest unit that divides exactly ("4h", "90m", "500ms").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace aike::config
