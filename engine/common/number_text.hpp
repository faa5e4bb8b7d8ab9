// Counts as people read them: 4812 -> "4,812". Used for progress and summary lines, so the
// daemon's final "terminated 10,000 / 10,000" looks like the progress lines before it.
#pragma once
#include <cstdint>
#include <string>

namespace aike {

inline std::string grouped(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace aike
