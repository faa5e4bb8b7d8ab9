#include "engine/crypto/hmac.hpp"

#include <string>

#include <openssl/core_names.h>

namespace aike::crypto {

result<hmac> hmac::create(const char* digest, bytes_view key) {
  ossl::mac_ptr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return ossl::failure("HMAC: EVP_MAC_fetch");
  ossl::mac_ctx_ptr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return ossl::failure("HMAC: EVP_MAC_CTX_new");
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  // A zero-length key still needs a non-null pointer, or EVP_MAC_init keeps the previous key.
  static constexpr unsigned char no_key = 0;
  const unsigned char* k = key.empty() ? &no_key : key.data();
  if (EVP_MAC_init(ctx.get(), k, key.size(), params) != 1)
    return ossl::failure(std::string("HMAC-") + digest + ": EVP_MAC_init");
  const std::size_t size = EVP_MAC_CTX_get_mac_size(ctx.get());
  if (size == 0) return ossl::failure(std::string("HMAC-") + digest + ": unknown MAC size");
  return hmac(std::move(ctx), size);
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

}  // namespace aike::crypto
