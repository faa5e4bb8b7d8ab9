#include "engine/auth/signature_auth.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <string>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "engine/auth/openssl_util.hpp"

namespace aike::auth {
namespace {

// --- RFC 7427 AlgorithmIdentifiers ---------------------------------------------

template <std::size_t N>
consteval std::array<std::uint8_t, (N - 1) / 2> hex_bytes(const char (&s)[N]) {
  static_assert(N % 2 == 1, "hex literal must have an even number of digits");
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    throw "bad hex digit";  // a compile-time error in a consteval context
  };
  std::array<std::uint8_t, (N - 1) / 2> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
  return out;
}

// RFC 7427 Appendix A.1: sha{256,384,512}WithRSAEncryption with NULL parameters.
constexpr auto k_rsa_sha256 = hex_bytes("300d06092a864886f70d01010b0500");
constexpr auto k_rsa_sha384 = hex_bytes("300d06092a864886f70d01010c0500");
constexpr auto k_rsa_sha512 = hex_bytes("300d06092a864886f70d01010d0500");
// RFC 7427 Appendix A.3: ecdsa-with-SHA{256,384,512}, parameters absent.
constexpr auto k_ecdsa_sha256 = hex_bytes("300a06082a8648ce3d040302");
constexpr auto k_ecdsa_sha384 = hex_bytes("300a06082a8648ce3d040303");
constexpr auto k_ecdsa_sha512 = hex_bytes("300a06082a8648ce3d040304");
// RFC 8420 §2 / RFC 8410: id-Ed25519 and id-Ed448, parameters absent.
constexpr auto k_ed25519 = hex_bytes("300506032b6570");
constexpr auto k_ed448 = hex_bytes("300506032b6571");
// RFC 7427 Appendix A.4.3: id-RSASSA-PSS with hashAlgorithm SHA-256 (NULL params),
// maskGenAlgorithm MGF1(SHA-256), saltLength 32 and an explicit trailerField 1. The SHA-384
// and SHA-512 forms follow the same layout (salt = hash length); they are what we send.
constexpr auto k_pss_sha256 = hex_bytes(
    "3046" "06092a864886f70d01010a" "3039"
    "a00f" "300d" "0609608648016503040201" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040201" "0500"
    "a203" "020120"
    "a303" "020101");
constexpr auto k_pss_sha384 = hex_bytes(
    "3046" "06092a864886f70d01010a" "3039"
    "a00f" "300d" "0609608648016503040202" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040202" "0500"
    "a203" "020130"
    "a303" "020101");
constexpr auto k_pss_sha512 = hex_bytes(
    "3046" "06092a864886f70d01010a" "3039"
    "a00f" "300d" "0609608648016503040203" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040203" "0500"
    "a203" "020140"
    "a303" "020101");
// The same without the trailerField, which strict DER omits because 1 is its DEFAULT;
// accepted from peers, never sent.
constexpr auto k_pss_sha256_der = hex_bytes(
    "3041" "06092a864886f70d01010a" "3034"
    "a00f" "300d" "0609608648016503040201" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040201" "0500"
    "a203" "020120");
constexpr auto k_pss_sha384_der = hex_bytes(
    "3041" "06092a864886f70d01010a" "3034"
    "a00f" "300d" "0609608648016503040202" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040202" "0500"
    "a203" "020130");
constexpr auto k_pss_sha512_der = hex_bytes(
    "3041" "06092a864886f70d01010a" "3034"
    "a00f" "300d" "0609608648016503040203" "0500"
    "a11c" "301a" "06092a864886f70d010108" "300d" "0609608648016503040203" "0500"
    "a203" "020140");

enum class family { rsa_pkcs1, rsa_pss, ecdsa, ed25519, ed448 };

struct scheme {
  const char* name;
  std::span<const std::uint8_t> alg_id;
  family fam;
  std::uint16_t hash;  // wire::hash_alg
  bool sent;           // false: accepted on receipt only
};

constexpr scheme k_schemes[] = {
    {"sha256WithRSAEncryption", k_rsa_sha256, family::rsa_pkcs1, wire::hash_alg::sha2_256, true},
    {"sha384WithRSAEncryption", k_rsa_sha384, family::rsa_pkcs1, wire::hash_alg::sha2_384, true},
    {"sha512WithRSAEncryption", k_rsa_sha512, family::rsa_pkcs1, wire::hash_alg::sha2_512, true},
    {"RSASSA-PSS SHA-256", k_pss_sha256, family::rsa_pss, wire::hash_alg::sha2_256, true},
    {"RSASSA-PSS SHA-384", k_pss_sha384, family::rsa_pss, wire::hash_alg::sha2_384, true},
    {"RSASSA-PSS SHA-512", k_pss_sha512, family::rsa_pss, wire::hash_alg::sha2_512, true},
    {"RSASSA-PSS SHA-256", k_pss_sha256_der, family::rsa_pss, wire::hash_alg::sha2_256, false},
    {"RSASSA-PSS SHA-384", k_pss_sha384_der, family::rsa_pss, wire::hash_alg::sha2_384, false},
    {"RSASSA-PSS SHA-512", k_pss_sha512_der, family::rsa_pss, wire::hash_alg::sha2_512, false},
    {"ecdsa-with-SHA256", k_ecdsa_sha256, family::ecdsa, wire::hash_alg::sha2_256, true},
    {"ecdsa-with-SHA384", k_ecdsa_sha384, family::ecdsa, wire::hash_alg::sha2_384, true},
    {"ecdsa-with-SHA512", k_ecdsa_sha512, family::ecdsa, wire::hash_alg::sha2_512, true},
    {"Ed25519", k_ed25519, family::ed25519, wire::hash_alg::identity, true},
    {"Ed448", k_ed448, family::ed448, wire::hash_alg::identity, true},
};

const scheme* find_sent_scheme(family f, std::uint16_t hash) {
  for (const scheme& s : k_schemes)
    if (s.sent && s.fam == f && s.hash == hash) return &s;
  return nullptr;
}

const scheme* find_scheme(bytes_view alg_id) {
  for (const scheme& s : k_schemes)
    if (std::ranges::equal(s.alg_id, alg_id)) return &s;
  return nullptr;
}

bool is_ecdsa(key_type t) {
  return t == key_type::ecdsa_p256 || t == key_type::ecdsa_p384 || t == key_type::ecdsa_p521;
}

bool fits(family f, key_type t) {
  switch (f) {
    case family::rsa_pkcs1: return t == key_type::rsa;
    case family::rsa_pss: return t == key_type::rsa || t == key_type::rsa_pss;
    case family::ecdsa: return is_ecdsa(t);
    case family::ed25519: return t == key_type::ed25519;
    case family::ed448: return t == key_type::ed448;
  }
  return false;
}

const char* md_name(std::uint16_t hash) {
  switch (hash) {
    case wire::hash_alg::sha1: return "SHA1";
    case wire::hash_alg::sha2_256: return "SHA256";
    case wire::hash_alg::sha2_384: return "SHA384";
    case wire::hash_alg::sha2_512: return "SHA512";
    default: return nullptr;  // identity: EdDSA signs the message itself
  }
}

// --- OpenSSL signing and verifying ---------------------------------------------

enum class padding { none, pkcs1, pss };

result<bytes> evp_sign(EVP_PKEY* key, const char* md, padding pad, bytes_view msg) {
  detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) != 1)
    return detail::openssl_error(errc::crypto_failure, "sign: EVP_DigestSignInit failed");
  if (pad == padding::pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
    return detail::openssl_error(errc::crypto_failure, "sign: cannot select PKCS#1 v1.5 padding");
  if (pad == padding::pss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, nullptr) != 1))
    return detail::openssl_error(errc::crypto_failure, "sign: cannot set RSASSA-PSS parameters");
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) != 1)
    return detail::openssl_error(errc::crypto_failure, "sign: EVP_DigestSign (size) failed");
  bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1)
    return detail::openssl_error(errc::crypto_failure, "sign: EVP_DigestSign failed");
  sig.resize(len);
  return sig;
}

