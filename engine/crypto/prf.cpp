// RFC 7296 §2.13 (prf, prf+) with the HMAC PRFs of RFC 2104 / RFC 4868.
#include "engine/crypto/prf.hpp"

#include <string>

#include <openssl/crypto.h>

#include "engine/crypto/hmac.hpp"
#include "engine/wire/constants.hpp"

namespace aike::crypto {

result<prf> prf::create(std::uint16_t transform_id) {
  switch (transform_id) {
    case wire::prf::hmac_sha1: return prf(transform_id, "SHA1", 20);
    case wire::prf::hmac_sha2_256: return prf(transform_id, "SHA256", 32);
    case wire::prf::hmac_sha2_384: return prf(transform_id, "SHA384", 48);
    case wire::prf::hmac_sha2_512: return prf(transform_id, "SHA512", 64);
    default:
      return make_error(errc::unsupported, "PRF transform " + std::to_string(transform_id) + " is not supported");
  }
}

bytes prf::compute(bytes_view key, bytes_view data) const {
  hmac_session mac;
  if (!mac.start(digest_, key)) return {};
  bytes out(out_size_);
  if (mac.size() != out_size_ || !mac.compute({data}, out.data())) return {};
  return out;
}

result<bytes> prf::plus(bytes_view key, bytes_view seed, std::size_t length) const {
  // T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); the counter is one octet, hence 255 blocks.
  const std::size_t blocks = (length + out_size_ - 1) / out_size_;
  if (blocks > 255)
    return make_error(errc::invalid_argument, "prf+: " + std::to_string(length) + " octets need " +
                                                  std::to_string(blocks) + " blocks, more than 255");
  bytes out;
  if (blocks == 0) return out;
  hmac_session mac;  // keyed once; each block restarts from the keyed state
  if (auto s = mac.start(digest_, key); !s) return s.err();
  if (mac.size() != out_size_) return make_error(errc::crypto_failure, "prf+: unexpected HMAC size");
  // Each block goes straight into `out`; T(n-1) is read from there.
  out.resize(blocks * out_size_);
  for (std::size_t n = 1; n <= blocks; ++n) {
    const std::uint8_t counter = static_cast<std::uint8_t>(n);
    std::uint8_t* block = out.data() + (n - 1) * out_size_;
    const bytes_view prev = n == 1 ? bytes_view() : bytes_view(block - out_size_, out_size_);
    if (auto s = mac.compute({prev, seed, bytes_view(&counter, 1)}, block); !s) {
      wipe(out);
      return s.err();
    }
  }
  // Shrinking does not reallocate, so the cut-off tail is cleared in place first.
  OPENSSL_cleanse(out.data() + length, out.size() - length);
  out.resize(length);
  return out;
}

}  // namespace aike::crypto
