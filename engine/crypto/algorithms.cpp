#include "engine/crypto/algorithms.hpp"

#include <string>

#include "engine/wire/constants.hpp"

namespace aike::crypto {

namespace {

bool aes_key_bits(std::uint16_t bits) { return bits == 128 || bits == 192 || bits == 256; }

error bad_key_length(const char* name, std::uint16_t bits) {
  return make_error(errc::invalid_argument,
                    std::string(name) + ": key length " + std::to_string(bits) + " bits is not 128, 192 or 256");
}

}  // namespace

result<encr_info> encr_algorithm(std::uint16_t encr_id, std::uint16_t key_bits) {
  switch (encr_id) {
    case wire::encr::aes_cbc:
      // RFC 3602: 16-octet IV and block.
      if (!aes_key_bits(key_bits)) return bad_key_length("ENCR_AES_CBC", key_bits);
      return encr_info{key_bits / 8u, 0, 16, 0, 16, false};
    case wire::encr::aes_gcm_8:
    case wire::encr::aes_gcm_12:
    case wire::encr::aes_gcm_16: {
      // RFC 5282: 4-octet salt after the key, 8-octet explicit IV, no block alignment.
      if (!aes_key_bits(key_bits)) return bad_key_length("ENCR_AES_GCM", key_bits);
      const std::size_t icv = encr_id == wire::encr::aes_gcm_8 ? 8 : encr_id == wire::encr::aes_gcm_12 ? 12 : 16;
      return encr_info{key_bits / 8u, 4, 8, icv, 1, true};
    }
    case wire::encr::chacha20_poly1305:
      // RFC 7634: 256-bit key + 4-octet salt, 8-octet IV, 16-octet tag.
      if (key_bits != 0 && key_bits != 256)
        return make_error(errc::invalid_argument,
                          "ENCR_CHACHA20_POLY1305: key length " + std::to_string(key_bits) + " bits is not 256");
      return encr_info{32, 4, 8, 16, 1, true};
    default:
      return make_error(errc::unsupported, "encryption transform " + std::to_string(encr_id) + " is not supported");
  }
}

result<integ_info> integ_algorithm(std::uint16_t integ_id) {
  switch (integ_id) {
    case wire::integ::none: return integ_info{0, 0};
    case wire::integ::hmac_sha1_96: return integ_info{20, 12};
    case wire::integ::hmac_sha2_256_128: return integ_info{32, 16};
    case wire::integ::hmac_sha2_384_192: return integ_info{48, 24};
    case wire::integ::hmac_sha2_512_256: return integ_info{64, 32};
    default:
      return make_error(errc::unsupported, "integrity transform " + std::to_string(integ_id) + " is not supported");
  }
}

const char* integ_digest_name(std::uint16_t integ_id) {
  switch (integ_id) {
    case wire::integ::hmac_sha1_96: return "SHA1";
    case wire::integ::hmac_sha2_256_128: return "SHA256";
    case wire::integ::hmac_sha2_384_192: return "SHA384";
    case wire::integ::hmac_sha2_512_256: return "SHA512";
    default: return nullptr;
  }
}

}  // namespace aike::crypto