// 1: valid; 0: not valid; error: OpenSSL could not even try.
result<bool> evp_verify(EVP_PKEY* key, const char* md, padding pad, bytes_view msg, bytes_view sig) {
  detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) != 1)
    return detail::openssl_error(errc::authentication_failed, "EVP_DigestVerifyInit failed");
  if (pad == padding::pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
    return detail::openssl_error(errc::authentication_failed, "cannot select PKCS#1 v1.5 padding");
  if (pad == padding::pss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, nullptr) != 1))
    return detail::openssl_error(errc::authentication_failed, "cannot set RSASSA-PSS parameters");
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size());
  detail::take_openssl_errors();  // a bad signature leaves reasons in the queue
  return rc == 1;
}

// --- ECDSA signature formats (RFC 4754 §7: r || s, each the size of the curve) --

struct ecdsa_sig_free {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_free>;

std::size_t coordinate_size(key_type t) {
  switch (t) {
    case key_type::ecdsa_p256: return 32;
    case key_type::ecdsa_p384: return 48;
    case key_type::ecdsa_p521: return 66;
    default: return 0;
  }
}

result<bytes> ecdsa_der_to_raw(bytes_view der, std::size_t n) {
  const unsigned char* p = der.data();
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return detail::openssl_error(errc::crypto_failure, "sign: ECDSA signature does not decode");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  bytes out(2 * n);
  if (BN_bn2binpad(r, out.data(), static_cast<int>(n)) < 0 || BN_bn2binpad(s, out.data() + n, static_cast<int>(n)) < 0)
    return detail::openssl_error(errc::crypto_failure, "sign: ECDSA r or s larger than the curve");
  return out;
}

result<bytes> ecdsa_raw_to_der(bytes_view raw) {
  std::size_t n = raw.size() / 2;
  ecdsa_sig_ptr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return detail::openssl_error(errc::authentication_failed, "ECDSA r||s cannot be converted");
  }
  bytes der = detail::to_der(sig.get(), i2d_ECDSA_SIG);
  if (der.empty()) return detail::openssl_error(errc::authentication_failed, "ECDSA signature cannot be encoded");
  return der;
}

