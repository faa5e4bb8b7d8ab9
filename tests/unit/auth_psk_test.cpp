// Shared-key AUTH and the signed octets (RFC 7296 §2.15).
#include <gtest/gtest.h>

#include "engine/auth/psk.hpp"
#include "engine/auth/signed_octets.hpp"
#include "engine/wire/constants.hpp"

namespace aike::auth {
namespace {

// The expected values below were computed independently with Python's hmac module:
//
//   import hmac, hashlib
//   msg   = bytes(range(0x00, 0x40))          # RealMessage1
//   nonce = bytes(range(0xa0, 0xc0))          # NonceRData
//   sk_pi = bytes(range(0x01, 0x21))
//   rest  = bytes([2, 0, 0, 0]) + b"moon.example.org"   # ID_FQDN | RESERVED | data
//   maced = hmac.new(sk_pi, rest, hashlib.sha256).digest()
//   octets = msg + nonce + maced
//   secret = b"sharedsecret-moon-sun"
//   for h in (hashlib.sha256, hashlib.sha384, hashlib.sha1):
//       pad = hmac.new(secret, b"Key Pad for IKEv2", h).digest()
//       print(hmac.new(pad, octets, h).digest().hex())
constexpr const char* k_maced_id = "a5a0e84294c81c64242ff241f19e730d94e006eae6ec5145a5d5f44806203424";
constexpr const char* k_auth_sha256 = "6fae0604f95ff0eca8fa687b6f01e086e3e3ac7390697f556252ec6992618666";
constexpr const char* k_auth_sha384 =
    "8dae0f0dd19bef3b729a8df35ab96403b69830b6683127b620de71677a2e8ec33113ab39609ea404442e3fee769c953e";
constexpr const char* k_auth_sha1 = "02e6526c6bd075d66e5c2f46d0a0420922a963ab";

bytes range(int from, int to) {
  bytes b;
  for (int i = from; i < to; ++i) b.push_back(static_cast<std::uint8_t>(i));
  return b;
}

crypto::prf make_prf(std::uint16_t id) {
  auto p = crypto::prf::create(id);
  EXPECT_TRUE(p.ok());
  return *p;
}

class AuthPsk : public ::testing::Test {
 protected:
  bytes msg = range(0x00, 0x40);
  bytes nonce = range(0xa0, 0xc0);
  bytes sk_pi = range(0x01, 0x21);
  identity id = *identity::parse("moon.example.org");
  bytes secret = to_bytes("sharedsecret-moon-sun");
  crypto::prf sha256 = make_prf(wire::prf::hmac_sha2_256);
};

TEST_F(AuthPsk, IdPayloadBody) {
  EXPECT_EQ(to_hex(id_payload_body(id)), "02000000" + to_hex(to_bytes("moon.example.org")));
  EXPECT_EQ(to_hex(id_payload_body(*identity::parse("10.0.0.1"))), "010000000a000001");
}

TEST_F(AuthPsk, SignedOctets) {
  bytes octets = signed_octets(msg, nonce, sha256, sk_pi, id);
  ASSERT_EQ(octets.size(), 64u + 32u + 32u);
  EXPECT_EQ(bytes(octets.begin(), octets.begin() + 64), msg);
  EXPECT_EQ(bytes(octets.begin() + 64, octets.begin() + 96), nonce);
  EXPECT_EQ(to_hex(bytes_view(octets).subspan(96)), k_maced_id);

  // Each input changes the result.
  EXPECT_NE(signed_octets(msg, nonce, sha256, range(0x02, 0x22), id), octets);
  EXPECT_NE(signed_octets(msg, nonce, sha256, sk_pi, *identity::parse("sun.example.org")), octets);
  EXPECT_NE(signed_octets(msg, range(0xa1, 0xc1), sha256, sk_pi, id), octets);
}

TEST_F(AuthPsk, MatchesIndependentComputation) {
  bytes octets = signed_octets(msg, nonce, sha256, sk_pi, id);
  EXPECT_EQ(to_hex(psk_auth(sha256, secret, octets)), k_auth_sha256);
  EXPECT_EQ(to_hex(psk_auth(make_prf(wire::prf::hmac_sha2_384), secret, octets)), k_auth_sha384);
  EXPECT_EQ(to_hex(psk_auth(make_prf(wire::prf::hmac_sha1), secret, octets)), k_auth_sha1);
}

TEST_F(AuthPsk, VerifyAcceptsAndRejects) {
  bytes octets = signed_octets(msg, nonce, sha256, sk_pi, id);
  bytes auth = psk_auth(sha256, secret, octets);
  EXPECT_TRUE(psk_verify(sha256, secret, octets, auth));

  // One bit flipped anywhere in the AUTH data.
  for (std::size_t i = 0; i < auth.size(); ++i) {
    bytes bad = auth;
    bad[i] ^= 0x01;
    EXPECT_FALSE(psk_verify(sha256, secret, octets, bad)) << i;
  }
  // One bit flipped in the octets or the secret.
  bytes bad_octets = octets;
  bad_octets[10] ^= 0x01;
  EXPECT_FALSE(psk_verify(sha256, secret, bad_octets, auth));
  bytes bad_secret = secret;
  bad_secret[0] ^= 0x01;
  EXPECT_FALSE(psk_verify(sha256, bad_secret, octets, auth));
  // Truncated, extended, empty.
  EXPECT_FALSE(psk_verify(sha256, secret, octets, bytes(auth.begin(), auth.end() - 1)));
  bytes longer = auth;
  longer.push_back(0);
  EXPECT_FALSE(psk_verify(sha256, secret, octets, longer));
  EXPECT_FALSE(psk_verify(sha256, secret, octets, {}));
  // The same MIC under another PRF does not verify.
  EXPECT_FALSE(psk_verify(make_prf(wire::prf::hmac_sha2_512), secret, octets, auth));
}

}  // namespace
}  // namespace aike::auth
