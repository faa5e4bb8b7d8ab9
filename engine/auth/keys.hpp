// Public and private keys and X.509 certificates for IKEv2 signature authentication.
// All three are immutable handles on reference-counted OpenSSL objects: copying is cheap and
// copies may be shared between threads (OpenSSL keys and certificates are safe to use
// concurrently for signing, verifying and reading).
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "engine/auth/identity.hpp"
#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::auth {

// The key kinds we sign and verify with. Anything else (DSA, other curves) is rejected when
// a key is loaded, so every key object has one of these types.
enum class key_type { rsa, rsa_pss, ecdsa_p256, ecdsa_p384, ecdsa_p521, ed25519, ed448 };
const char* name_of(key_type t);  // "RSA", "RSA-PSS", "ECDSA P-256", ..., "Ed25519", "Ed448"

class certificate;

class public_key {
 public:
  static result<public_key> from_pem(std::string_view pem);  // "BEGIN PUBLIC KEY" (SubjectPublicKeyInfo)
  static result<public_key> from_spki_der(bytes_view der);   // RFC 7670 raw public key CERT payload
  static result<public_key> from_cert(const certificate& cert);
  // Takes a reference on `pkey` (the caller keeps its own); only the public part is used.
  static result<public_key> from_evp(EVP_PKEY* pkey);

  key_type type() const { return type_; }
  bytes spki_der() const;
  std::string to_pem() const;
  // SHA-256 over the SPKI DER: identifies the key independent of how it was delivered.
  bytes fingerprint() const;
  EVP_PKEY* get() const { return pkey_.get(); }

  bool operator==(const public_key& o) const { return spki_der() == o.spki_der(); }

 private:
  public_key(std::shared_ptr<EVP_PKEY> k, key_type t) : pkey_(std::move(k)), type_(t) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  key_type type_;
};

class private_key {
 public:
  // PKCS#8 ("BEGIN PRIVATE KEY" / "BEGIN ENCRYPTED PRIVATE KEY") or the traditional RSA/EC
  // forms. An encrypted key without the right passphrase fails; nothing is ever prompted.
  static result<private_key> from_pem(std::string_view pem, std::string_view passphrase = {});
  // Takes a reference on `pkey` (the caller keeps its own), e.g. from EVP_PKEY_Q_keygen.
  static result<private_key> from_evp(EVP_PKEY* pkey);

  public_key public_part() const;
  key_type type() const { return type_; }
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  private_key(std::shared_ptr<EVP_PKEY> k, key_type t, public_key pub)
      : pkey_(std::move(k)), type_(t), pub_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  key_type type_;
  public_key pub_;
};

class certificate {
 public:
  static result<certificate> from_pem(std::string_view pem);  // the first certificate in `pem`
  static result<std::vector<certificate>> chain_from_pem(std::string_view pem);  // all, in order
  static result<certificate> from_der(bytes_view der);        // CERT payload, encoding 4
  // Takes a reference on `x509` (the caller keeps its own).
  static certificate from_x509(X509* x509);

  bytes der() const;
  identity subject() const;  // ID_DER_ASN1_DN
  identity issuer() const;
  // dNSName -> FQDN, rfc822Name -> RFC822, iPAddress -> IPv4/IPv6, directoryName -> DN;
  // other kinds are skipped.
  std::vector<identity> subject_alt_names() const;
  // True if `id` is the subject DN or one of the subjectAltNames (RFC 4945 §3.1: the IKE
  // identity must be bound to the certificate).
  bool has_identity(const identity& id) const;
  // SHA-256 over the certificate DER.
  bytes fingerprint() const;
  X509* get() const { return x509_.get(); }

 private:
  explicit certificate(std::shared_ptr<X509> x) : x509_(std::move(x)) {}
  std::shared_ptr<X509> x509_;
};

}  // namespace aike::auth
