// sk_cipher::create: picks the SK payload cipher for a negotiated IKE SA proposal.
#include "engine/crypto/sk_cipher.hpp"

#include <string>

#include "engine/crypto/aead_sk_cipher.hpp"
#include "engine/crypto/algorithms.hpp"
#include "engine/crypto/cbc_hmac_sk_cipher.hpp"
#include "engine/wire/constants.hpp"

namespace aike::crypto {

result<std::unique_ptr<sk_cipher>> sk_cipher::create(std::uint16_t encr_id, std::uint16_t key_bits,
                                                     std::uint16_t integ_id) {
  auto encr = encr_algorithm(encr_id, key_bits);
  if (!encr) return encr.err();
  if (encr->aead) {
    // RFC 7296 §3.3: with a combined-mode cipher the integrity transform is absent or NONE.
    if (integ_id != wire::integ::none)
      return make_error(errc::invalid_argument, "AEAD encryption transform " + std::to_string(encr_id) +
                                                    " combined with integrity transform " + std::to_string(integ_id));
    return aead_sk_cipher::create(encr_id, *encr);
  }
  auto integ = integ_algorithm(integ_id);
  if (!integ) return integ.err();
  return cbc_hmac_sk_cipher::create(*encr, integ_id, *integ);
}

}  // namespace aike::crypto
