// From a negotiated ESP proposal (IKEv2 ENCR / INTEG / ESN transform ids and the Key Length
// attribute) to what the userspace ESP transform needs: the OpenSSL cipher and HMAC digest
// names and the sizes of key, salt, IV, ICV and payload alignment.
//
// Supported: AES-GCM with 8/12/16-octet ICV (RFC 4106) and AES-CBC (RFC 3602) with
// HMAC-SHA1-96 (RFC 2404) or HMAC-SHA2-256-128 / -384-192 / -512-256 (RFC 4868), AES keys of
// 128, 192 or 256 bits. Anything else is an error naming the transform.
#pragma once
#include <cstddef>
#include <string>

#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::kernel::esp {

struct esp_suite {
  bool aead = false;          // AES-GCM: no separate integrity algorithm
  std::string cipher;         // OpenSSL name: "AES-256-GCM", "AES-128-CBC"
  std::string digest;         // HMAC digest: "SHA2-256" (empty for AEAD)
  std::string label;          // for messages: "AES-GCM-16 (256 bits)", "AES-CBC (128) + HMAC-SHA2-256-128"
  std::size_t key_size = 0;   // cipher key octets (without the salt)
  std::size_t salt_size = 0;  // AES-GCM: 4 octets at the end of the encryption key
  std::size_t integ_key_size = 0;
  std::size_t iv_size = 0;    // explicit IV in every packet: 8 (GCM) or 16 (CBC)
  std::size_t icv_size = 0;
  std::size_t align = 0;      // the encrypted payload is a multiple of this: 4 (GCM) or 16 (CBC)
  bool esn = false;           // 64-bit sequence numbers (RFC 4303 §2.2.1)
};

// encr_key_bytes / integ_key_bytes are the sizes of the keys IKEv2 derived for the SA; a
// mismatch with the proposal is an error that says which key and both sizes.
result<esp_suite> map_esp_suite(const wire::proposal& p, std::size_t encr_key_bytes,
                                std::size_t integ_key_bytes);

}  // namespace aike::kernel::esp