// --- helpers for method selection and messages ------------------------------------

wire::auth_method legacy_ecdsa_method(key_type t) {
  switch (t) {
    case key_type::ecdsa_p384: return wire::auth_method::ecdsa_sha384_p384;
    case key_type::ecdsa_p521: return wire::auth_method::ecdsa_sha512_p521;
    default: return wire::auth_method::ecdsa_sha256_p256;
  }
}

std::uint16_t legacy_ecdsa_hash(key_type t) {
  switch (t) {
    case key_type::ecdsa_p384: return wire::hash_alg::sha2_384;
    case key_type::ecdsa_p521: return wire::hash_alg::sha2_512;
    default: return wire::hash_alg::sha2_256;
  }
}

std::string method_name(wire::auth_method m) {
  switch (m) {
    case wire::auth_method::rsa_sig: return "method 1 (RSA digital signature)";
    case wire::auth_method::psk: return "method 2 (shared key MIC)";
    case wire::auth_method::dss_sig: return "method 3 (DSS digital signature)";
    case wire::auth_method::ecdsa_sha256_p256: return "method 9 (ECDSA SHA-256 P-256)";
    case wire::auth_method::ecdsa_sha384_p384: return "method 10 (ECDSA SHA-384 P-384)";
    case wire::auth_method::ecdsa_sha512_p521: return "method 11 (ECDSA SHA-512 P-521)";
    case wire::auth_method::digital_signature: return "method 14 (digital signature)";
  }
  return "method " + std::to_string(static_cast<int>(m));
}

std::string hashes_to_string(const std::vector<std::uint16_t>& h) {
  std::string s;
  for (std::uint16_t v : h) s += (s.empty() ? "" : ",") + std::to_string(v);
  return "[" + s + "]";
}

