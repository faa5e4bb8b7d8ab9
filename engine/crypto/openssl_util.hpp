// Small helpers shared by the crypto layer: owning pointers for OpenSSL 3 objects and
// turning OpenSSL's error queue into an aike::error. Internal to engine/crypto.
#pragma once
#include <memory>
#include <string_view>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "engine/common/result.hpp"

namespace aike::crypto::ossl {

struct pkey_deleter { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct pkey_ctx_deleter { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct cipher_deleter { void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); } };
struct cipher_ctx_deleter { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };
struct mac_deleter { void operator()(EVP_MAC* p) const { EVP_MAC_free(p); } };
struct mac_ctx_deleter { void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); } };
// Big numbers may hold private keys: always clear them.
struct bn_deleter { void operator()(BIGNUM* p) const { BN_clear_free(p); } };

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
using cipher_ptr = std::unique_ptr<EVP_CIPHER, cipher_deleter>;
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;
using mac_ptr = std::unique_ptr<EVP_MAC, mac_deleter>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;

// errc::crypto_failure "<what>: <first OpenSSL error>", and clears the thread's error queue so
// a stale entry never shows up in a later, unrelated message.
error failure(std::string_view what);
// Same message text, but with a caller-chosen category (e.g. invalid_syntax for a peer value
// that OpenSSL refused to import).
error failure(errc code, std::string_view what);
// Discards queued OpenSSL errors after a failure the caller has already reported itself.
void clear_errors();

}  // namespace aike::crypto::ossl
