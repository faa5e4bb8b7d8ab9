// A keyed HMAC (RFC 2104) through EVP_MAC "HMAC": the building block of the PRFs (RFC 7296
// §2.13) and of the HMAC-SHA1/SHA2 integrity transforms (RFC 2404, RFC 4868).
#pragma once
#include <initializer_list>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/crypto/openssl_util.hpp"

namespace aike::crypto {

class hmac {
 public:
  // digest: an OpenSSL digest name ("SHA1", "SHA256", "SHA384", "SHA512"). Any key length is
  // allowed (HMAC hashes keys longer than the block size), including empty.
  static result<hmac> create(const char* digest, bytes_view key);

  std::size_t size() const { return size_; }
  // HMAC over the concatenation of `parts`. The keyed state is reused: each call works on a copy.
  result<bytes> compute(std::initializer_list<bytes_view> parts) const;

 private:
  hmac(ossl::mac_ctx_ptr ctx, std::size_t size) : keyed_(std::move(ctx)), size_(size) {}
  ossl::mac_ctx_ptr keyed_;
  std::size_t size_;
};

}  // namespace aike::crypto
