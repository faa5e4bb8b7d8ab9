// The nonce rule of RFC 7296 §2.8.1 (CHILD_SA) and §2.8.2 (IKE SA): when both ends rekey the same
// SA at once, the new SA made by the exchange with the lowest of the four nonces is redundant
// and is deleted by the end that started that exchange. Nonces compare as octet strings
// (memcmp order; of two with an equal prefix, the shorter is lower).
#pragma once
#include <algorithm>

#include "engine/common/bytes.hpp"

namespace aike::sa {

inline bool less_nonce(const bytes& a, const bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

// The lower of an exchange's two nonces.
inline const bytes& lower_nonce(const bytes& a, const bytes& b) { return less_nonce(b, a) ? b : a; }

}  // namespace aike::sa
