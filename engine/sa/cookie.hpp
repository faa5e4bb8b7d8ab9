// Stateless COOKIEs (RFC 7296 §2.6): a responder under load answers IKE_SA_INIT with a cookie
// it can recompute from the request alone, so no state is kept for spoofed initiators.
//   Cookie = VersionIDofSecret (1 octet) | SHA-256(Ni | IPi | SPIi | secret)
#pragma once
#include <cstdint>

#include "engine/common/bytes.hpp"
#include "engine/common/endpoint.hpp"

namespace aike::sa {

class cookie_jar {
 public:
  cookie_jar();
  bytes make(bytes_view ni, const ip_address& initiator, std::uint64_t spi_i) const;
  // Accepts cookies made with the current or the previous secret, so rotating does not
  // break initiators that are just retrying.
  bool check(bytes_view cookie, bytes_view ni, const ip_address& initiator, std::uint64_t spi_i) const;
  void rotate();  // new secret; call periodically

 private:
  bytes compute(std::uint8_t version, const bytes& secret, bytes_view ni, const ip_address& ip,
                std::uint64_t spi_i) const;
  std::uint8_t version_ = 0;
  bytes secret_, previous_;
};

}  // namespace aike::sa
