// X.509 certificates and the trust store: chain validation, expiry, unknown CAs, key usage,
// CERTREQ hashes (RFC 7296 §3.7), identities bound to certificates (RFC 4945 §3.1).
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "engine/auth/signature_auth.hpp"
#include "engine/auth/trust_store.hpp"

namespace aike::auth {
namespace {

struct evp_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};

private_key new_key() {
  std::unique_ptr<EVP_PKEY, evp_free> k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_NE(k, nullptr);
  auto key = private_key::from_evp(k.get());
  EXPECT_TRUE(key.ok());
  return *key;
}

void add_ext(X509* issuer, X509* x, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  ASSERT_EQ(X509_add_ext(x, ext, -1), 1);
  X509_EXTENSION_free(ext);
}

struct cert_spec {
  std::string subject;       // "C=CH, O=Test, CN=..." via identity::parse
  bool ca = false;
  long not_before = -30 * 86400;  // seconds from now
  long not_after = 86400;
  const char* key_usage = nullptr;  // e.g. "critical,digitalSignature"
  const char* san = nullptr;        // e.g. "DNS:moon.example.org,IP:10.0.0.1"
};

// Issues a certificate for `subject_key`, signed by `issuer_key` (issuer == nullptr: self-signed).
certificate issue(const cert_spec& spec, const private_key& subject_key, const certificate* issuer,
                  const private_key& issuer_key) {
  static long serial = 1;
  std::unique_ptr<X509, x509_free> x(X509_new());
  EXPECT_EQ(X509_set_version(x.get(), 2), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);

  auto id = identity::parse(spec.subject);
  EXPECT_TRUE(id.ok());
  const unsigned char* p = id->data.data();
  X509_NAME* name = d2i_X509_NAME(nullptr, &p, static_cast<long>(id->data.size()));
  EXPECT_NE(name, nullptr);
  X509_set_subject_name(x.get(), name);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->get()) : name);
  X509_NAME_free(name);

  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
  EXPECT_EQ(X509_set_pubkey(x.get(), subject_key.get()), 1);

  X509* iss = issuer ? issuer->get() : x.get();
  add_ext(iss, x.get(), NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(iss, x.get(), NID_subject_key_identifier, "hash");
  add_ext(iss, x.get(), NID_authority_key_identifier, "keyid:always");
  if (spec.ca) add_ext(iss, x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  if (spec.key_usage) add_ext(iss, x.get(), NID_key_usage, spec.key_usage);
  if (spec.san) add_ext(iss, x.get(), NID_subject_alt_name, spec.san);

  EXPECT_GT(X509_sign(x.get(), issuer_key.get(), EVP_sha256()), 0);
  return certificate::from_x509(x.get());
}

class AuthTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    root = std::make_unique<certificate>(issue({"C=CH, O=Test, CN=Root CA", true}, root_key, nullptr, root_key));
    inter = std::make_unique<certificate>(
        issue({"C=CH, O=Test, CN=Intermediate CA", true}, inter_key, root.get(), root_key));
    cert_spec ee_spec{"C=CH, O=Test, CN=moon.example.org"};
    ee_spec.key_usage = "critical,digitalSignature";
    ee_spec.san = "DNS:moon.example.org,email:moon@example.org,IP:10.0.0.1,IP:2001:db8::1";
    ee = std::make_unique<certificate>(issue(ee_spec, ee_key, inter.get(), inter_key));
    ASSERT_TRUE(store.add_ca(*root).ok());
  }

  private_key root_key = new_key();
  private_key inter_key = new_key();
  private_key ee_key = new_key();
  std::unique_ptr<certificate> root, inter, ee;
  trust_store store;
};

TEST_F(AuthTrust, ChainVerifies) {
  auto key = store.verify(*ee, {*inter});
  ASSERT_TRUE(key.ok()) << key.err().message;
  EXPECT_EQ(*key, ee_key.public_part());
  EXPECT_EQ(key->type(), key_type::ecdsa_p256);

  // The key we get back verifies what the end entity signs.
  bytes octets = to_bytes("signed octets");
  auto auth = sign(ee_key, octets, sign_options{true, supported_hash_algorithms(), true});
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(verify(*key, *auth, octets).ok());
}

