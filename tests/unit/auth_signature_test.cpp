// Signature AUTH payloads: RFC 7296 §3.8 (method 1), RFC 4754 (methods 9/10/11),
// RFC 7427 (method 14) and RFC 8420 (EdDSA); key loading.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "engine/auth/signature_auth.hpp"

namespace aike::auth {
namespace {

// RFC 7427 Appendix A, written out from the RFC text (offsets as in the RFC dumps).
// A.1.1 sha1WithRSAEncryption (we must not accept it: SHA-1 is not in our hash list)
constexpr const char* k_rfc_sha1_rsa = "300d06092a864886f70d0101050500";
// A.1.2 .. A.1.4
constexpr const char* k_rfc_sha256_rsa = "300d06092a864886f70d01010b0500";
constexpr const char* k_rfc_sha384_rsa = "300d06092a864886f70d01010c0500";
constexpr const char* k_rfc_sha512_rsa = "300d06092a864886f70d01010d0500";
// A.3.2 .. A.3.4
constexpr const char* k_rfc_ecdsa_sha256 = "300a06082a8648ce3d040302";
constexpr const char* k_rfc_ecdsa_sha384 = "300a06082a8648ce3d040303";
constexpr const char* k_rfc_ecdsa_sha512 = "300a06082a8648ce3d040304";
// A.4.3 RSASSA-PSS with SHA-256 (Length = 72)
constexpr const char* k_rfc_pss_sha256 =
    "3046 0609 2a86 4886 f70d 0101 0a30 39a0"
    "0f30 0d06 0960 8648 0165 0304 0201 0500"
    "a11c 301a 0609 2a86 4886 f70d 0101 0830"
    "0d06 0960 8648 0165 0304 0201 0500 a203"
    "0201 20a3 0302 0101";
// RFC 8420 §2 (the AlgorithmIdentifiers of RFC 8410 §3): id-Ed25519, id-Ed448
constexpr const char* k_rfc_ed25519 = "300506032b6570";
constexpr const char* k_rfc_ed448 = "300506032b6571";

bytes hex(std::string_view h) {
  bytes b;
  EXPECT_TRUE(from_hex(h, b)) << h;
  return b;
}

struct evp_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

private_key generate(const char* what) {
  EVP_PKEY* k = nullptr;
  std::string w = what;
  if (w == "RSA") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  else if (w == "RSA-PSS") {
    // OpenSSL 3.0's EVP_PKEY_Q_keygen knows no RSA-PSS: the long way.
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr);
    EXPECT_NE(ctx, nullptr);
    EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
    EXPECT_EQ(EVP_PKEY_generate(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);
  }
  else if (w == "P-256" || w == "P-384" || w == "P-521") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", what);
  else k = EVP_PKEY_Q_keygen(nullptr, nullptr, what);
  EXPECT_NE(k, nullptr) << what;
  std::unique_ptr<EVP_PKEY, evp_free> owner(k);
  auto key = private_key::from_evp(k);
  EXPECT_TRUE(key.ok()) << what << ": " << (key.ok() ? "" : key.err().message);
  return *key;
}

// Key generation (RSA especially) is slow: one key pair of each kind, plus a second key of
// each kind for the wrong-key tests.
class AuthSignature : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new std::map<std::string, private_key>();
    others_ = new std::map<std::string, private_key>();
    for (const char* k : {"RSA", "RSA-PSS", "P-256", "P-384", "P-521", "ED25519", "ED448"}) {
      keys_->emplace(k, generate(k));
      others_->emplace(k, generate(k));
    }
  }
  static void TearDownTestSuite() {
    delete keys_;
    delete others_;
  }
  static const private_key& key(const std::string& k) { return keys_->at(k); }
  static const private_key& other(const std::string& k) { return others_->at(k); }

  static inline std::map<std::string, private_key>* keys_ = nullptr;
  static inline std::map<std::string, private_key>* others_ = nullptr;

