#include "engine/proposal/keywords.hpp"

namespace aike::proposal {

namespace {

using wire::transform_type;
constexpr auto E = transform_type::encr;
constexpr auto P = transform_type::prf;
constexpr auto I = transform_type::integ;
constexpr auto K = transform_type::ke;
constexpr auto S = transform_type::esn;

constexpr std::string_view weak_group = "group is too weak and not implemented";
constexpr std::string_view no_group = "group is not implemented";
constexpr std::string_view no_cipher = "cipher is not implemented";
constexpr std::string_view no_integ = "integrity algorithm is not implemented";
constexpr std::string_view no_prf = "PRF is not implemented";

// Within one (type, id, key length) the first entry is the canonical name that to_string()
// prints; later ones are accepted aliases.
constexpr keyword table[] = {
    // AES-CBC (RFC 3602), key length attribute mandatory.
    {"aes128", E, wire::encr::aes_cbc, 128, {}},
    {"aes192", E, wire::encr::aes_cbc, 192, {}},
    {"aes256", E, wire::encr::aes_cbc, 256, {}},
    {"aes", E, wire::encr::aes_cbc, 128, {}},
    // AES-GCM (RFC 4106 / RFC 5282) with 8, 12 and 16 octet ICVs; also in bits.
    {"aes128gcm8", E, wire::encr::aes_gcm_8, 128, {}},
    {"aes192gcm8", E, wire::encr::aes_gcm_8, 192, {}},
    {"aes256gcm8", E, wire::encr::aes_gcm_8, 256, {}},
    {"aes128gcm12", E, wire::encr::aes_gcm_12, 128, {}},
    {"aes192gcm12", E, wire::encr::aes_gcm_12, 192, {}},
    {"aes256gcm12", E, wire::encr::aes_gcm_12, 256, {}},
    {"aes128gcm16", E, wire::encr::aes_gcm_16, 128, {}},
    {"aes192gcm16", E, wire::encr::aes_gcm_16, 192, {}},
    {"aes256gcm16", E, wire::encr::aes_gcm_16, 256, {}},
    {"aes128gcm64", E, wire::encr::aes_gcm_8, 128, {}},
    {"aes192gcm64", E, wire::encr::aes_gcm_8, 192, {}},
    {"aes256gcm64", E, wire::encr::aes_gcm_8, 256, {}},
    {"aes128gcm96", E, wire::encr::aes_gcm_12, 128, {}},
    {"aes192gcm96", E, wire::encr::aes_gcm_12, 192, {}},
    {"aes256gcm96", E, wire::encr::aes_gcm_12, 256, {}},
    {"aes128gcm128", E, wire::encr::aes_gcm_16, 128, {}},
    {"aes192gcm128", E, wire::encr::aes_gcm_16, 192, {}},
    {"aes256gcm128", E, wire::encr::aes_gcm_16, 256, {}},
    {"aes128gcm", E, wire::encr::aes_gcm_16, 128, {}},
    {"aes192gcm", E, wire::encr::aes_gcm_16, 192, {}},
    {"aes256gcm", E, wire::encr::aes_gcm_16, 256, {}},
    // ChaCha20-Poly1305 (RFC 7634): fixed 256-bit key, no Key Length attribute.
    {"chacha20poly1305", E, wire::encr::chacha20_poly1305, 0, {}},
    // Known ciphers the engine does not implement: named so the error can say so.
    {"3des", E, wire::encr::des3, 0, no_cipher},
    {"null", E, wire::encr::null, 0, no_cipher},
    {"aes128ctr", E, wire::encr::aes_ctr, 128, no_cipher},
    {"aes192ctr", E, wire::encr::aes_ctr, 192, no_cipher},
    {"aes256ctr", E, wire::encr::aes_ctr, 256, no_cipher},
    {"aes128ccm8", E, wire::encr::aes_ccm_8, 128, no_cipher},
    {"aes256ccm8", E, wire::encr::aes_ccm_8, 256, no_cipher},
    {"aes128ccm12", E, wire::encr::aes_ccm_12, 128, no_cipher},
    {"aes256ccm12", E, wire::encr::aes_ccm_12, 256, no_cipher},
    {"aes128ccm16", E, wire::encr::aes_ccm_16, 128, no_cipher},
    {"aes256ccm16", E, wire::encr::aes_ccm_16, 256, no_cipher},
    {"aes128gmac", E, wire::encr::null_auth_aes_gmac, 128, no_cipher},
    {"aes256gmac", E, wire::encr::null_auth_aes_gmac, 256, no_cipher},
    // Integrity (RFC 2404, RFC 4868).
    {"sha1", I, wire::integ::hmac_sha1_96, 0, {}},
    {"sha", I, wire::integ::hmac_sha1_96, 0, {}},
    {"sha256", I, wire::integ::hmac_sha2_256_128, 0, {}},
    {"sha2_256", I, wire::integ::hmac_sha2_256_128, 0, {}},
    {"sha384", I, wire::integ::hmac_sha2_384_192, 0, {}},
    {"sha2_384", I, wire::integ::hmac_sha2_384_192, 0, {}},
    {"sha512", I, wire::integ::hmac_sha2_512_256, 0, {}},
    {"sha2_512", I, wire::integ::hmac_sha2_512_256, 0, {}},
    {"md5", I, wire::integ::hmac_md5_96, 0, no_integ},
    {"aesxcbc", I, wire::integ::aes_xcbc_96, 0, no_integ},
    // PRFs (RFC 2104 HMAC, RFC 4868).
    {"prfsha1", P, wire::prf::hmac_sha1, 0, {}},
    {"prfsha256", P, wire::prf::hmac_sha2_256, 0, {}},
    {"prfsha384", P, wire::prf::hmac_sha2_384, 0, {}},
    {"prfsha512", P, wire::prf::hmac_sha2_512, 0, {}},
    {"prfmd5", P, wire::prf::hmac_md5, 0, no_prf},
    {"prfaesxcbc", P, wire::prf::aes128_xcbc, 0, no_prf},
    {"prfaescmac", P, wire::prf::aes128_cmac, 0, no_prf},
    // Key exchange groups (RFC 3526, RFC 5903, RFC 8031).
    {"modp2048", K, wire::ke::modp2048, 0, {}},
    {"modp3072", K, wire::ke::modp3072, 0, {}},
    {"modp4096", K, wire::ke::modp4096, 0, {}},
    {"modp8192", K, wire::ke::modp8192, 0, {}},
    {"ecp256", K, wire::ke::ecp256, 0, {}},
    {"ecp384", K, wire::ke::ecp384, 0, {}},
    {"ecp521", K, wire::ke::ecp521, 0, {}},
    {"x25519", K, wire::ke::curve25519, 0, {}},
    {"curve25519", K, wire::ke::curve25519, 0, {}},
    {"x448", K, wire::ke::curve448, 0, {}},
    {"curve448", K, wire::ke::curve448, 0, {}},
    {"modp1024", K, wire::ke::modp1024, 0, weak_group},
    {"modp1536", K, wire::ke::modp1536, 0, weak_group},
    {"modp6144", K, wire::ke::modp6144, 0, no_group},
    // Extended Sequence Numbers (ESP only).
    {"esn", S, wire::esn::yes, 0, {}},
    {"noesn", S, wire::esn::no, 0, {}},
};

}  // namespace

const keyword* find_keyword(std::string_view name) {
  for (const auto& k : table)
    if (k.name == name) return &k;
  return nullptr;
}

const keyword* keyword_for(wire::transform_type type, std::uint16_t id, std::uint16_t key_bits) {
  for (const auto& k : table)
    if (k.type == type && k.id == id && k.key_bits == key_bits) return &k;
  return nullptr;
}

bool is_aead(std::uint16_t encr_id) {
  switch (encr_id) {
    case wire::encr::aes_ccm_8:
    case wire::encr::aes_ccm_12:
    case wire::encr::aes_ccm_16:
    case wire::encr::aes_gcm_8:
    case wire::encr::aes_gcm_12:
    case wire::encr::aes_gcm_16:
    case wire::encr::null_auth_aes_gmac:
    case wire::encr::chacha20_poly1305:
      return true;
  }
  return false;
}

std::optional<std::uint16_t> prf_for_integ(std::uint16_t integ_id) {
  switch (integ_id) {
    case wire::integ::hmac_sha1_96: return wire::prf::hmac_sha1;
    case wire::integ::hmac_sha2_256_128: return wire::prf::hmac_sha2_256;
    case wire::integ::hmac_sha2_384_192: return wire::prf::hmac_sha2_384;
    case wire::integ::hmac_sha2_512_256: return wire::prf::hmac_sha2_512;
    case wire::integ::hmac_md5_96: return wire::prf::hmac_md5;
    case wire::integ::aes_xcbc_96: return wire::prf::aes128_xcbc;
  }
  return std::nullopt;
}

std::string supported_groups_text() {
  std::string out;
  std::uint16_t last = 0;
  for (const auto& k : table) {
    if (k.type != K || !k.unsupported_reason.empty() || k.id == last) continue;
    if (!out.empty()) out += ' ';
    out += k.name;
    last = k.id;
  }
  return out;
}

}  // namespace aike::proposal