TEST_F(AuthTrust, MissingIntermediateFails) {
  auto r = store.verify(*ee, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::authentication_failed);
  EXPECT_NE(r.err().message.find("issuer"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("moon.example.org"), std::string::npos) << r.err().message;
}

TEST_F(AuthTrust, IntermediateAsTrustAnchor) {
  trust_store only_inter;
  ASSERT_TRUE(only_inter.add_ca(*inter).ok());
  EXPECT_TRUE(only_inter.verify(*ee, {}).ok());
}

TEST_F(AuthTrust, ExpiredCertificateFails) {
  cert_spec spec{"C=CH, O=Test, CN=old"};
  spec.not_before = -10 * 86400;
  spec.not_after = -86400;
  certificate old = issue(spec, ee_key, inter.get(), inter_key);
  auto r = store.verify(old, {*inter});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::authentication_failed);
  EXPECT_NE(r.err().message.find("expired"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("CN=old"), std::string::npos) << r.err().message;
  // ... but it was valid five days ago.
  EXPECT_TRUE(store.verify(old, {*inter}, std::time(nullptr) - 5 * 86400).ok());
}

TEST_F(AuthTrust, NotYetValidFails) {
  cert_spec spec{"C=CH, O=Test, CN=future"};
  spec.not_before = 86400;
  spec.not_after = 2 * 86400;
  certificate future = issue(spec, ee_key, inter.get(), inter_key);
  auto r = store.verify(future, {*inter});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("not yet valid"), std::string::npos) << r.err().message;
}

TEST_F(AuthTrust, ExpiredIntermediateFails) {
  // Same name and key as the real intermediate, but expired.
  cert_spec spec{"C=CH, O=Test, CN=Intermediate CA", true};
  spec.not_before = -10 * 86400;
  spec.not_after = -86400;
  certificate old_inter = issue(spec, inter_key, root.get(), root_key);
  auto r = store.verify(*ee, {old_inter});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("expired"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("depth 1"), std::string::npos) << r.err().message;
}

TEST_F(AuthTrust, UnknownCaFails) {
  private_key other_root_key = new_key();
  certificate other_root = issue({"C=CH, O=Other, CN=Other Root", true}, other_root_key, nullptr, other_root_key);
  trust_store other;
  ASSERT_TRUE(other.add_ca(other_root).ok());
  auto r = other.verify(*ee, {*inter});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::authentication_failed);
  EXPECT_NE(r.err().message.find("issuer"), std::string::npos) << r.err().message;

  // A self-signed end entity nobody trusts.
  certificate self = issue({"C=CH, CN=self"}, ee_key, nullptr, ee_key);
  EXPECT_FALSE(store.verify(self, {}).ok());
  EXPECT_FALSE(trust_store().verify(*ee, {*inter}).ok());  // empty store
}

TEST_F(AuthTrust, ForgedIssuerNameFails) {
  // Issued in the intermediate's name but signed by another key.
  private_key impostor = new_key();
  certificate forged = issue({"C=CH, O=Test, CN=forged"}, ee_key, inter.get(), impostor);
  auto r = store.verify(forged, {*inter});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("signature"), std::string::npos) << r.err().message;
}

TEST_F(AuthTrust, NonCaIntermediateFails) {
  // The "intermediate" is an end entity certificate (CA:FALSE).
  certificate fake_inter = issue({"C=CH, O=Test, CN=Intermediate CA"}, inter_key, root.get(), root_key);
  auto r = store.verify(*ee, {fake_inter});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("CA"), std::string::npos) << r.err().message;
}

TEST_F(AuthTrust, KeyUsageWithoutDigitalSignatureFails) {
  cert_spec spec{"C=CH, O=Test, CN=encipher-only"};
  spec.key_usage = "critical,keyEncipherment";
  certificate c = issue(spec, ee_key, inter.get(), inter_key);
  auto r = store.verify(c, {*inter});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::authentication_failed);
  EXPECT_NE(r.err().message.find("digitalSignature"), std::string::npos) << r.err().message;

  // No KeyUsage extension at all is fine.
  certificate plain = issue({"C=CH, O=Test, CN=no-ku"}, ee_key, inter.get(), inter_key);
  EXPECT_TRUE(store.verify(plain, {*inter}).ok());
  // digitalSignature among others is fine.
  cert_spec both{"C=CH, O=Test, CN=both"};
  both.key_usage = "digitalSignature,keyEncipherment";
  EXPECT_TRUE(store.verify(issue(both, ee_key, inter.get(), inter_key), {*inter}).ok());
}

