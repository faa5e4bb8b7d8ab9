#include "engine/auth/keys.hpp"

#include <cstring>
#include <string>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "engine/auth/openssl_util.hpp"

namespace aike::auth {
namespace {

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

result<key_type> classify(const EVP_PKEY* k) {
  if (EVP_PKEY_is_a(k, "RSA")) return key_type::rsa;
  if (EVP_PKEY_is_a(k, "RSA-PSS")) return key_type::rsa_pss;
  if (EVP_PKEY_is_a(k, "ED25519")) return key_type::ed25519;
  if (EVP_PKEY_is_a(k, "ED448")) return key_type::ed448;
  if (EVP_PKEY_is_a(k, "EC")) {
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(k, group, sizeof group, &len) != 1) {
      detail::take_openssl_errors();
      return make_error(errc::unsupported, "EC key without a named curve (explicit parameters are not supported)");
    }
    int nid = OBJ_sn2nid(group);
    if (nid == NID_X9_62_prime256v1) return key_type::ecdsa_p256;
    if (nid == NID_secp384r1) return key_type::ecdsa_p384;
    if (nid == NID_secp521r1) return key_type::ecdsa_p521;
    return make_error(errc::unsupported, std::string("EC key on curve ") + group +
                                             " is not supported (only P-256, P-384, P-521)");
  }
  const char* name = EVP_PKEY_get0_type_name(k);
  return make_error(errc::unsupported,
                    std::string("key type ") + (name ? name : "?") + " is not supported for IKE signatures");
}

// Password callback that never prompts: it hands over the given passphrase or nothing.
int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* pass = static_cast<const std::string*>(u);
  if (!pass || pass->empty() || pass->size() > static_cast<std::size_t>(size)) return 0;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

}  // namespace

const char* name_of(key_type t) {
  switch (t) {
    case key_type::rsa: return "RSA";
    case key_type::rsa_pss: return "RSA-PSS";
    case key_type::ecdsa_p256: return "ECDSA P-256";
    case key_type::ecdsa_p384: return "ECDSA P-384";
    case key_type::ecdsa_p521: return "ECDSA P-521";
    case key_type::ed25519: return "Ed25519";
    case key_type::ed448: return "Ed448";
  }
  return "?";
}

// --- public_key ----------------------------------------------------------------

result<public_key> public_key::from_pem(std::string_view pem) {
  detail::bio_ptr bio = detail::memory_bio(pem);
  if (!bio) return make_error(errc::invalid_argument, "public key PEM: input too large");
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k) return detail::openssl_error(errc::invalid_argument, "public key PEM: no SubjectPublicKeyInfo found");
  auto key = own(k);
  auto t = classify(k);
  if (!t) return t.err();
  return public_key(std::move(key), *t);
}

result<public_key> public_key::from_spki_der(bytes_view der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(INT32_MAX))
    return make_error(errc::invalid_syntax, "raw public key: empty SubjectPublicKeyInfo");
  const unsigned char* p = der.data();
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (!k) return detail::openssl_error(errc::invalid_syntax, "raw public key: SubjectPublicKeyInfo does not parse");
  auto key = own(k);
  if (p != der.data() + der.size())
    return make_error(errc::invalid_syntax, "raw public key: " + std::to_string(der.data() + der.size() - p) +
                                                " trailing octets after the SubjectPublicKeyInfo");
  auto t = classify(k);
  if (!t) return t.err();
  return public_key(std::move(key), *t);
}

result<public_key> public_key::from_cert(const certificate& cert) {
  EVP_PKEY* k = X509_get0_pubkey(cert.get());
  if (!k) return detail::openssl_error(errc::invalid_argument, "certificate: public key does not decode");
  return from_evp(k);
}

result<public_key> public_key::from_evp(EVP_PKEY* pkey) {
  if (!pkey) return make_error(errc::invalid_argument, "public key: null EVP_PKEY");
  // Re-decode the SPKI so the object holds the public part only, whatever was passed in.
  bytes der = detail::to_der(pkey, i2d_PUBKEY);
  if (der.empty()) return detail::openssl_error(errc::invalid_argument, "public key: cannot encode the SPKI");
  return from_spki_der(der);
}

bytes public_key::spki_der() const { return detail::to_der(pkey_.get(), i2d_PUBKEY); }

std::string public_key::to_pem() const {
  detail::bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    detail::take_openssl_errors();
    return {};
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

bytes public_key::fingerprint() const { return detail::digest("SHA256", spki_der()); }

// --- private_key ---------------------------------------------------------------

result<private_key> private_key::from_pem(std::string_view pem, std::string_view passphrase) {
  detail::bio_ptr bio = detail::memory_bio(pem);
  if (!bio) return make_error(errc::invalid_argument, "private key PEM: input too large");
  std::string pass(passphrase);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass);
  OPENSSL_cleanse(pass.data(), pass.size());
  if (!k)
    return detail::openssl_error(errc::invalid_argument,
                                 passphrase.empty() ? "private key PEM: no private key found (or it is encrypted)"
                                                    : "private key PEM: no private key found or wrong passphrase");
  auto key = own(k);
  auto t = classify(k);
  if (!t) return t.err();
  auto pub = public_key::from_evp(k);
  if (!pub) return pub.err();
  return private_key(std::move(key), *t, std::move(*pub));
}

result<private_key> private_key::from_evp(EVP_PKEY* pkey) {
  if (!pkey) return make_error(errc::invalid_argument, "private key: null EVP_PKEY");
  auto t = classify(pkey);
  if (!t) return t.err();
  auto pub = public_key::from_evp(pkey);
  if (!pub) return pub.err();
  if (EVP_PKEY_up_ref(pkey) != 1) return detail::openssl_error(errc::crypto_failure, "private key: up_ref failed");
  return private_key(own(pkey), *t, std::move(*pub));
}

public_key private_key::public_part() const { return pub_; }

}  // namespace aike::auth
