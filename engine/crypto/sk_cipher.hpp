// Protection of the SK payload (RFC 7296 §3.14): an AEAD (AES-GCM RFC 5282, ChaCha20-Poly1305
// RFC 7634) or AES-CBC with a separate HMAC integrity transform, all through OpenSSL EVP.
//
// The SK payload body is IV || ciphertext || ICV. The caller gives the bytes that precede the
// ciphertext in the message (for an AEAD the AAD is the IKE header and the SK generic header;
// for CBC+HMAC the ICV covers the whole message up to and including the ciphertext).
#pragma once
#include <cstdint>
#include <memory>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::crypto {

struct sk_keys {
  bytes encr;   // SK_ei or SK_er (for AEADs: key || salt)
  bytes integ;  // SK_ai or SK_ar (empty for AEADs)
};

class sk_cipher {
 public:
  virtual ~sk_cipher() = default;

  // encr_id / key_bits / integ_id from the negotiated proposal (wire::encr, wire::integ ids).
  // key_bits is 0 for ciphers with one fixed key size.
  static result<std::unique_ptr<sk_cipher>> create(std::uint16_t encr_id, std::uint16_t key_bits,
                                                   std::uint16_t integ_id);

  // Sizes needed for key derivation (§2.14): SK_e is encr_key_size() octets (AEAD: incl. salt),
  // SK_a is integ_key_size() octets (0 for AEADs).
  virtual std::size_t encr_key_size() const = 0;
  virtual std::size_t integ_key_size() const = 0;
  virtual std::size_t iv_size() const = 0;
  virtual std::size_t icv_size() const = 0;
  virtual std::size_t block_size() const = 0;  // padding granularity (1 for stream-like AEADs)
  virtual bool is_aead() const = 0;

  // Produces the SK payload body: IV || Encrypted(plaintext || padding || pad length) || ICV.
  // `header` is everything before the SK body in the final message (IKE header + SK generic
  // header, with final lengths already filled in). For CBC+HMAC the ICV is computed over
  // header || IV || ciphertext.
  virtual result<bytes> seal(const sk_keys& keys, bytes_view header, bytes_view plaintext) const = 0;
  // Reverses seal(): checks the ICV first, then decrypts and strips padding. Returns the
  // inner payload bytes, or errc::integrity_check_failed / errc::invalid_syntax.
  virtual result<bytes> open(const sk_keys& keys, bytes_view header, bytes_view body) const = 0;

  // --- test hooks (additive): known-answer tests need a fixed IV. Never use them to send
  // traffic: an IV repeated under the same key breaks AES-GCM and ChaCha20-Poly1305. ---

  // seal() with the caller's IV (iv_size() octets) instead of a fresh random one.
  virtual result<bytes> seal_with_iv(const sk_keys& keys, bytes_view header, bytes_view plaintext,
                                     bytes_view iv) const = 0;
  // Encrypts `padded` as is: it should already end in the Pad Length octet and must be a
  // multiple of block_size(). The Pad Length is not checked, so tests can also build
  // authenticated messages with bad padding. Returns IV || ciphertext || ICV, like seal().
  virtual result<bytes> seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv,
                                    bytes_view padded) const = 0;
};

}  // namespace aike::crypto
