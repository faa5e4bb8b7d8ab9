#include "engine/crypto/random.hpp"

#include <algorithm>
#include <climits>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "engine/crypto/openssl_util.hpp"

namespace aike::crypto {

status random_fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    // RAND_bytes takes an int count.
    const std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      OPENSSL_cleanse(out.data(), out.size());
      return ossl::failure("RAND_bytes");
    }
    done += chunk;
  }
  return ok_v;
}

bytes random_bytes(std::size_t n) {
  bytes out(n);
  if (!random_fill(out)) return {};
  return out;
}

std::uint64_t random_u64() {
  std::uint8_t b[8];
  if (!random_fill(b)) return 0;
  return get_u64(b);
}

std::uint32_t random_u32() {
  std::uint8_t b[4];
  if (!random_fill(b)) return 0;
  return get_u32(b);
}

}  // namespace aike::crypto
