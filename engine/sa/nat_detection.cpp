#include "engine/sa/nat_detection.hpp"

#include <openssl/evp.h>

namespace aike::sa {

bytes nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r, const endpoint& ep) {
  bytes in;
  put_u64(in, spi_i);
  put_u64(in, spi_r);
  append(in, ep.addr.view());
  put_u16(in, ep.port);
  bytes out(20);
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha1(), nullptr);
  out.resize(len);
  return out;
}

}  // namespace aike::sa
