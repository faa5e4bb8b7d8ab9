// What the two SK payload ciphers share (RFC 7296 §3.14): drawing the IV, padding the
// plaintext to the block size with the Pad Length octet, and removing that padding again.
// Internal to engine/crypto.
#pragma once
#include "engine/crypto/sk_cipher.hpp"

namespace aike::crypto {

class sk_cipher_base : public sk_cipher {
 public:
  result<bytes> seal(const sk_keys& keys, bytes_view header, bytes_view plaintext) const final;
  result<bytes> seal_with_iv(const sk_keys& keys, bytes_view header, bytes_view plaintext,
                             bytes_view iv) const final;
};

// plaintext || Padding (zeros) || Pad Length, the minimum that makes a multiple of block_size
// (§3.14 "SHOULD set the Pad Length to the minimum value"). block_size 1 gives Pad Length 0.
bytes pad_sk_plaintext(bytes_view plaintext, std::size_t block_size);
// Validates the Pad Length of decrypted data (any padding content is accepted) and returns the
// inner payloads. errc::invalid_syntax if the Pad Length does not fit.
result<bytes> strip_sk_padding(bytes_view decrypted);
// seal_padded() input check: non-empty and a multiple of block_size.
status check_padded(bytes_view padded, std::size_t block_size);

}  // namespace aike::crypto