TEST_F(AuthTrust, CaKeyHashesAreSha1OfSpki) {
  ASSERT_TRUE(store.add_ca(*inter).ok());
  ASSERT_TRUE(store.add_ca(*root).ok());  // duplicate: ignored
  EXPECT_EQ(store.size(), 2u);
  std::vector<bytes> hashes = store.ca_key_hashes();
  ASSERT_EQ(hashes.size(), 2u);
  const certificate* cas[] = {root.get(), inter.get()};
  for (int i = 0; i < 2; ++i) {
    // SubjectPublicKeyInfo DER as written in the certificate, hashed with SHA-1.
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(X509_get0_pubkey(cas[i]->get()), &der);
    ASSERT_GT(len, 0);
    unsigned char md[20];
    unsigned int md_len = 0;
    ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha1(), nullptr), 1);
    OPENSSL_free(der);
    EXPECT_EQ(hashes[i], bytes(md, md + md_len));
    EXPECT_EQ(hashes[i].size(), 20u);
    // Not the subjectKeyIdentifier-style hash of the bare key bits.
    unsigned char ski[20];
    unsigned int ski_len = 0;
    ASSERT_EQ(X509_pubkey_digest(cas[i]->get(), EVP_sha1(), ski, &ski_len), 1);
    EXPECT_NE(hashes[i], bytes(ski, ski + ski_len));
  }
}

TEST_F(AuthTrust, CopiesAreIndependent) {
  trust_store copy = store;
  ASSERT_TRUE(copy.add_ca(*inter).ok());
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(copy.verify(*ee, {}).ok());
  EXPECT_FALSE(store.verify(*ee, {}).ok());
}

// --- certificate ------------------------------------------------------------------

std::string pem_of(const certificate& c) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_X509(bio, c.get()), 1);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

TEST_F(AuthTrust, CertificateEncodings) {
  bytes der = ee->der();
  ASSERT_FALSE(der.empty());
  auto back = certificate::from_der(der);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(back->der(), der);
  EXPECT_EQ(back->fingerprint(), ee->fingerprint());
  EXPECT_NE(ee->fingerprint(), inter->fingerprint());
  EXPECT_EQ(ee->fingerprint().size(), 32u);

  bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(certificate::from_der(trailing).ok());
  EXPECT_FALSE(certificate::from_der(bytes(der.begin(), der.begin() + 100)).ok());
  EXPECT_FALSE(certificate::from_der({}).ok());

  auto one = certificate::from_pem(pem_of(*ee));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->der(), der);

  auto chain = certificate::chain_from_pem(pem_of(*ee) + pem_of(*inter) + pem_of(*root));
  ASSERT_TRUE(chain.ok()) << chain.err().message;
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[1].der(), inter->der());
  EXPECT_FALSE(certificate::chain_from_pem("").ok());
  EXPECT_FALSE(certificate::chain_from_pem(pem_of(*ee) + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());

  auto pub = public_key::from_cert(*ee);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, ee_key.public_part());
}

TEST_F(AuthTrust, CertificateIdentities) {
  EXPECT_EQ(ee->subject().to_string(), "C=CH, O=Test, CN=moon.example.org");
  EXPECT_EQ(ee->issuer().to_string(), "C=CH, O=Test, CN=Intermediate CA");
  std::vector<identity> sans = ee->subject_alt_names();
  ASSERT_EQ(sans.size(), 4u);
  EXPECT_EQ(sans[0].to_string(), "moon.example.org");
  EXPECT_EQ(sans[0].type, wire::id_type::fqdn);
  EXPECT_EQ(sans[1].to_string(), "moon@example.org");
  EXPECT_EQ(sans[1].type, wire::id_type::rfc822_addr);
  EXPECT_EQ(sans[2].to_string(), "10.0.0.1");
  EXPECT_EQ(sans[3].to_string(), "2001:db8::1");
  EXPECT_TRUE(root->subject_alt_names().empty());

  auto id = [](const char* s) { return *identity::parse(s); };
  EXPECT_TRUE(ee->has_identity(id("moon.example.org")));
  EXPECT_TRUE(ee->has_identity(id("MOON.example.org")));
  EXPECT_TRUE(ee->has_identity(id("moon@example.org")));
  EXPECT_TRUE(ee->has_identity(id("10.0.0.1")));
  EXPECT_TRUE(ee->has_identity(id("2001:db8::1")));
  EXPECT_TRUE(ee->has_identity(id("C=CH,O=Test,CN=moon.example.org")));
  EXPECT_FALSE(ee->has_identity(id("sun.example.org")));
  EXPECT_FALSE(ee->has_identity(id("10.0.0.2")));
  EXPECT_FALSE(ee->has_identity(id("C=CH, O=Test, CN=sun")));
  EXPECT_FALSE(ee->has_identity(id("%any")));
  EXPECT_FALSE(ee->has_identity(id("@#0102")));
}

}  // namespace
}  // namespace aike::auth
