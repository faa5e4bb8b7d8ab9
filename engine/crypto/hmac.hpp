// A keyed HMAC (RFC 2104) through EVP_MAC "HMAC": the building block of the PRFs (RFC 7296
// §2.13) and of the HMAC-SHA1/SHA2 integrity transforms (RFC 2404, RFC 4868).
//
// The EVP_MAC "HMAC" is fetched once per process, and each thread keeps one context per digest
// with the digest already set, so neither a new hmac nor an hmac_session looks a name up in
// OpenSSL's provider tables.
#pragma once
#include <cstdint>
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

// One key, several HMACs in a row, on this thread's cached context for the digest: no context
// is allocated or copied per HMAC (prf, prf+). Each compute() starts again from the keyed state.
// When the session ends, the context is re-keyed with the empty key, so the key does not stay
// behind in it. Lives on one thread; if a second session for the same digest runs on the thread
// while the first one is open, the second gets a context of its own.
class hmac_session {
 public:
  hmac_session() = default;
  hmac_session(const hmac_session&) = delete;
  hmac_session& operator=(const hmac_session&) = delete;
  ~hmac_session();

  // Sets digest and key (see hmac::create). Call once.
  status start(const char* digest, bytes_view key);
  std::size_t size() const { return size_; }
  // Writes HMAC(key, parts...) to out[0, size()).
  status compute(std::initializer_list<bytes_view> parts, std::uint8_t* out);

 private:
  EVP_MAC_CTX* ctx_ = nullptr;  // the thread's cached context, or own_
  ossl::mac_ctx_ptr own_;       // only when the cached one is taken by another session
  bool* in_use_ = nullptr;      // the cached context's flag, while this session holds it
  std::size_t size_ = 0;
  bool fresh_ = false;          // keyed and nothing absorbed since
};

}  // namespace aike::crypto
