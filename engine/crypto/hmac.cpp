#include "engine/crypto/hmac.hpp"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <openssl/core_names.h>

namespace aike::crypto {

namespace {

// A zero-length key still needs a non-null pointer: EVP_MAC_init with a null key keeps the
// previous key (OpenSSL 3.0 "reinit").
constexpr unsigned char no_key = 0;
const unsigned char* key_ptr(bytes_view key) { return key.empty() ? &no_key : key.data(); }

// EVP_MAC objects are immutable and reference-counted: one for the process, shared by all threads.
const EVP_MAC* hmac_algorithm() {
  static const ossl::mac_ptr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac.get();
}

// A context with its digest set (fetched once, when the context is made) and keyed with the
// empty key whenever no session holds it.
struct digest_ctx {
  std::string digest;
  ossl::mac_ctx_ptr ctx;
  std::size_t size = 0;
  bool in_use = false;
};

result<std::unique_ptr<digest_ctx>> make_digest_ctx(const char* digest) {
  const EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return ossl::failure("HMAC: EVP_MAC_fetch");
  ossl::mac_ctx_ptr ctx(EVP_MAC_CTX_new(const_cast<EVP_MAC*>(mac)));
  if (!ctx) return ossl::failure("HMAC: EVP_MAC_CTX_new");
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), &no_key, 0, params) != 1)
    return ossl::failure(std::string("HMAC-") + digest + ": EVP_MAC_init");
  const std::size_t size = EVP_MAC_CTX_get_mac_size(ctx.get());
  if (size == 0) return ossl::failure(std::string("HMAC-") + digest + ": unknown MAC size");
  auto d = std::make_unique<digest_ctx>();
  d->digest = digest;
  d->ctx = std::move(ctx);
  d->size = size;
  return d;
}

// This thread's context for `digest`, made on first use. Entries never move (sessions keep a
// pointer to their flag) and live until the thread ends.
result<digest_ctx*> thread_digest_ctx(const char* digest) {
  thread_local std::vector<std::unique_ptr<digest_ctx>> cache;
  for (auto& d : cache)
    if (std::strcmp(d->digest.c_str(), digest) == 0) return d.get();
  auto made = make_digest_ctx(digest);
  if (!made) return made.err();
  cache.push_back(std::move(made).value());
  return cache.back().get();
}

}  // namespace

result<hmac> hmac::create(const char* digest, bytes_view key) {
  auto base = thread_digest_ctx(digest);
  if (!base) return base.err();
  // The copy carries the digest; setting the key replaces whatever key the original holds.
  ossl::mac_ctx_ptr ctx(EVP_MAC_CTX_dup((*base)->ctx.get()));
  if (!ctx) return ossl::failure("HMAC: EVP_MAC_CTX_dup");
  if (EVP_MAC_init(ctx.get(), key_ptr(key), key.size(), nullptr) != 1)
    return ossl::failure(std::string("HMAC-") + digest + ": EVP_MAC_init");
  return hmac(std::move(ctx), (*base)->size);
}

result<bytes> hmac::compute(std::initializer_list<bytes_view> parts) const {
  ossl::mac_ctx_ptr ctx(EVP_MAC_CTX_dup(keyed_.get()));
  if (!ctx) return ossl::failure("HMAC: EVP_MAC_CTX_dup");
  for (bytes_view p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1)
      return ossl::failure("HMAC: EVP_MAC_update");
  }
  bytes out(size_);
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != size_)
    return ossl::failure("HMAC: EVP_MAC_final");
  return out;
}

hmac_session::~hmac_session() {
  if (in_use_ == nullptr) return;  // own_ (if any) clears itself when freed
  // Forget the key: a later session or hmac::create must not find it in the cached context.
  if (EVP_MAC_init(ctx_, &no_key, 0, nullptr) != 1) ossl::clear_errors();
  *in_use_ = false;
}

status hmac_session::start(const char* digest, bytes_view key) {
  if (ctx_ != nullptr) return make_error(errc::invalid_argument, "HMAC: session already started");
  auto base = thread_digest_ctx(digest);
  if (!base) return base.err();
  digest_ctx& d = **base;
  if (!d.in_use) {
    if (EVP_MAC_init(d.ctx.get(), key_ptr(key), key.size(), nullptr) != 1) {
      // Whatever state the failed call left, the context goes back to the empty key.
      const error e = ossl::failure(std::string("HMAC-") + digest + ": EVP_MAC_init");
      if (EVP_MAC_init(d.ctx.get(), &no_key, 0, nullptr) != 1) ossl::clear_errors();
      return e;
    }
    d.in_use = true;
    in_use_ = &d.in_use;
    ctx_ = d.ctx.get();
  } else {
    own_.reset(EVP_MAC_CTX_dup(d.ctx.get()));
    if (!own_) return ossl::failure("HMAC: EVP_MAC_CTX_dup");
    if (EVP_MAC_init(own_.get(), key_ptr(key), key.size(), nullptr) != 1)
      return ossl::failure(std::string("HMAC-") + digest + ": EVP_MAC_init");
    ctx_ = own_.get();
  }
  size_ = d.size;
  fresh_ = true;
  return ok_v;
}

status hmac_session::compute(std::initializer_list<bytes_view> parts, std::uint8_t* out) {
  if (ctx_ == nullptr) return make_error(errc::invalid_argument, "HMAC: session not started");
  // A null key restarts from the keyed state without setting the key again.
  if (!fresh_ && EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) return ossl::failure("HMAC: EVP_MAC_init (restart)");
  fresh_ = false;
  for (bytes_view p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx_, p.data(), p.size()) != 1) return ossl::failure("HMAC: EVP_MAC_update");
  }
  std::size_t len = 0;
  if (EVP_MAC_final(ctx_, out, &len, size_) != 1 || len != size_) return ossl::failure("HMAC: EVP_MAC_final");
  return ok_v;
}

}  // namespace aike::crypto
