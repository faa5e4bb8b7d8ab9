// SK payload protection with AES-CBC (RFC 3602) and a separate HMAC integrity transform:
// HMAC-SHA1-96 (RFC 2404) or HMAC-SHA2-256-128/-384-192/-512-256 (RFC 4868). The ICV is the
// truncated HMAC over the message from the IKE header through the ciphertext (RFC 7296 §3.14);
// it is verified, in constant time, before anything is decrypted.
#pragma once
#include <string>

#include "engine/crypto/algorithms.hpp"
#include "engine/crypto/openssl_util.hpp"
#include "engine/crypto/sk_cipher_base.hpp"

namespace aike::crypto {

class cbc_hmac_sk_cipher final : public sk_cipher_base {
 public:
  static result<std::unique_ptr<sk_cipher>> create(const encr_info& encr, std::uint16_t integ_id,
                                                   const integ_info& integ);

  std::size_t encr_key_size() const override { return encr_.key_size; }
  std::size_t integ_key_size() const override { return integ_.key_size; }
  std::size_t iv_size() const override { return encr_.iv_size; }
  std::size_t icv_size() const override { return integ_.icv_size; }
  std::size_t block_size() const override { return encr_.block_size; }
  bool is_aead() const override { return false; }

  result<bytes> seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv,
                            bytes_view padded) const override;
  result<bytes> open(const sk_keys& keys, bytes_view header, bytes_view body) const override;

 private:
  cbc_hmac_sk_cipher(const encr_info& encr, const integ_info& integ, const char* digest, ossl::cipher_ptr cipher,
                     std::string name)
      : encr_(encr), integ_(integ), digest_(digest), cipher_(std::move(cipher)), name_(std::move(name)) {}
  status check_keys(const sk_keys& keys) const;
  // Truncated HMAC(SK_a, header || IV || ciphertext).
  result<bytes> icv(const sk_keys& keys, bytes_view header, bytes_view iv_and_ciphertext) const;

  encr_info encr_;
  integ_info integ_;
  const char* digest_;
  ossl::cipher_ptr cipher_;
  std::string name_;  // for error messages, e.g. "AES-128-CBC/HMAC-SHA256"
};

}  // namespace aike::crypto
