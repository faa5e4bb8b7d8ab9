#include "engine/wire/payloads.hpp"

namespace aike::wire {

std::optional<std::uint16_t> transform::key_length() const {
  for (const auto& a : attributes) {
    // RFC 7296 §3.3.5: Key Length is only defined in TV format.
    if (a.type == attr_key_length && a.tv) return a.value;
  }
  return std::nullopt;
}

}  // namespace aike::wire