bool contains(const std::vector<std::uint16_t>& v, std::uint16_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

result<wire::auth_payload> sign_rfc7427(const private_key& key, bytes_view octets, const sign_options& opt) {
  const key_type t = key.type();
  const scheme* sch = nullptr;
  if (t == key_type::ed25519 || t == key_type::ed448) {
    if (!opt.peer_hashes.empty() && !contains(opt.peer_hashes, wire::hash_alg::identity))
      return make_error(errc::unsupported, std::string("sign: ") + name_of(t) +
                                               " needs the Identity hash (RFC 8420), peer announced only " +
                                               hashes_to_string(opt.peer_hashes));
    sch = find_sent_scheme(t == key_type::ed25519 ? family::ed25519 : family::ed448, wire::hash_alg::identity);
  } else {
    family f = is_ecdsa(t) ? family::ecdsa
               : (t == key_type::rsa_pss || opt.prefer_pss_for_rsa) ? family::rsa_pss
                                                                    : family::rsa_pkcs1;
    // Strongest first. A peer that announced nothing only reaches here with an RSA-PSS key,
    // which has no other method: SHA-256 is the RFC 8247 MUST.
    for (std::uint16_t h : {wire::hash_alg::sha2_512, wire::hash_alg::sha2_384, wire::hash_alg::sha2_256}) {
      if (opt.peer_hashes.empty() ? h == wire::hash_alg::sha2_256 : contains(opt.peer_hashes, h)) {
        sch = find_sent_scheme(f, h);
        break;
      }
    }
    if (!sch)
      return make_error(errc::unsupported, std::string("sign: no signature hash in common for a ") + name_of(t) +
                                               " key: peer announced " + hashes_to_string(opt.peer_hashes) +
                                               ", we support [2,3,4]");
  }
  if (!sch) return make_error(errc::unsupported, std::string("sign: no RFC 7427 scheme for ") + name_of(t));

  padding pad = sch->fam == family::rsa_pss ? padding::pss : sch->fam == family::rsa_pkcs1 ? padding::pkcs1 : padding::none;
  auto sig = evp_sign(key.get(), md_name(sch->hash), pad, octets);
  if (!sig) return sig.err();
  wire::auth_payload out;
  out.method = wire::auth_method::digital_signature;
  out.data.reserve(1 + sch->alg_id.size() + sig->size());
  out.data.push_back(static_cast<std::uint8_t>(sch->alg_id.size()));
  append(out.data, sch->alg_id);
  append(out.data, *sig);
  return out;
}

result<wire::auth_payload> sign_legacy(const private_key& key, bytes_view octets) {
  const key_type t = key.type();
  wire::auth_payload out;
  if (t == key_type::rsa) {
    // RFC 7296 §3.8: RSASSA-PKCS1-v1_5 with SHA-1, the only hash method 1 can signal.
    auto sig = evp_sign(key.get(), "SHA1", padding::pkcs1, octets);
    if (!sig) return sig.err();
    out.method = wire::auth_method::rsa_sig;
    out.data = std::move(*sig);
    return out;
  }
  if (is_ecdsa(t)) {
    auto der = evp_sign(key.get(), md_name(legacy_ecdsa_hash(t)), padding::none, octets);
    if (!der) return der.err();
    auto raw = ecdsa_der_to_raw(*der, coordinate_size(t));
    if (!raw) return raw.err();
    out.method = legacy_ecdsa_method(t);
    out.data = std::move(*raw);
    return out;
  }
  return make_error(errc::unsupported, std::string("sign: no legacy AUTH method for ") + name_of(t));
}

error auth_failed(const std::string& method, key_type t, const std::string& why) {
  return make_error(errc::authentication_failed,
                    "AUTH " + method + " with " + name_of(t) + " key: " + why);
}

}  // namespace

std::vector<std::uint16_t> supported_hash_algorithms() {
  return {wire::hash_alg::sha2_256, wire::hash_alg::sha2_384, wire::hash_alg::sha2_512, wire::hash_alg::identity};
}

bytes encode_hash_algorithms(const std::vector<std::uint16_t>& algs) {
  bytes out;
  out.reserve(2 * algs.size());
  for (std::uint16_t a : algs) put_u16(out, a);
  return out;
}

