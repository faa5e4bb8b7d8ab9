#include "engine/sa/cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace aike::sa {

static bytes fresh_secret() {
  bytes s(32);
  RAND_bytes(s.data(), static_cast<int>(s.size()));
  return s;
}

cookie_jar::cookie_jar() : secret_(fresh_secret()), previous_(secret_) {}

void cookie_jar::rotate() {
  previous_ = secret_;
  secret_ = fresh_secret();
  ++version_;
}

bytes cookie_jar::compute(std::uint8_t version, const bytes& secret, bytes_view ni,
                          const ip_address& ip, std::uint64_t spi_i) const {
  bytes in(ni.begin(), ni.end());
  append(in, ip.view());
  put_u64(in, spi_i);
  append(in, secret);
  bytes out(1 + 32);
  out[0] = version;
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), out.data() + 1, &len, EVP_sha256(), nullptr);
  out.resize(1 + len);
  return out;
}

bytes cookie_jar::make(bytes_view ni, const ip_address& initiator, std::uint64_t spi_i) const {
  return compute(version_, secret_, ni, initiator, spi_i);
}

bool cookie_jar::check(bytes_view cookie, bytes_view ni, const ip_address& initiator,
                       std::uint64_t spi_i) const {
  if (cookie.size() != 33) return false;
  const bytes* secret = cookie[0] == version_ ? &secret_
                        : cookie[0] == static_cast<std::uint8_t>(version_ - 1) ? &previous_
                                                                                : nullptr;
  if (!secret) return false;
  bytes expect = compute(cookie[0], *secret, ni, initiator, spi_i);
  return CRYPTO_memcmp(expect.data(), cookie.data(), expect.size()) == 0;
}

}  // namespace aike::sa
