// Sizes of the IKE SA encryption and integrity transforms, so key derivation (RFC 7296 §2.14)
// knows how many octets of prf+ output each key takes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/common/result.hpp"

namespace aike::crypto {

struct encr_info {
  std::size_t key_size;    // cipher key octets
  std::size_t salt_size;   // extra key material for the nonce (RFC 5282, RFC 7634)
  std::size_t iv_size;     // explicit IV in each SK payload
  std::size_t icv_size;    // AEAD tag octets (0 for non-AEAD: the integrity transform has the ICV)
  std::size_t block_size;  // padding granularity of the encrypted data
  bool aead;
  // Octets of SK_e each direction takes: key || salt.
  std::size_t keymat_size() const { return key_size + salt_size; }
};

// encr_id: wire::encr; key_bits: the Key Length attribute (0 if absent). AES-CBC and AES-GCM
// need 128/192/256 (RFC 7296 §3.3.5: the attribute is mandatory for them); ChaCha20-Poly1305
// has a fixed 256-bit key and accepts 0 or 256.
result<encr_info> encr_algorithm(std::uint16_t encr_id, std::uint16_t key_bits);

struct integ_info {
  std::size_t key_size;
  std::size_t icv_size;  // truncated HMAC length on the wire
};

// integ_id: wire::integ. HMAC-SHA1-96 (RFC 2404), HMAC-SHA2-256-128/-384-192/-512-256
// (RFC 4868); wire::integ::none gives {0, 0} (the AEAD case).
result<integ_info> integ_algorithm(std::uint16_t integ_id);

// OpenSSL digest name behind an HMAC integrity transform; nullptr for none/unsupported.
const char* integ_digest_name(std::uint16_t integ_id);

}  // namespace aike::crypto
