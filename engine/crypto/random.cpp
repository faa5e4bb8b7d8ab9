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

status random_fill_public(std::span<std::uint8_t> out) {
  constexpr std::size_t block = 4096;
  struct pool {
    std::uint8_t data[block];
    std::size_t left = 0;  // unused octets at the end of data
    ~pool() { OPENSSL_cleanse(data, sizeof data); }
  };
  thread_local pool p;
  if (out.size() > block / 8) return random_fill(out);
  if (p.left < out.size()) {
    if (auto s = random_fill(p.data); !s) {
      p.left = 0;
      return s;
    }
    p.left = block;
  }
  const std::size_t at = block - p.left;
  std::copy_n(p.data + at, out.size(), out.data());
  OPENSSL_cleanse(p.data + at, out.size());  // each octet is handed out once
  p.left -= out.size();
  return ok_v;
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
