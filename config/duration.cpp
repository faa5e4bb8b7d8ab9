#include "config/duration.hpp"

#include <cstdint>
#include <limits>

namespace aike::config {

namespace {

constexpr std::string_view kHint = " (a whole number with ms, s, m, h or d, e.g. '30s'; a plain number means seconds)";

error bad(std::string_view text, std::string_view why) {
  return make_error(errc::invalid_argument,
                    "invalid duration '" + std::string(text) + "'" + (why.empty() ? "" : ": " + std::string(why)) +
                        std::string(kHint));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return bad(text, "empty");
  if (s.front() == '-') return bad(text, "negative");
  if (s.front() == '+') s.remove_prefix(1);

  std::size_t i = 0;
  std::int64_t value = 0;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    int digit = s[i] - '0';
    if (value > (kMax - digit) / 10) return bad(text, "too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return bad(text, "");
  if (i < s.size() && s[i] == '.') return bad(text, "fractions are not supported, use a smaller unit");

  std::string_view unit = trim(s.substr(i));
  std::int64_t factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60 * 1000;
  else if (unit == "h") factor = 3600 * 1000;
  else if (unit == "d") factor = 24 * 3600 * 1000;
  else return bad(text, "unknown unit '" + std::string(unit) + "'");

  if (value > kMax / factor) return bad(text, "too large");
  return std::chrono::milliseconds(value * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  struct unit {
    std::int64_t factor;
    const char* name;
  };
  static constexpr unit units[] = {{24 * 3600 * 1000, "d"}, {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}};
  for (const auto& u : units)
    if (ms % u.factor == 0) return std::to_string(ms / u.factor) + u.name;
  return std::to_string(ms) + "ms";
}

}  // namespace aike::config
