// PRF and prf+ (RFC 7296 §2.13) over the HMAC PRFs, against published HMAC vectors
// (RFC 4231 §4 for SHA-2, RFC 2202 §3 for SHA-1) and an independent prf+ computation.
#include <gtest/gtest.h>

#include <string>

#include "engine/crypto/prf.hpp"
#include "engine/wire/constants.hpp"

using namespace aike;
using aike::crypto::prf;

namespace {

bytes hex(std::string_view s) {
  bytes out;
  EXPECT_TRUE(from_hex(s, out)) << s;
  return out;
}

bytes repeat(std::uint8_t b, std::size_t n) { return bytes(n, b); }

prf make(std::uint16_t id) {
  auto p = prf::create(id);
  EXPECT_TRUE(p.ok());
  return std::move(p).value();
}

struct hmac_case {
  const char* name;
  bytes key;
  bytes data;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

// RFC 4231 §4.2-§4.8, test cases 1-7 (test case 5 is the truncation case: §4.6 only
// publishes the leftmost 128 bits, so only those are compared).
std::vector<hmac_case> rfc4231_cases() {
  return {
      {"TC1", repeat(0x0b, 20), to_bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"TC2", to_bytes("Jefe"), to_bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"TC3", repeat(0xaa, 20), repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
      {"TC4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), repeat(0xcd, 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
      {"TC5 (truncated to 128 bits)", repeat(0x0c, 20), to_bytes("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b", "3abf34c3503b2a23a46efc619baef897", "415fad6271580a531d4179bc891d87a6"},
      {"TC6", repeat(0xaa, 131), to_bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {"TC7", repeat(0xaa, 131),
       to_bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs "
                "to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
}

// The published value may be a truncation (TC5): compare the leading octets.
void expect_prefix(const bytes& full, const char* expected_hex, const std::string& what) {
  const bytes expected = hex(expected_hex);
  ASSERT_LE(expected.size(), full.size()) << what;
  EXPECT_EQ(to_hex(bytes_view(full).first(expected.size())), to_hex(expected)) << what;
}

}  // namespace

TEST(CryptoPrf, CreateKnowsSizes) {
  EXPECT_EQ(make(wire::prf::hmac_sha1).output_size(), 20u);
  EXPECT_EQ(make(wire::prf::hmac_sha2_256).output_size(), 32u);
  EXPECT_EQ(make(wire::prf::hmac_sha2_384).output_size(), 48u);
  EXPECT_EQ(make(wire::prf::hmac_sha2_512).output_size(), 64u);
  EXPECT_EQ(make(wire::prf::hmac_sha2_384).key_size(), 48u);
  EXPECT_EQ(make(wire::prf::hmac_sha2_512).id(), wire::prf::hmac_sha2_512);
}

TEST(CryptoPrf, UnsupportedPrfsAreRefused) {
  for (std::uint16_t id : {wire::prf::hmac_md5, wire::prf::aes128_xcbc, wire::prf::aes128_cmac, std::uint16_t{999}}) {
    auto p = prf::create(id);
    ASSERT_FALSE(p.ok()) << id;
    EXPECT_EQ(p.err().code, errc::unsupported);
  }
}

TEST(CryptoPrf, Rfc4231HmacSha2) {
  const prf s256 = make(wire::prf::hmac_sha2_256);
  const prf s384 = make(wire::prf::hmac_sha2_384);
  const prf s512 = make(wire::prf::hmac_sha2_512);
  for (const auto& c : rfc4231_cases()) {
    const bytes r256 = s256.compute(c.key, c.data);
    const bytes r384 = s384.compute(c.key, c.data);
    const bytes r512 = s512.compute(c.key, c.data);
    ASSERT_EQ(r256.size(), 32u) << c.name;
    ASSERT_EQ(r384.size(), 48u) << c.name;
    ASSERT_EQ(r512.size(), 64u) << c.name;
    expect_prefix(r256, c.sha256, std::string(c.name) + " SHA-256");
    expect_prefix(r384, c.sha384, std::string(c.name) + " SHA-384");
    expect_prefix(r512, c.sha512, std::string(c.name) + " SHA-512");
  }
}

TEST(CryptoPrf, Rfc2202HmacSha1) {
  // RFC 2202 §3, test cases 1-7.
  const prf s1 = make(wire::prf::hmac_sha1);
  struct {
    bytes key, data;
    const char* mac;
  } cases[] = {
      {repeat(0x0b, 20), to_bytes("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00"},
      {to_bytes("Jefe"), to_bytes("what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {repeat(0xaa, 20), repeat(0xdd, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), repeat(0xcd, 50),
       "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
      {repeat(0x0c, 20), to_bytes("Test With Truncation"), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
      {repeat(0xaa, 80), to_bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      {repeat(0xaa, 80), to_bytes("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
       "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
  };
  for (const auto& c : cases) EXPECT_EQ(to_hex(s1.compute(c.key, c.data)), c.mac);
}

TEST(CryptoPrf, EmptyKeyAndData) {
  // HMAC is defined for an empty key; value from python3:
  //   hmac.new(b'', b'', 'sha256').hexdigest()
  EXPECT_EQ(to_hex(make(wire::prf::hmac_sha2_256).compute({}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// Expected prf+ outputs come from an independent implementation of §2.13 in python3:
//   import hmac
//   def prfplus(h, k, s, n):
//       out, t, i = b'', b'', 1
//       while len(out) < n:
//           t = hmac.new(k, t + s + bytes([i]), h).digest(); out += t; i += 1
//       return out[:n]
TEST(CryptoPrf, PrfPlusMatchesIndependentComputation) {
  // prfplus('sha256', b'key-0123', b'seed', 100): 4 blocks, the last one cut.
  auto a = make(wire::prf::hmac_sha2_256).plus(to_bytes("key-0123"), to_bytes("seed"), 100);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(to_hex(*a),
            "8fbef450f234ca685d8fab89f3ab7151a88d5defbc491cbd45a69f6c9ae8a9b3eb6f298cf6c8cdea0dfd3d809c7cebc0af5f56b1"
            "1550c04428366f7d5bc642d09226533a34c7a383f7f831047437780b9e1829f7dfc66e8412c9932507d4ae2f9d963c0b");

  // prfplus('sha1', b'\x01'*20, b'Ni|Nr|SPIs', 40): exactly two blocks.
  auto b = make(wire::prf::hmac_sha1).plus(repeat(0x01, 20), to_bytes("Ni|Nr|SPIs"), 40);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(to_hex(*b), "ed83d5a46df7b55fd36634366acc7ff6a218ca875def05500921b74b8da4307e828ff44a1d3dd6b9");

  // prfplus('sha384', b'k', b'', 48): one block, empty seed.
  auto c = make(wire::prf::hmac_sha2_384).plus(to_bytes("k"), {}, 48);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(to_hex(*c),
            "882ac67964d27892acaea6d1ee1ad193a3a52018a41925084346139e4164a27a8b18447e7a1296af054823c8645e1033");

  // prfplus('sha512', bytes(range(64)), b'\xaa'*33, 200)
  bytes k512(64);
  for (std::size_t i = 0; i < k512.size(); ++i) k512[i] = static_cast<std::uint8_t>(i);
  auto d = make(wire::prf::hmac_sha2_512).plus(k512, repeat(0xaa, 33), 200);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(to_hex(*d),
            "56505c240440b081a1a89eb4c7bad3162e390f909ee4c2f5a9b12ebbf6a8958590d026a2872527e27d6f6d590e8845ee653d5594"
            "1e1e9cb7774975c9babe5407844ee0ed565e1cb2bdcb8ad3584bc8e076b53d30005508b9b2081c316feac3fb3a83127cdc4bc02d"
            "8b42e0cd32b6402d37e246f1b4552aee77c4e710eaae2b8569cbb70d6cc95463efa38cf0e0986d6368ac96b28ab840f32309ee8f"
            "49f3d30c9e627c3a9517f36cbf3fa515704ca8adfd06e71fac0838a93095732f95032b876a1e2c7ca5ec9472");
}

TEST(CryptoPrf, PrfPlusPrefixProperty) {
  // Shorter outputs are prefixes of longer ones (same T1, T2, ...).
  const prf p = make(wire::prf::hmac_sha2_256);
  auto long_out = p.plus(to_bytes("K"), to_bytes("S"), 97);
  auto short_out = p.plus(to_bytes("K"), to_bytes("S"), 33);
  ASSERT_TRUE(long_out.ok() && short_out.ok());
  EXPECT_EQ(to_hex(bytes_view(*long_out).first(33)), to_hex(*short_out));
  auto none = p.plus(to_bytes("K"), to_bytes("S"), 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(CryptoPrf, PrfPlusAt255BlockLimit) {
  const prf p = make(wire::prf::hmac_sha2_256);
  // 255 blocks is the most the one-octet counter allows.
  // python3: prfplus('sha256', b'big', b'seed', 255*32)[-16:].hex()
  auto max = p.plus(to_bytes("big"), to_bytes("seed"), 255 * 32);
  ASSERT_TRUE(max.ok());
  ASSERT_EQ(max->size(), 255u * 32u);
  EXPECT_EQ(to_hex(bytes_view(*max).last(16)), "0045771c8b10e7f7c4820088370e77b0");

  // One octet more would need a 256th block.
  auto over = p.plus(to_bytes("big"), to_bytes("seed"), 255 * 32 + 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.err().code, errc::invalid_argument);
  EXPECT_NE(over.err().message.find("255"), std::string::npos);

  auto over_sha1 = make(wire::prf::hmac_sha1).plus(to_bytes("k"), {}, 255 * 20 + 1);
  EXPECT_FALSE(over_sha1.ok());
  EXPECT_TRUE(make(wire::prf::hmac_sha1).plus(to_bytes("k"), {}, 255 * 20).ok());
}
