// Small helpers shared by the auth files for talking to OpenSSL: owning pointers, error
// strings, DER output. Internal to engine/auth.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::auth::detail {

struct bio_free { void operator()(BIO* b) const { BIO_free(b); } };
struct md_ctx_free { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct x509_name_free { void operator()(X509_NAME* n) const { X509_NAME_free(n); } };
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using x509_name_ptr = std::unique_ptr<X509_NAME, x509_name_free>;

// Takes and clears OpenSSL's thread-local error queue, so a failure never leaks into the
// next, unrelated call. Returns "" when the queue was empty.
std::string take_openssl_errors();

// error{code, "<what>: <openssl reason>"}.
error openssl_error(errc code, std::string_view what);

// A read-only memory BIO over `text` (which must outlive the BIO).
bio_ptr memory_bio(std::string_view text);

// Runs an i2d_* function twice (size, then fill); empty on failure.
template <class T, class F>
bytes to_der(const T* obj, F i2d) {
  int len = i2d(obj, nullptr);
  if (len <= 0) return {};
  bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d(obj, &p) != len) return {};
  return out;
}

// One-shot message digest by OpenSSL name ("SHA1", "SHA256"); empty on failure.
bytes digest(const char* md_name, bytes_view data);

// Parses a DER X509_NAME, requiring that the whole input is consumed.
x509_name_ptr name_from_der(bytes_view der);

}  // namespace aike::auth::detail