  const bytes octets = to_bytes("RealMessage1 | NonceRData | MACedIDForI: the signed octets");
};

sign_options rfc7427(std::vector<std::uint16_t> hashes = supported_hash_algorithms(), bool pss = true) {
  return sign_options{true, std::move(hashes), pss};
}

bytes alg_id_of(const wire::auth_payload& a) {
  if (a.data.empty() || a.data.size() < 1u + a.data[0]) return {};
  return bytes(a.data.begin() + 1, a.data.begin() + 1 + a.data[0]);
}

TEST_F(AuthSignature, KeyTypes) {
  EXPECT_EQ(key("RSA").type(), key_type::rsa);
  EXPECT_EQ(key("RSA-PSS").type(), key_type::rsa_pss);
  EXPECT_EQ(key("P-256").type(), key_type::ecdsa_p256);
  EXPECT_EQ(key("P-384").type(), key_type::ecdsa_p384);
  EXPECT_EQ(key("P-521").type(), key_type::ecdsa_p521);
  EXPECT_EQ(key("ED25519").type(), key_type::ed25519);
  EXPECT_EQ(key("ED448").type(), key_type::ed448);
  EXPECT_EQ(key("P-384").public_part().type(), key_type::ecdsa_p384);
}

TEST_F(AuthSignature, HashAlgorithmsNotify) {
  EXPECT_EQ(supported_hash_algorithms(), (std::vector<std::uint16_t>{2, 3, 4, 5}));
  EXPECT_EQ(to_hex(encode_hash_algorithms(supported_hash_algorithms())), "0002000300040005");
  auto d = decode_hash_algorithms(hex("0001000200050100"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (std::vector<std::uint16_t>{1, 2, 5, 256}));
  auto e = decode_hash_algorithms(hex("00020003"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 2u);
  auto odd = decode_hash_algorithms(hex("000200"));
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.err().code, errc::invalid_syntax);
  auto empty = decode_hash_algorithms({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// --- the AlgorithmIdentifier bytes we send, against RFC 7427 Appendix A / RFC 8420 -------

TEST_F(AuthSignature, AlgorithmIdentifierRsaPkcs1MatchesRfc7427) {
  struct { std::uint16_t hash; const char* expected; } cases[] = {
      {wire::hash_alg::sha2_256, k_rfc_sha256_rsa},
      {wire::hash_alg::sha2_384, k_rfc_sha384_rsa},
      {wire::hash_alg::sha2_512, k_rfc_sha512_rsa},
  };
  for (auto& c : cases) {
    auto a = sign(key("RSA"), octets, rfc7427({c.hash}, /*pss=*/false));
    ASSERT_TRUE(a.ok()) << a.err().message;
    EXPECT_EQ(a->method, wire::auth_method::digital_signature);
    EXPECT_EQ(alg_id_of(*a), hex(c.expected));
    EXPECT_EQ(a->data[0], hex(c.expected).size());
    EXPECT_EQ(a->data.size(), 1 + hex(c.expected).size() + 256);  // RSA-2048 signature
    EXPECT_TRUE(verify(key("RSA").public_part(), *a, octets).ok());
  }
}

TEST_F(AuthSignature, AlgorithmIdentifierEcdsaMatchesRfc7427) {
  struct { std::uint16_t hash; const char* expected; } cases[] = {
      {wire::hash_alg::sha2_256, k_rfc_ecdsa_sha256},
      {wire::hash_alg::sha2_384, k_rfc_ecdsa_sha384},
      {wire::hash_alg::sha2_512, k_rfc_ecdsa_sha512},
  };
  for (auto& c : cases) {
    auto a = sign(key("P-256"), octets, rfc7427({c.hash}));
    ASSERT_TRUE(a.ok()) << a.err().message;
    EXPECT_EQ(alg_id_of(*a), hex(c.expected));
    EXPECT_TRUE(verify(key("P-256").public_part(), *a, octets).ok());
  }
}

TEST_F(AuthSignature, AlgorithmIdentifierPssSha256MatchesRfc7427) {
  auto a = sign(key("RSA"), octets, rfc7427({wire::hash_alg::sha2_256}));
  ASSERT_TRUE(a.ok()) << a.err().message;
  EXPECT_EQ(a->data[0], 72);
  EXPECT_EQ(alg_id_of(*a), hex(k_rfc_pss_sha256));
  EXPECT_TRUE(verify(key("RSA").public_part(), *a, octets).ok());
}

// Appendix A only lists PSS with SHA-256; check the SHA-384/512 forms by decoding them with
// OpenSSL's RSASSA-PSS-params (RFC 4055 §3.1) instead.
void expect_pss_params(const bytes& alg_id, int hash_nid, long salt) {
  const unsigned char* p = alg_id.data();
  X509_ALGOR* alg = d2i_X509_ALGOR(nullptr, &p, static_cast<long>(alg_id.size()));
  ASSERT_NE(alg, nullptr);
  EXPECT_EQ(p, alg_id.data() + alg_id.size());
  const ASN1_OBJECT* oid = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&oid, &ptype, &pval, alg);
  EXPECT_EQ(OBJ_obj2nid(oid), NID_rsassaPss);
  ASSERT_EQ(ptype, V_ASN1_SEQUENCE);
  auto* seq = static_cast<const ASN1_STRING*>(pval);
  const unsigned char* q = ASN1_STRING_get0_data(seq);
  RSA_PSS_PARAMS* params = d2i_RSA_PSS_PARAMS(nullptr, &q, ASN1_STRING_length(seq));
  ASSERT_NE(params, nullptr);
  EXPECT_EQ(OBJ_obj2nid(params->hashAlgorithm->algorithm), hash_nid);
  EXPECT_EQ(OBJ_obj2nid(params->maskGenAlgorithm->algorithm), NID_mgf1);
  ASSERT_EQ(params->maskGenAlgorithm->parameter->type, V_ASN1_SEQUENCE);
  const ASN1_STRING* mgf = params->maskGenAlgorithm->parameter->value.sequence;
  const unsigned char* r = ASN1_STRING_get0_data(mgf);
  X509_ALGOR* mgf_hash = d2i_X509_ALGOR(nullptr, &r, ASN1_STRING_length(mgf));
  ASSERT_NE(mgf_hash, nullptr);
  EXPECT_EQ(OBJ_obj2nid(mgf_hash->algorithm), hash_nid);
  EXPECT_EQ(ASN1_INTEGER_get(params->saltLength), salt);
  ASSERT_NE(params->trailerField, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(params->trailerField), 1);
  X509_ALGOR_free(mgf_hash);
  RSA_PSS_PARAMS_free(params);
  X509_ALGOR_free(alg);
}

TEST_F(AuthSignature, AlgorithmIdentifierPssSha384And512) {
  expect_pss_params(hex(k_rfc_pss_sha256), NID_sha256, 32);  // the decoder agrees with the RFC
  auto a384 = sign(key("RSA"), octets, rfc7427({wire::hash_alg::sha2_384}));
  ASSERT_TRUE(a384.ok());
  expect_pss_params(alg_id_of(*a384), NID_sha384, 48);
  auto a512 = sign(key("RSA-PSS"), octets, rfc7427({wire::hash_alg::sha2_512}));
  ASSERT_TRUE(a512.ok());
  expect_pss_params(alg_id_of(*a512), NID_sha512, 64);
  EXPECT_TRUE(verify(key("RSA").public_part(), *a384, octets).ok());
  EXPECT_TRUE(verify(key("RSA-PSS").public_part(), *a512, octets).ok());
}

TEST_F(AuthSignature, AlgorithmIdentifierEdDsaMatchesRfc8420) {
  auto a = sign(key("ED25519"), octets, rfc7427());
  ASSERT_TRUE(a.ok()) << a.err().message;
  EXPECT_EQ(alg_id_of(*a), hex(k_rfc_ed25519));
  EXPECT_EQ(a->data.size(), 1 + 7 + 64u);
  auto b = sign(key("ED448"), octets, rfc7427());
  ASSERT_TRUE(b.ok()) << b.err().message;
  EXPECT_EQ(alg_id_of(*b), hex(k_rfc_ed448));
  EXPECT_EQ(b->data.size(), 1 + 7 + 114u);
}

// --- choice of method and hash ---------------------------------------------------

TEST_F(AuthSignature, StrongestCommonHash) {
  auto a = sign(key("RSA"), octets, rfc7427({2, 3, 4, 5}));
  ASSERT_TRUE(a.ok());
  expect_pss_params(alg_id_of(*a), NID_sha512, 64);
  auto b = sign(key("P-256"), octets, rfc7427({5, 3, 2}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(alg_id_of(*b), hex(k_rfc_ecdsa_sha384));
  auto c = sign(key("P-521"), octets, rfc7427({2, 1}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(alg_id_of(*c), hex(k_rfc_ecdsa_sha256));
}

TEST_F(AuthSignature, NoCommonHash) {
  auto a = sign(key("P-256"), octets, rfc7427({wire::hash_alg::sha1}));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.err().code, errc::unsupported);
  auto b = sign(key("ED25519"), octets, rfc7427({2, 3, 4}));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.err().message.find("Identity"), std::string::npos) << b.err().message;
  auto c = sign(key("RSA"), octets, rfc7427({5}));  // Identity only
  ASSERT_FALSE(c.ok());
}

TEST_F(AuthSignature, LegacyWhenPeerAnnouncedNothingOrPolicySaysSo) {
  auto a = sign(key("P-256"), octets, sign_options{true, {}, true});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->method, wire::auth_method::ecdsa_sha256_p256);
  auto b = sign(key("P-384"), octets, sign_options{false, {2, 3, 4}, true});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->method, wire::auth_method::ecdsa_sha384_p384);
  auto c = sign(key("RSA"), octets, sign_options{false, {2, 3, 4}, true});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, wire::auth_method::rsa_sig);
}

TEST_F(AuthSignature, MethodFourteenOnlyKeys) {
  // RSA-PSS, Ed25519 and Ed448 have no legacy method.
  for (const char* k : {"RSA-PSS", "ED25519", "ED448"}) {
    auto a = sign(key(k), octets, sign_options{false, {}, false});
    ASSERT_TRUE(a.ok()) << k << ": " << a.err().message;
    EXPECT_EQ(a->method, wire::auth_method::digital_signature) << k;
    EXPECT_TRUE(verify(key(k).public_part(), *a, octets).ok()) << k;
  }
  auto pss = sign(key("RSA-PSS"), octets, sign_options{false, {}, false});
  EXPECT_EQ(alg_id_of(*pss), hex(k_rfc_pss_sha256));  // SHA-256 when the peer named nothing
}

// --- round trips and failures for every key kind and method ------------------------

TEST_F(AuthSignature, RoundTripMethod14EveryKey) {
  for (const char* k : {"RSA", "RSA-PSS", "P-256", "P-384", "P-521", "ED25519", "ED448"}) {
    for (bool pss : {true, false}) {
      if (std::string(k) == "RSA-PSS" && !pss) continue;  // PSS keys cannot do PKCS#1 v1.5
      auto a = sign(key(k), octets, rfc7427(supported_hash_algorithms(), pss));
      ASSERT_TRUE(a.ok()) << k << ": " << a.err().message;
      EXPECT_EQ(a->method, wire::auth_method::digital_signature);
      EXPECT_TRUE(verify(key(k).public_part(), *a, octets).ok()) << k;

      auto wrong = verify(other(k).public_part(), *a, octets);
      ASSERT_FALSE(wrong.ok()) << k;
      EXPECT_EQ(wrong.err().code, errc::authentication_failed);

      bytes tampered = octets;
      tampered[5] ^= 0x01;
      EXPECT_FALSE(verify(key(k).public_part(), *a, tampered).ok()) << k;

      wire::auth_payload bad_sig = *a;
      bad_sig.data.back() ^= 0x80;
      EXPECT_FALSE(verify(key(k).public_part(), bad_sig, octets).ok()) << k;
    }
  }
}

TEST_F(AuthSignature, RoundTripLegacyRsa) {
  auto a = sign(key("RSA"), octets, sign_options{true, {}, true});
  ASSERT_TRUE(a.ok()) << a.err().message;
  EXPECT_EQ(a->method, wire::auth_method::rsa_sig);
  EXPECT_EQ(a->data.size(), 256u);
  EXPECT_TRUE(verify(key("RSA").public_part(), *a, octets).ok());
  EXPECT_FALSE(verify(other("RSA").public_part(), *a, octets).ok());
  bytes tampered = octets;
  tampered.back() ^= 0x01;
  EXPECT_FALSE(verify(key("RSA").public_part(), *a, tampered).ok());
}

TEST_F(AuthSignature, RoundTripLegacyEcdsaFixedSize) {
  struct { const char* k; wire::auth_method m; std::size_t size; } cases[] = {
      {"P-256", wire::auth_method::ecdsa_sha256_p256, 64},
      {"P-384", wire::auth_method::ecdsa_sha384_p384, 96},
      {"P-521", wire::auth_method::ecdsa_sha512_p521, 132},
  };
  for (auto& c : cases) {
    // Many signatures: r or s with leading zero octets must still come out full size.
    for (int i = 0; i < 20; ++i) {
      bytes msg = octets;
      msg.push_back(static_cast<std::uint8_t>(i));
      auto a = sign(key(c.k), msg, sign_options{false, {}, true});
      ASSERT_TRUE(a.ok()) << c.k << ": " << a.err().message;
      EXPECT_EQ(a->method, c.m);
      EXPECT_EQ(a->data.size(), c.size) << c.k;
      EXPECT_TRUE(verify(key(c.k).public_part(), *a, msg).ok()) << c.k;
      EXPECT_FALSE(verify(other(c.k).public_part(), *a, msg).ok()) << c.k;
      bytes tampered = msg;
      tampered[0] ^= 0x01;
      EXPECT_FALSE(verify(key(c.k).public_part(), *a, tampered).ok()) << c.k;
    }
  }
}

TEST_F(AuthSignature, LegacyEcdsaIsNotDer) {
  auto a = sign(key("P-256"), octets, sign_options{false, {}, true});
  ASSERT_TRUE(a.ok());
  // A DER signature with a one-octet-shorter body would still be rejected for its size.
  wire::auth_payload shorter = *a;
  shorter.data.pop_back();
  auto r = verify(key("P-256").public_part(), shorter, octets);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("63 octets"), std::string::npos) << r.err().message;
}

// --- method vs key type -----------------------------------------------------------

TEST_F(AuthSignature, MethodMustFitKeyType) {
  auto a = sign(key("P-256"), octets, sign_options{false, {}, true});
  ASSERT_TRUE(a.ok());
  wire::auth_payload relabelled = *a;
  relabelled.method = wire::auth_method::ecdsa_sha384_p384;
  auto r = verify(key("P-256").public_part(), relabelled, octets);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::authentication_failed);
  EXPECT_NE(r.err().message.find("method 10"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("ECDSA P-256"), std::string::npos) << r.err().message;

  // An RSA signature checked against an ECDSA key, and the other way round.
  auto rsa = sign(key("RSA"), octets, sign_options{false, {}, true});
  ASSERT_TRUE(rsa.ok());
  auto r2 = verify(key("P-256").public_part(), *rsa, octets);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.err().message.find("method 1"), std::string::npos) << r2.err().message;
  EXPECT_FALSE(verify(key("RSA").public_part(), *a, octets).ok());

  // Method 14 with an AlgorithmIdentifier of another key type.
  auto ed = sign(key("ED25519"), octets, rfc7427());
  ASSERT_TRUE(ed.ok());
  auto r3 = verify(key("ED448").public_part(), *ed, octets);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.err().message.find("Ed25519 does not fit"), std::string::npos) << r3.err().message;

  // RSA-PSS keys only verify PSS, never PKCS#1 v1.5.
  auto pkcs1 = sign(key("RSA"), octets, rfc7427({2}, false));
  ASSERT_TRUE(pkcs1.ok());
  EXPECT_FALSE(verify(key("RSA-PSS").public_part(), *pkcs1, octets).ok());

  // PSK and DSS are not signatures we verify.
  wire::auth_payload psk{wire::auth_method::psk, bytes(32, 1)};
  auto r4 = verify(key("RSA").public_part(), psk, octets);
  ASSERT_FALSE(r4.ok());
  EXPECT_NE(r4.err().message.find("method 2"), std::string::npos);
}

