#include "kernel/xfrm_algorithms.hpp"

#include "engine/wire/constants.hpp"

namespace aike::kernel {
namespace {

struct cipher_entry {
  std::uint16_t id;
  const char* name;
  bool aead;
  unsigned salt_bytes;  // appended to the key (part of the kernel's key)
  unsigned icv_bits;    // AEAD only
  unsigned fixed_key_bits;  // 0 = taken from the Key Length attribute
};

// IKEv2 ENCR ids (RFC 7296, 4106, 4309, 4543, 3686, 7634) and their Linux names.
constexpr cipher_entry ciphers[] = {
    {wire::encr::aes_cbc, "cbc(aes)", false, 0, 0, 0},
    {wire::encr::des3, "cbc(des3_ede)", false, 0, 0, 192},
    {wire::encr::aes_ctr, "rfc3686(ctr(aes))", false, 4, 0, 0},
    {wire::encr::null, "ecb(cipher_null)", false, 0, 0, 0},
    {wire::encr::aes_gcm_8, "rfc4106(gcm(aes))", true, 4, 64, 0},
    {wire::encr::aes_gcm_12, "rfc4106(gcm(aes))", true, 4, 96, 0},
    {wire::encr::aes_gcm_16, "rfc4106(gcm(aes))", true, 4, 128, 0},
    {wire::encr::aes_ccm_8, "rfc4309(ccm(aes))", true, 3, 64, 0},
    {wire::encr::aes_ccm_12, "rfc4309(ccm(aes))", true, 3, 96, 0},
    {wire::encr::aes_ccm_16, "rfc4309(ccm(aes))", true, 3, 128, 0},
    {wire::encr::null_auth_aes_gmac, "rfc4543(gcm(aes))", true, 4, 128, 0},
    {wire::encr::chacha20_poly1305, "rfc7539esp(chacha20,poly1305)", true, 4, 128, 256},
};

struct integ_entry {
  std::uint16_t id;
  const char* name;
  unsigned key_bits, trunc_bits;
};

// IKEv2 INTEG ids (RFC 7296, 4868, 3566) and their Linux names with truncation lengths.
constexpr integ_entry integs[] = {
    {wire::integ::hmac_md5_96, "hmac(md5)", 128, 96},
    {wire::integ::hmac_sha1_96, "hmac(sha1)", 160, 96},
    {wire::integ::aes_xcbc_96, "xcbc(aes)", 128, 96},
    {wire::integ::hmac_sha2_256_128, "hmac(sha256)", 256, 128},
    {wire::integ::hmac_sha2_384_192, "hmac(sha384)", 384, 192},
    {wire::integ::hmac_sha2_512_256, "hmac(sha512)", 512, 256},
};

std::string size_mismatch(const char* what, std::size_t have, unsigned want_bits) {
  return std::string("ESP ") + what + " key is " + std::to_string(have) + " octets, the kernel algorithm needs " +
         std::to_string(want_bits / 8);
}

}  // namespace

result<xfrm_algorithms> map_esp_proposal(const wire::proposal& p, std::size_t encr_key_bytes,
                                         std::size_t integ_key_bytes) {
  const wire::transform* encr = nullptr;
  const wire::transform* integ = nullptr;
  xfrm_algorithms a;
  for (const auto& t : p.transforms) {
    if (t.type == wire::transform_type::encr && !encr) encr = &t;
    if (t.type == wire::transform_type::integ && !integ && t.id != wire::integ::none) integ = &t;
    if (t.type == wire::transform_type::esn && t.id == wire::esn::yes) a.esn = true;
  }
  if (!encr) return make_error(errc::invalid_argument, "ESP proposal has no encryption transform");

  const cipher_entry* c = nullptr;
  for (const auto& e : ciphers)
    if (e.id == encr->id) c = &e;
  if (!c)
    return make_error(errc::unsupported, std::string("ESP encryption ") +
                                             wire::transform_name(wire::transform_type::encr, encr->id) +
                                             " has no Linux XFRM algorithm");
  unsigned key_bits = c->fixed_key_bits;
  if (!key_bits) {
    if (encr->id == wire::encr::null) {
      key_bits = 0;
    } else if (auto kl = encr->key_length()) {
      key_bits = *kl;
    } else {
      return make_error(errc::invalid_argument, std::string("ESP encryption ") +
                                                    wire::transform_name(wire::transform_type::encr, encr->id) +
                                                    " without a Key Length attribute");
    }
  }
  unsigned total_bits = key_bits + c->salt_bytes * 8;
  if (encr_key_bytes * 8 != total_bits) return make_error(errc::invalid_argument, size_mismatch("encryption", encr_key_bytes, total_bits));

  if (c->aead) {
    if (integ)
      return make_error(errc::invalid_argument, std::string("ESP proposal combines the AEAD ") +
                                                    wire::transform_name(wire::transform_type::encr, encr->id) +
                                                    " with an integrity algorithm");
    a.aead = true;
    a.aead_name = c->name;
    a.aead_key_bits = total_bits;
    a.icv_bits = c->icv_bits;
    return a;
  }
  a.cipher_name = c->name;
  a.cipher_key_bits = total_bits;
  if (!integ) {
    if (encr->id == wire::encr::null)
      return make_error(errc::invalid_argument, "ESP with neither encryption nor integrity is refused");
    return make_error(errc::invalid_argument, std::string("ESP encryption ") +
                                                  wire::transform_name(wire::transform_type::encr, encr->id) +
                                                  " without an integrity algorithm is refused");
  }
  const integ_entry* i = nullptr;
  for (const auto& e : integs)
    if (e.id == integ->id) i = &e;
  if (!i)
    return make_error(errc::unsupported, std::string("ESP integrity ") +
                                             wire::transform_name(wire::transform_type::integ, integ->id) +
                                             " has no Linux XFRM algorithm");
  if (integ_key_bytes * 8 != i->key_bits) return make_error(errc::invalid_argument, size_mismatch("integrity", integ_key_bytes, i->key_bits));
  a.auth_name = i->name;
  a.auth_key_bits = i->key_bits;
  a.auth_trunc_bits = i->trunc_bits;
  return a;
}

}  // namespace aike::kernel
