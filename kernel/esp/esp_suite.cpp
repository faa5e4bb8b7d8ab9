#include "kernel/esp/esp_suite.hpp"

#include "engine/wire/constants.hpp"

namespace aike::kernel::esp {
namespace {

struct integ_entry {
  std::uint16_t id;
  const char* digest;
  const char* label;
  std::size_t key_size, icv_size;
};

// RFC 2404 (SHA-1, 96-bit ICV) and RFC 4868 (SHA-2, ICV half the digest, key = digest size).
constexpr integ_entry integs[] = {
    {wire::integ::hmac_sha1_96, "SHA1", "HMAC-SHA1-96", 20, 12},
    {wire::integ::hmac_sha2_256_128, "SHA2-256", "HMAC-SHA2-256-128", 32, 16},
    {wire::integ::hmac_sha2_384_192, "SHA2-384", "HMAC-SHA2-384-192", 48, 24},
    {wire::integ::hmac_sha2_512_256, "SHA2-512", "HMAC-SHA2-512-256", 64, 32},
};

std::string encr_name(std::uint16_t id) { return wire::transform_name(wire::transform_type::encr, id); }

std::string size_error(const std::string& what, std::size_t have, std::size_t want) {
  return "ESP " + what + " key is " + std::to_string(have) + " octets, " + std::to_string(want) + " expected";
}

}  // namespace

result<esp_suite> map_esp_suite(const wire::proposal& p, std::size_t encr_key_bytes,
                                std::size_t integ_key_bytes) {
  const wire::transform* encr = nullptr;
  const wire::transform* integ = nullptr;
  esp_suite s;
  for (const auto& t : p.transforms) {
    if (t.type == wire::transform_type::encr && !encr) encr = &t;
    if (t.type == wire::transform_type::integ && !integ && t.id != wire::integ::none) integ = &t;
    if (t.type == wire::transform_type::esn && t.id == wire::esn::yes) s.esn = true;
  }
  if (!encr) return make_error(errc::invalid_argument, "ESP proposal has no encryption transform");

  const bool gcm = encr->id == wire::encr::aes_gcm_8 || encr->id == wire::encr::aes_gcm_12 ||
                   encr->id == wire::encr::aes_gcm_16;
  if (!gcm && encr->id != wire::encr::aes_cbc)
    return make_error(errc::unsupported, "ESP encryption " + encr_name(encr->id) +
                                             " is not supported by the userspace data plane (AES-GCM and AES-CBC are)");
  const auto kl = encr->key_length();
  if (!kl) return make_error(errc::invalid_argument, "ESP encryption " + encr_name(encr->id) + " without a Key Length attribute");
  if (*kl != 128 && *kl != 192 && *kl != 256)
    return make_error(errc::invalid_argument, "ESP encryption " + encr_name(encr->id) + " with a key length of " +
                                                  std::to_string(*kl) + " bits (128, 192 or 256 expected)");
  s.key_size = *kl / 8;
  const std::string bits = std::to_string(*kl);

  if (gcm) {
    if (integ)
      return make_error(errc::invalid_argument, "ESP proposal combines the AEAD " + encr_name(encr->id) +
                                                    " with the integrity algorithm " +
                                                    wire::transform_name(wire::transform_type::integ, integ->id));
    s.aead = true;
    s.cipher = "AES-" + bits + "-GCM";
    s.salt_size = 4;  // RFC 4106 §8.1
    s.iv_size = 8;
    s.icv_size = encr->id == wire::encr::aes_gcm_8 ? 8 : encr->id == wire::encr::aes_gcm_12 ? 12 : 16;
    s.align = 4;
    s.label = "AES-GCM-" + std::to_string(s.icv_size) + " (" + bits + " bits)";
    if (encr_key_bytes != s.key_size + s.salt_size)
      return make_error(errc::invalid_argument,
                        size_error("encryption (" + s.label + ", key + 4-octet salt)", encr_key_bytes, s.key_size + 4));
    if (integ_key_bytes != 0)
      return make_error(errc::invalid_argument, size_error("integrity (none with " + s.label + ")", integ_key_bytes, 0));
    return s;
  }

  s.cipher = "AES-" + bits + "-CBC";
  s.iv_size = 16;
  s.align = 16;
  if (!integ) return make_error(errc::invalid_argument, "ESP encryption AES-CBC without an integrity algorithm is refused");
  const integ_entry* ie = nullptr;
  for (const auto& e : integs)
    if (e.id == integ->id) ie = &e;
  if (!ie)
    return make_error(errc::unsupported, std::string("ESP integrity ") +
                                             wire::transform_name(wire::transform_type::integ, integ->id) +
                                             " is not supported by the userspace data plane");
  s.digest = ie->digest;
  s.integ_key_size = ie->key_size;
  s.icv_size = ie->icv_size;
  s.label = "AES-CBC (" + bits + " bits) + " + ie->label;
  if (encr_key_bytes != s.key_size)
    return make_error(errc::invalid_argument, size_error("encryption (AES-CBC " + bits + " bits)", encr_key_bytes, s.key_size));
  if (integ_key_bytes != s.integ_key_size)
    return make_error(errc::invalid_argument, size_error(std::string("integrity (") + ie->label + ")", integ_key_bytes, s.integ_key_size));
  return s;
}

}  // namespace aike::kernel::esp
