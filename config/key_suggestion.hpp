// "did you mean ...?" for misspelt configuration keys.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aike::config {

// The candidate closest to `word` by edit distance (case and '-' vs '_' ignored), if it is close
// enough to be a likely typo: distance 1 for words up to 4 characters, 2 up to 8, 3 beyond.
std::optional<std::string> closest_key(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace aike::config
