// The strongSwan-style algorithm keywords ("aes256gcm16", "prfsha384", "x25519") and the
// transforms they stand for. Shared by the proposal parser and to_string().
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/wire/constants.hpp"

namespace aike::proposal {

struct keyword {
  std::string_view name;
  wire::transform_type type;
  std::uint16_t id;
  std::uint16_t key_bits;  // value of the Key Length attribute; 0 = the transform carries none
  // Empty when the engine implements the algorithm; otherwise why the keyword is refused.
  std::string_view unsupported_reason;
};

// The entry a (lower-case) keyword names, aliases included; nullptr if none.
const keyword* find_keyword(std::string_view name);

// The canonical keyword for a transform, or nullptr if there is none (unknown id, odd key length).
const keyword* keyword_for(wire::transform_type type, std::uint16_t id, std::uint16_t key_bits);

// Combined-mode (AEAD) ciphers carry their own integrity check: no integrity transform.
bool is_aead(std::uint16_t encr_id);

// The PRF that an integrity keyword implies in an IKE proposal with a non-AEAD cipher.
std::optional<std::uint16_t> prf_for_integ(std::uint16_t integ_id);

// The KE groups the engine implements, as a readable list ("modp2048 modp3072 ...").
std::string supported_groups_text();

}  // namespace aike::proposal
