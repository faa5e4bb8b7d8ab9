// Pseudo-random functions (RFC 7296 §2.13, RFC 4868) through OpenSSL EVP_MAC.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::crypto {

class prf {
 public:
  // IANA PRF transform id (wire::prf::*): HMAC-SHA1, HMAC-SHA2-256/384/512.
  static result<prf> create(std::uint16_t transform_id);

  std::uint16_t id() const { return id_; }
  std::size_t output_size() const { return out_size_; }
  // Preferred key size (RFC 7296 §2.14: the PRF's key size for SK_d, SK_pi, SK_pr).
  std::size_t key_size() const { return out_size_; }

  // HMAC(key, data). Empty only if OpenSSL itself fails (e.g. out of memory).
  bytes compute(bytes_view key, bytes_view data) const;
  // prf+ (§2.13): T1 | T2 | ... truncated to `length`; at most 255 blocks.
  result<bytes> plus(bytes_view key, bytes_view seed, std::size_t length) const;

 private:
  prf(std::uint16_t id, const char* digest, std::size_t out) : id_(id), digest_(digest), out_size_(out) {}
  std::uint16_t id_;
  const char* digest_;
  std::size_t out_size_;
};

}  // namespace aike::crypto
