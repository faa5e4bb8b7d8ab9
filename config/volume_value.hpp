// Byte and packet limits of CHILD_SAs (swanctl's rekey_bytes, life_bytes, rand_bytes and
// rekey_packets, life_packets, rand_packets): parsing byte counts with unit suffixes, and the
// defaults strongSwan documents for these keys.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/result.hpp"
#include "engine/sa/connection.hpp"

namespace aike::config {

// "1048576", "64K", "500M", "1G", "2T" (binary units: K = 1024; lower case too). Errors name the text.
result<std::uint64_t> parse_byte_count(std::string_view text);

// What the file gave for one kind of volume limit (nullopt = the key is absent).
struct volume_keys {
  std::optional<std::uint64_t> rekey, life, rand;
};

// Fills the defaults as strongSwan does:
//  - rekey: 0 (none), or life - 10% when only life is given;
//  - life:  rekey + 10%;
//  - rand:  life - rekey, but at most half of rekey (so the effective soft limit stays above
//           rekey / 2 even with a hard limit far away).
// Refuses (message, without the key path) life <= rekey when both are set and nonzero, and an
// explicit rand >= rekey; `what` is "bytes" or "packets" and names the keys in the message.
struct volume_problem {
  std::string key;  // "life_bytes", ...
  std::string message;
};
std::optional<volume_problem> resolve_volume(const volume_keys& in, std::string_view what, sa::volume_lifetime& out);

}  // namespace aike::config
