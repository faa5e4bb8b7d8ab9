// Shared-key AUTH (RFC 7296 §2.15):
//   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets> )
#pragma once
#include "engine/common/bytes.hpp"
#include "engine/crypto/prf.hpp"

namespace aike::auth {

// The AUTH payload data for method 2 (shared key MIC). Empty only if OpenSSL fails.
bytes psk_auth(const crypto::prf& prf, bytes_view secret, bytes_view octets);

// Recomputes and compares in constant time. False also for an empty secret's failure case.
bool psk_verify(const crypto::prf& prf, bytes_view secret, bytes_view octets, bytes_view received);

}  // namespace aike::auth
