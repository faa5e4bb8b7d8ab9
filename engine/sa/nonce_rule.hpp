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

// The two nonces of one rekey exchange (Ni, Nr in either order), the lower first.
struct exchange_nonces {
  bytes low, high;
  exchange_nonces() = default;
  exchange_nonces(const bytes& a, const bytes& b)
      : low(less_nonce(b, a) ? b : a), high(less_nonce(b, a) ? a : b) {}
};

// Of two colliding rekeys of the same SA, whether `ours` (the exchange we started) made the
// redundant SA rather than `peers` (the one the peer started). `we_started_ike_sa`: we are the
// original initiator of the IKE SA that both exchanges ran on (for an IKE SA rekey, the old SA).
//
// RFC 7296 only says "the lowest of the four nonces", which picks no exchange when that lowest
// value is in both (a peer may send a nonce it received, or a weak generator may repeat one).
// Both ends must still pick the SAME exchange, or both keep theirs (two SAs) or both delete
// theirs (none). So the rule is made total with inputs both ends share: the exchanges' sorted
// nonce pairs compare lexicographically (lowest nonce first, then the higher one, so for distinct
// lowest nonces this is exactly the RFC's rule); if even the pairs are equal, the exchange
// started by the IKE SA's original initiator made the redundant SA. Each end sees the same
// pairs and the same initiator from its own side, so the two answers are always complementary.
inline bool ours_is_redundant(const exchange_nonces& ours, const exchange_nonces& peers, bool we_started_ike_sa) {
  if (less_nonce(ours.low, peers.low)) return true;
  if (less_nonce(peers.low, ours.low)) return false;
  if (less_nonce(ours.high, peers.high)) return true;
  if (less_nonce(peers.high, ours.high)) return false;
  return we_started_ike_sa;
}

}  // namespace aike::sa