TEST_F(AuthSignature, UnknownAlgorithmIdentifierRejected) {
  auto a = sign(key("RSA"), octets, rfc7427({2}, false));
  ASSERT_TRUE(a.ok());
  // Same signature relabelled as sha1WithRSAEncryption (RFC 7427 A.1.1).
  bytes sha1 = hex(k_rfc_sha1_rsa);
  wire::auth_payload relabelled{wire::auth_method::digital_signature, {}};
  relabelled.data.push_back(static_cast<std::uint8_t>(sha1.size()));
  append(relabelled.data, sha1);
  append(relabelled.data, bytes_view(a->data).subspan(1 + a->data[0]));
  auto r = verify(key("RSA").public_part(), relabelled, octets);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("unknown or unsupported AlgorithmIdentifier " + std::string(k_rfc_sha1_rsa)),
            std::string::npos)
      << r.err().message;
}

TEST_F(AuthSignature, StrictDerPssAccepted) {
  // Peers that encode RSASSA-PSS-params in strict DER leave out trailerField (DEFAULT 1).
  auto a = sign(key("RSA"), octets, rfc7427({2}));
  ASSERT_TRUE(a.ok());
  bytes der = hex(
      "3041 06092a864886f70d01010a 3034"
      "a00f 300d 0609608648016503040201 0500"
      "a11c 301a 06092a864886f70d010108 300d 0609608648016503040201 0500"
      "a203 020120");
  wire::auth_payload strict{wire::auth_method::digital_signature, {}};
  strict.data.push_back(static_cast<std::uint8_t>(der.size()));
  append(strict.data, der);
  append(strict.data, bytes_view(a->data).subspan(1 + a->data[0]));
  EXPECT_TRUE(verify(key("RSA").public_part(), strict, octets).ok());
}

