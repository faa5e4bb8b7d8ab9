// From a negotiated ESP proposal (IKEv2 transform ids and key lengths) to the names and sizes the
// Linux crypto API expects in an XFRM state: "rfc4106(gcm(aes))" with its ICV length, or
// "cbc(aes)" plus "hmac(sha256)" with its truncation length.
#pragma once
#include <cstddef>
#include <string>

#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::kernel {

struct xfrm_algorithms {
  bool aead = false;
  // AEAD: name, key length in bits (salt included, as the kernel wants it) and ICV length in bits.
  std::string aead_name;
  unsigned aead_key_bits = 0, icv_bits = 0;
  // Otherwise a cipher (possibly "ecb(cipher_null)") and an integrity algorithm.
  std::string cipher_name;
  unsigned cipher_key_bits = 0;
  std::string auth_name;  // empty: no integrity (only allowed with an AEAD)
  unsigned auth_key_bits = 0, auth_trunc_bits = 0;
  bool esn = false;
};

// encr_key_bytes / integ_key_bytes are the sizes of the derived keys (the encryption key
// includes any salt or nonce, RFC 4106 / 4309 / 3686 / 7634). A mismatch between the proposal
// and the key sizes, or a transform the kernel has no name for, is an error naming the transform.
result<xfrm_algorithms> map_esp_proposal(const wire::proposal& p, std::size_t encr_key_bytes,
                                         std::size_t integ_key_bytes);

}  // namespace aike::kernel
