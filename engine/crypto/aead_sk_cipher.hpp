// SK payload protection with an AEAD: AES-GCM with 8/12/16-octet ICV (RFC 5282) and
// ChaCha20-Poly1305 (RFC 7634). SK_e is key || 4-octet salt; the nonce is
// salt || 8-octet explicit IV; the AAD is everything from the IKE header to the end of the SK
// generic header (RFC 5282).
#pragma once
#include <string>

#include "engine/crypto/algorithms.hpp"
#include "engine/crypto/openssl_util.hpp"
#include "engine/crypto/sk_cipher_base.hpp"

namespace aike::crypto {

class aead_sk_cipher final : public sk_cipher_base {
 public:
  // info from encr_algorithm() (must be an AEAD).
  static result<std::unique_ptr<sk_cipher>> create(std::uint16_t encr_id, const encr_info& info);

  std::size_t encr_key_size() const override { return info_.keymat_size(); }
  std::size_t integ_key_size() const override { return 0; }
  std::size_t iv_size() const override { return info_.iv_size; }
  std::size_t icv_size() const override { return info_.icv_size; }
  std::size_t block_size() const override { return info_.block_size; }
  bool is_aead() const override { return true; }

  result<bytes> seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv,
                            bytes_view padded) const override;
  result<bytes> open(const sk_keys& keys, bytes_view header, bytes_view body) const override;

 private:
  aead_sk_cipher(const encr_info& info, ossl::cipher_ptr cipher, std::string name)
      : info_(info), cipher_(std::move(cipher)), name_(std::move(name)) {}
  status check_key(const sk_keys& keys) const;
  bytes nonce(const sk_keys& keys, bytes_view iv) const;

  encr_info info_;
  ossl::cipher_ptr cipher_;
  std::string name_;  // for error messages
};

}  // namespace aike::crypto
