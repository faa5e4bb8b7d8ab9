#include "engine/auth/psk.hpp"

#include <string_view>

#include <openssl/crypto.h>

namespace aike::auth {
namespace {
// 17 ASCII octets, no terminating NUL (RFC 7296 §2.15).
constexpr std::string_view k_key_pad = "Key Pad for IKEv2";
}  // namespace

bytes psk_auth(const crypto::prf& prf, bytes_view secret, bytes_view octets) {
  bytes pad_key = prf.compute(secret, bytes_view(reinterpret_cast<const std::uint8_t*>(k_key_pad.data()), k_key_pad.size()));
  if (pad_key.empty()) return {};
  bytes auth = prf.compute(pad_key, octets);
  wipe(pad_key);
  return auth;
}

bool psk_verify(const crypto::prf& prf, bytes_view secret, bytes_view octets, bytes_view received) {
  bytes expected = psk_auth(prf, secret, octets);
  bool ok = !expected.empty() && expected.size() == received.size() &&
            CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
  wipe(expected);
  return ok;
}

}  // namespace aike::auth