result<std::vector<std::uint16_t>> decode_hash_algorithms(bytes_view data) {
  if (data.size() % 2 != 0)
    return make_error(errc::invalid_syntax,
                      "SIGNATURE_HASH_ALGORITHMS notify: length " + std::to_string(data.size()) + " is odd");
  std::vector<std::uint16_t> out;
  out.reserve(data.size() / 2);
  for (std::size_t i = 0; i < data.size(); i += 2) out.push_back(get_u16(data.data() + i));
  return out;
}

result<wire::auth_payload> sign(const private_key& key, bytes_view octets, const sign_options& opt) {
  const key_type t = key.type();
  bool method14_only = t == key_type::rsa_pss || t == key_type::ed25519 || t == key_type::ed448;
  if (method14_only || (opt.use_rfc7427 && !opt.peer_hashes.empty())) return sign_rfc7427(key, octets, opt);
  return sign_legacy(key, octets);
}

status verify(const public_key& key, const wire::auth_payload& auth, bytes_view octets) {
  const key_type t = key.type();
  const std::string method = method_name(auth.method);
  const char* md = nullptr;
  padding pad = padding::none;
  bytes der_sig;  // ECDSA legacy signatures converted to DER
  bytes_view sig;

  switch (auth.method) {
    case wire::auth_method::rsa_sig:
      if (t != key_type::rsa) return auth_failed(method, t, "method 1 needs an RSA (PKCS#1 v1.5) key");
      md = "SHA1";
      pad = padding::pkcs1;
      sig = auth.data;
      break;

    case wire::auth_method::ecdsa_sha256_p256:
    case wire::auth_method::ecdsa_sha384_p384:
    case wire::auth_method::ecdsa_sha512_p521: {
      if (!is_ecdsa(t) || legacy_ecdsa_method(t) != auth.method)
        return auth_failed(method, t, "the method names a different curve than the key's");
      std::size_t n = coordinate_size(t);
      if (auth.data.size() != 2 * n)
        return auth_failed(method, t, "signature is " + std::to_string(auth.data.size()) + " octets, expected r||s of " +
                                          std::to_string(2 * n));
      auto der = ecdsa_raw_to_der(auth.data);
      if (!der) return auth_failed(method, t, der.err().message);
      der_sig = std::move(*der);
      sig = der_sig;
      md = md_name(legacy_ecdsa_hash(t));
      break;
    }

    case wire::auth_method::digital_signature: {
      // RFC 7427 §3: length octet, AlgorithmIdentifier DER, signature.
      if (auth.data.empty()) return auth_failed(method, t, "empty AUTH data");
      std::size_t len = auth.data[0];
      if (len == 0 || auth.data.size() < 1 + len)
        return auth_failed(method, t, "AlgorithmIdentifier length " + std::to_string(len) + " does not fit in " +
                                          std::to_string(auth.data.size()) + " octets of AUTH data");
      bytes_view alg_id = bytes_view(auth.data).subspan(1, len);
      const scheme* sch = find_scheme(alg_id);
      if (!sch) return auth_failed(method, t, "unknown or unsupported AlgorithmIdentifier " + to_hex(alg_id));
      if (!fits(sch->fam, t)) return auth_failed(method, t, std::string(sch->name) + " does not fit the key type");
      sig = bytes_view(auth.data).subspan(1 + len);
      md = md_name(sch->hash);
      pad = sch->fam == family::rsa_pss ? padding::pss : sch->fam == family::rsa_pkcs1 ? padding::pkcs1 : padding::none;
      if (sig.empty()) return auth_failed(method, t, std::string(sch->name) + " with an empty signature");
      auto ok = evp_verify(key.get(), md, pad, octets, sig);
      if (!ok) return auth_failed(method, t, ok.err().message);
      if (!*ok) return auth_failed(method, t, std::string(sch->name) + " signature does not verify");
      return ok_v;
    }

    default:
      return auth_failed(method, t, "not a signature method we support");
  }

  if (sig.empty()) return auth_failed(method, t, "empty signature");
  auto ok = evp_verify(key.get(), md, pad, octets, sig);
  if (!ok) return auth_failed(method, t, ok.err().message);
  if (!*ok) return auth_failed(method, t, "signature does not verify");
  return ok_v;
}

}  // namespace aike::auth