TEST_F(AuthSignature, MalformedMethod14Data) {
  auto pub = key("P-256").public_part();
  for (const char* h : {"", "00", "0c300a06082a8648ce3d04", "0c300a06082a8648ce3d040302", "ff00"}) {
    wire::auth_payload a{wire::auth_method::digital_signature, hex(h)};
    auto r = verify(pub, a, octets);
    ASSERT_FALSE(r.ok()) << h;
    EXPECT_EQ(r.err().code, errc::authentication_failed) << h;
  }
  // A non-DER, too-short ECDSA blob after a good AlgorithmIdentifier.
  wire::auth_payload junk{wire::auth_method::digital_signature, hex("0c300a06082a8648ce3d040302deadbeef")};
  EXPECT_FALSE(verify(pub, junk, octets).ok());
}

// --- key loading -----------------------------------------------------------------

std::string private_pem(const private_key& k, const char* pass = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  int ok = pass ? PEM_write_bio_PKCS8PrivateKey(bio, k.get(), EVP_aes_256_cbc(), pass,
                                                static_cast<int>(std::strlen(pass)), nullptr, nullptr)
                : PEM_write_bio_PrivateKey(bio, k.get(), nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(ok, 1);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

TEST_F(AuthSignature, PrivateKeyPem) {
  for (const char* k : {"RSA", "P-384", "ED25519"}) {
    auto loaded = private_key::from_pem(private_pem(key(k)));
    ASSERT_TRUE(loaded.ok()) << k << ": " << loaded.err().message;
    EXPECT_EQ(loaded->type(), key(k).type());
    EXPECT_EQ(loaded->public_part(), key(k).public_part());
    auto a = sign(*loaded, octets, rfc7427());
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(verify(key(k).public_part(), *a, octets).ok());
  }
  EXPECT_FALSE(private_key::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
  EXPECT_FALSE(private_key::from_pem("").ok());
}

TEST_F(AuthSignature, EncryptedPrivateKeyPem) {
  std::string pem = private_pem(key("P-256"), "s3cret");
  EXPECT_NE(pem.find("ENCRYPTED"), std::string::npos);
  auto good = private_key::from_pem(pem, "s3cret");
  ASSERT_TRUE(good.ok()) << good.err().message;
  EXPECT_EQ(good->public_part(), key("P-256").public_part());
  auto wrong = private_key::from_pem(pem, "guess");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.err().message.find("passphrase"), std::string::npos);
  EXPECT_FALSE(private_key::from_pem(pem).ok());  // no prompt, just a failure
}

TEST_F(AuthSignature, PublicKeyForms) {
  public_key pub = key("P-256").public_part();
  bytes spki = pub.spki_der();
  ASSERT_FALSE(spki.empty());
  auto from_der = public_key::from_spki_der(spki);
  ASSERT_TRUE(from_der.ok()) << from_der.err().message;
  EXPECT_EQ(*from_der, pub);
  auto from_pem = public_key::from_pem(pub.to_pem());
  ASSERT_TRUE(from_pem.ok()) << from_pem.err().message;
  EXPECT_EQ(from_pem->spki_der(), spki);
  EXPECT_EQ(from_pem->type(), key_type::ecdsa_p256);

  // fingerprint = SHA-256 over the SPKI DER
  unsigned char md[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(spki.data(), spki.size(), md, &len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(pub.fingerprint(), bytes(md, md + len));
  EXPECT_NE(pub.fingerprint(), other("P-256").public_part().fingerprint());

  bytes trailing = spki;
  trailing.push_back(0);
  EXPECT_FALSE(public_key::from_spki_der(trailing).ok());
  bytes truncated(spki.begin(), spki.end() - 1);
  EXPECT_FALSE(public_key::from_spki_der(truncated).ok());
  EXPECT_FALSE(public_key::from_spki_der({}).ok());
  EXPECT_FALSE(public_key::from_pem("not a key").ok());

  // RFC 7670 raw public key verify: the peer's SPKI from the CERT payload verifies AUTH.
  auto a = sign(key("P-256"), octets, rfc7427());
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(verify(*from_der, *a, octets).ok());
}

TEST_F(AuthSignature, UnsupportedKeyTypesRejected) {
  std::unique_ptr<EVP_PKEY, evp_free> k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  ASSERT_NE(k1, nullptr);
  auto r1 = private_key::from_evp(k1.get());
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.err().code, errc::unsupported);
  EXPECT_NE(r1.err().message.find("secp256k1"), std::string::npos) << r1.err().message;

  std::unique_ptr<EVP_PKEY, evp_free> k2(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  ASSERT_NE(k2, nullptr);
  EXPECT_FALSE(public_key::from_evp(k2.get()).ok());
}

}  // namespace
}  // namespace aike::auth
