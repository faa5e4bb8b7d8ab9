// AUTH payloads made with signatures (RFC 7296 §3.8, RFC 4754, RFC 7427, RFC 8420).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/auth/keys.hpp"
#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::auth {

// What we put in our SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4): SHA2-256, SHA2-384,
// SHA2-512 and Identity (RFC 8420, the "hash" of Ed25519/Ed448).
std::vector<std::uint16_t> supported_hash_algorithms();
// Notify data: each algorithm as a 16-bit big-endian number.
bytes encode_hash_algorithms(const std::vector<std::uint16_t>& algs);
result<std::vector<std::uint16_t>> decode_hash_algorithms(bytes_view data);

struct sign_options {
  // Local policy: may we use method 14 (RFC 7427) when the peer supports it?
  bool use_rfc7427 = true;
  // The peer's SIGNATURE_HASH_ALGORITHMS; empty if it sent none.
  std::vector<std::uint16_t> peer_hashes;
  // With method 14 and an RSA key: RSASSA-PSS (true) or PKCS#1 v1.5 (false).
  bool prefer_pss_for_rsa = true;
};

// Signs `octets` (the §2.15 signed octets). With use_rfc7427 and a non-empty peer_hashes:
// method 14 with the strongest hash both sides support. Otherwise the legacy method of the
// key: RSA -> 1 (PKCS#1 v1.5, SHA-1), ECDSA P-256/384/521 -> 9/10/11 (r||s, RFC 4754).
// RSA-PSS, Ed25519 and Ed448 keys have no legacy method and always use method 14.
result<wire::auth_payload> sign(const private_key& key, bytes_view octets, const sign_options& opt);

// Verifies an AUTH payload made with a signature. The method must fit the key type; for
// method 14 the AlgorithmIdentifier must be one we know exactly. Every failure is
// errc::authentication_failed with a message naming the method and the key type.
status verify(const public_key& key, const wire::auth_payload& auth, bytes_view octets);

}  // namespace aike::auth
