// Trusted CA certificates and X.509 path validation (RFC 5280 through OpenSSL's X509_STORE)
// for IKEv2 certificate authentication.
#pragma once
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include <openssl/x509_vfy.h>

#include "engine/auth/keys.hpp"
#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::auth {

class trust_store {
 public:
  trust_store();
  // Copies get their own X509_STORE with the same CAs, so adding to one never changes another.
  trust_store(const trust_store& o);
  trust_store& operator=(const trust_store& o);
  trust_store(trust_store&&) noexcept = default;
  trust_store& operator=(trust_store&&) noexcept = default;
  ~trust_store() = default;

  // Every added certificate is a trust anchor, also one that is not self-signed (an
  // intermediate CA trusted directly). Adding the same certificate twice is a no-op.
  status add_ca(const certificate& ca);
  std::size_t size() const { return cas_.size(); }
  const std::vector<certificate>& cas() const { return cas_; }

  // Builds and checks the path from `end_entity` through `intermediates` (the other CERT
  // payloads, any order) to a trusted CA: signatures, validity at `at` (default: now), CA
  // flags and path lengths. If the end entity has a KeyUsage extension, digitalSignature
  // must be set (RFC 4945 §5.1.3.2). On success: the end entity's public key. On failure:
  // errc::authentication_failed with the reason and the certificate it concerns.
  result<public_key> verify(const certificate& end_entity, const std::vector<certificate>& intermediates,
                            std::optional<std::time_t> at = {}) const;

  // CERTREQ content (RFC 7296 §3.7): SHA-1 over each CA's SubjectPublicKeyInfo, in the order
  // the CAs were added.
  std::vector<bytes> ca_key_hashes() const;

 private:
  std::shared_ptr<X509_STORE> store_;
  std::vector<certificate> cas_;
};

}  // namespace aike::auth
