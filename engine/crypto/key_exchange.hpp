// Diffie-Hellman key exchange for the KE payload (RFC 7296 §3.4, §2.14): MODP groups of
// RFC 3526, ECP groups of RFC 5903 and Curve25519/Curve448 of RFC 8031, via OpenSSL EVP_PKEY.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::crypto {

class key_exchange {
 public:
  // wire::ke ids 14, 15, 16, 18 (MODP 2048/3072/4096/8192), 19, 20, 21 (ECP 256/384/521),
  // 31 (Curve25519), 32 (Curve448).
  static bool supported(std::uint16_t group);
  // A fresh key pair. errc::unsupported for other groups.
  static result<std::unique_ptr<key_exchange>> create(std::uint16_t group);
  // A key pair from a known private value, for known-answer tests. MODP and ECP: a big-endian
  // integer (ECP: 1 <= d < order); X25519/X448: the raw 32/56-octet scalar (RFC 7748 §5).
  static result<std::unique_ptr<key_exchange>> create_with_private(std::uint16_t group, bytes_view priv);

  std::uint16_t group() const { return group_; }
  // Key Exchange Data of our KE payload. MODP: g^x, left-padded to the prime length (RFC 7296
  // §3.4); ECP: x || y without the 0x04 prefix (RFC 5903 §7); X25519/X448: raw 32/56 octets
  // (RFC 8031 §2).
  const bytes& public_value() const { return public_; }

  // The shared secret g^ir from the peer's Key Exchange Data. The peer value must have exactly
  // public_value().size() octets and is validated (RFC 6989): MODP 1 < y < p-1, ECP a point on
  // the curve, X25519/X448 a non-zero result (RFC 8031 §2). Invalid peer values give
  // errc::invalid_syntax. MODP secrets are padded to the prime length; ECP secrets are the x
  // coordinate (RFC 5903 §7).
  result<bytes> shared_secret(bytes_view peer_public) const;

  virtual ~key_exchange();
  key_exchange(const key_exchange&) = delete;
  key_exchange& operator=(const key_exchange&) = delete;

 protected:
  key_exchange(std::uint16_t group, bytes public_value) : group_(group), public_(std::move(public_value)) {}

 private:
  // Computes the secret from a peer value whose length was already checked.
  virtual result<bytes> derive(bytes_view peer_public) const = 0;

  std::uint16_t group_;
  bytes public_;
};

}  // namespace aike::crypto
