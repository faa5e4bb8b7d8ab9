// SK payload protection (RFC 7296 §3.14): AES-GCM (RFC 5282) and ChaCha20-Poly1305 (RFC 7634)
// checked against published AEAD vectors, AES-CBC + HMAC against NIST SP 800-38A and an
// independently computed ICV, plus round trips, tampering and malformed bodies.
#include <gtest/gtest.h>

#include <string>

#include "engine/crypto/algorithms.hpp"
#include "engine/crypto/random.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/wire/constants.hpp"

using namespace aike;
using aike::crypto::sk_cipher;
using aike::crypto::sk_keys;

namespace {

bytes hex(std::string_view s) {
  bytes out;
  EXPECT_TRUE(from_hex(s, out)) << s;
  return out;
}

bytes cat(std::initializer_list<bytes_view> parts) {
  bytes out;
  for (auto p : parts) append(out, p);
  return out;
}

std::unique_ptr<sk_cipher> make(std::uint16_t encr, std::uint16_t bits, std::uint16_t integ) {
  auto c = sk_cipher::create(encr, bits, integ);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.err().message);
  return c.ok() ? std::move(c).value() : nullptr;
}

struct suite {
  std::uint16_t encr, bits, integ;
  std::size_t encr_key, integ_key, iv, icv, block;
};

const suite all_suites[] = {
    {wire::encr::aes_cbc, 128, wire::integ::hmac_sha1_96, 16, 20, 16, 12, 16},
    {wire::encr::aes_cbc, 128, wire::integ::hmac_sha2_256_128, 16, 32, 16, 16, 16},
    {wire::encr::aes_cbc, 192, wire::integ::hmac_sha2_384_192, 24, 48, 16, 24, 16},
    {wire::encr::aes_cbc, 256, wire::integ::hmac_sha2_512_256, 32, 64, 16, 32, 16},
    {wire::encr::aes_cbc, 256, wire::integ::hmac_sha2_256_128, 32, 32, 16, 16, 16},
    {wire::encr::aes_gcm_8, 128, wire::integ::none, 20, 0, 8, 8, 1},
    {wire::encr::aes_gcm_12, 192, wire::integ::none, 28, 0, 8, 12, 1},
    {wire::encr::aes_gcm_16, 256, wire::integ::none, 36, 0, 8, 16, 1},
    {wire::encr::aes_gcm_16, 128, wire::integ::none, 20, 0, 8, 16, 1},
    {wire::encr::chacha20_poly1305, 0, wire::integ::none, 36, 0, 8, 16, 1},
    {wire::encr::chacha20_poly1305, 256, wire::integ::none, 36, 0, 8, 16, 1},
};

sk_keys random_keys(const sk_cipher& c) {
  return sk_keys{crypto::random_bytes(c.encr_key_size()), crypto::random_bytes(c.integ_key_size())};
}

// An IKE header + SK generic header as the AAD / start of the ICV input (contents do not
// matter to the cipher, only that both sides use the same bytes).
const bytes ike_header = hex("0011223344556677 8899aabbccddeeff 2e202508 00000001 0000006c 2e000050");

std::string suite_name(const suite& s) {
  return std::to_string(s.encr) + "/" + std::to_string(s.bits) + "/" + std::to_string(s.integ);
}

void expect_code(const result<bytes>& r, errc code, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.err().code, code) << what << ": " << r.err().message;
}

// GCM spec (McGrew & Viega, "The Galois/Counter Mode of Operation") test cases 4, 10 and 16:
// K, 96-bit IV = cafebabefacedbaddecaf888, A, P (60 octets) -> C, T. Used here with
// salt = cafebabe and the 8-octet explicit IV facedbaddecaf888 (RFC 5282 nonce = salt || IV).
const char* const gcm_p =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
    "57ba637b39";
const char* const gcm_a = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
struct gcm_vector {
  std::uint16_t bits;
  const char *key, *c, *t;
};
const gcm_vector gcm_with_aad[] = {
    {128, "feffe9928665731c6d6a8f9467308308",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac97"
     "3d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {192, "feffe9928665731c6d6a8f9467308308feffe9928665731c",
     "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9"
     "ccda2710",
     "2519498e80f1478f37ba55bd6d27618c"},
    {256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0a"
     "bcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

}  // namespace

TEST(CryptoAlgorithms, EncrAndIntegSizes) {
  auto cbc = crypto::encr_algorithm(wire::encr::aes_cbc, 192);
  ASSERT_TRUE(cbc.ok());
  EXPECT_EQ(cbc->key_size, 24u);
  EXPECT_EQ(cbc->salt_size, 0u);
  EXPECT_EQ(cbc->iv_size, 16u);
  EXPECT_EQ(cbc->block_size, 16u);
  EXPECT_FALSE(cbc->aead);
  auto gcm = crypto::encr_algorithm(wire::encr::aes_gcm_12, 256);
  ASSERT_TRUE(gcm.ok());
  EXPECT_EQ(gcm->keymat_size(), 36u);
  EXPECT_EQ(gcm->icv_size, 12u);
  EXPECT_TRUE(gcm->aead);
  auto chacha = crypto::encr_algorithm(wire::encr::chacha20_poly1305, 0);
  ASSERT_TRUE(chacha.ok());
  EXPECT_EQ(chacha->keymat_size(), 36u);
  EXPECT_EQ(chacha->icv_size, 16u);

  EXPECT_EQ(crypto::encr_algorithm(wire::encr::aes_cbc, 0).err().code, errc::invalid_argument);
  EXPECT_EQ(crypto::encr_algorithm(wire::encr::aes_gcm_16, 64).err().code, errc::invalid_argument);
  EXPECT_EQ(crypto::encr_algorithm(wire::encr::chacha20_poly1305, 128).err().code, errc::invalid_argument);
  EXPECT_EQ(crypto::encr_algorithm(wire::encr::des3, 0).err().code, errc::unsupported);

  struct {
    std::uint16_t id;
    std::size_t key, icv;
  } integ[] = {{wire::integ::hmac_sha1_96, 20, 12},
               {wire::integ::hmac_sha2_256_128, 32, 16},
               {wire::integ::hmac_sha2_384_192, 48, 24},
               {wire::integ::hmac_sha2_512_256, 64, 32},
               {wire::integ::none, 0, 0}};
  for (const auto& i : integ) {
    auto info = crypto::integ_algorithm(i.id);
    ASSERT_TRUE(info.ok()) << i.id;
    EXPECT_EQ(info->key_size, i.key) << i.id;
    EXPECT_EQ(info->icv_size, i.icv) << i.id;
  }
  EXPECT_EQ(crypto::integ_algorithm(wire::integ::hmac_md5_96).err().code, errc::unsupported);
}

TEST(CryptoSkCipher, CreateReportsSizes) {
  for (const auto& s : all_suites) {
    SCOPED_TRACE(suite_name(s));
    auto c = make(s.encr, s.bits, s.integ);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->encr_key_size(), s.encr_key);
    EXPECT_EQ(c->integ_key_size(), s.integ_key);
    EXPECT_EQ(c->iv_size(), s.iv);
    EXPECT_EQ(c->icv_size(), s.icv);
    EXPECT_EQ(c->block_size(), s.block);
    EXPECT_EQ(c->is_aead(), s.integ == wire::integ::none);
  }
}

TEST(CryptoSkCipher, CreateRefusesBadCombinations) {
  auto aead_with_integ = sk_cipher::create(wire::encr::aes_gcm_16, 128, wire::integ::hmac_sha2_256_128);
  ASSERT_FALSE(aead_with_integ.ok());
  EXPECT_EQ(aead_with_integ.err().code, errc::invalid_argument);
  auto cbc_without_integ = sk_cipher::create(wire::encr::aes_cbc, 128, wire::integ::none);
  EXPECT_FALSE(cbc_without_integ.ok());
  auto cbc_md5 = sk_cipher::create(wire::encr::aes_cbc, 128, wire::integ::hmac_md5_96);
  ASSERT_FALSE(cbc_md5.ok());
  EXPECT_EQ(cbc_md5.err().code, errc::unsupported);
  auto gcm_no_len = sk_cipher::create(wire::encr::aes_gcm_16, 0, wire::integ::none);
  ASSERT_FALSE(gcm_no_len.ok());
  EXPECT_EQ(gcm_no_len.err().code, errc::invalid_argument);
  auto unknown = sk_cipher::create(wire::encr::aes_ccm_16, 128, wire::integ::none);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err().code, errc::unsupported);
}

// GCM spec test cases 2 (AES-128), 8 (AES-192), 14 (AES-256): K = 0, IV = 0 (salt 00000000 ||
// IV 0000000000000000), P = 16 zero octets, no AAD. seal() pads a 15-octet plaintext with the
// Pad Length octet 0 only, which makes exactly that P.
TEST(CryptoSkCipher, GcmSpecZeroVectorsThroughSeal) {
  struct {
    std::uint16_t bits;
    const char *c, *t;
  } cases[] = {
      {128, "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},  // test case 2
      {192, "98e7247c07f0fe411c267e4384b0f600", "2ff58d80033927ab8ef4d4587514f0fb"},  // test case 8
      {256, "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},  // test case 14
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.bits);
    auto c = make(wire::encr::aes_gcm_16, tc.bits, wire::integ::none);
    ASSERT_TRUE(c);
    const sk_keys keys{bytes(tc.bits / 8 + 4, 0), {}};
    const bytes iv(8, 0);
    auto body = c->seal_with_iv(keys, {}, bytes(15, 0), iv);
    ASSERT_TRUE(body.ok()) << body.err().message;
    EXPECT_EQ(to_hex(*body), to_hex(cat({iv, hex(tc.c), hex(tc.t)})));
    auto back = c->open(keys, {}, *body);
    ASSERT_TRUE(back.ok()) << back.err().message;
    EXPECT_EQ(*back, bytes(15, 0));
  }
  // AES-GCM with an 8-octet ICV sends the leading 8 octets of the same tag (test case 2).
  auto gcm8 = make(wire::encr::aes_gcm_8, 128, wire::integ::none);
  ASSERT_TRUE(gcm8);
  auto body8 = gcm8->seal_with_iv(sk_keys{bytes(20, 0), {}}, {}, bytes(15, 0), bytes(8, 0));
  ASSERT_TRUE(body8.ok());
  EXPECT_EQ(to_hex(*body8), "0000000000000000" "0388dace60b6a392f328c2b971b2fe78" "ab6e47d42cec13bd");
}

// GCM spec test cases 4, 10, 16 (with AAD) for all three ICV lengths.
TEST(CryptoSkCipher, GcmSpecVectorsWithAad) {
  const bytes salt = hex("cafebabe");
  const bytes iv = hex("facedbaddecaf888");
  const bytes aad = hex(gcm_a);
  const bytes p = hex(gcm_p);
  for (const auto& v : gcm_with_aad) {
    for (std::uint16_t encr : {wire::encr::aes_gcm_8, wire::encr::aes_gcm_12, wire::encr::aes_gcm_16}) {
      SCOPED_TRACE(std::to_string(v.bits) + " bits, transform " + std::to_string(encr));
      auto c = make(encr, v.bits, wire::integ::none);
      ASSERT_TRUE(c);
      const sk_keys keys{cat({hex(v.key), salt}), {}};
      auto body = c->seal_padded(keys, aad, iv, p);
      ASSERT_TRUE(body.ok()) << body.err().message;
      const bytes tag = hex(v.t);
      const bytes expected = cat({iv, hex(v.c), bytes_view(tag).first(c->icv_size())});
      EXPECT_EQ(to_hex(*body), to_hex(expected));
      // P ends in 0x39: Pad Length 57, so the inner payloads are P's first 60 - 58 = 2 octets.
      auto back = c->open(keys, aad, expected);
      ASSERT_TRUE(back.ok()) << back.err().message;
      EXPECT_EQ(to_hex(*back), "d931");
      // A different AAD (e.g. a modified IKE header) must not verify.
      bytes other_aad = aad;
      other_aad[0] ^= 0x80;
      expect_code(c->open(keys, other_aad, expected), errc::integrity_check_failed, "AAD changed");
    }
  }
}

// RFC 8439 §2.8.2: AEAD_CHACHA20_POLY1305 with nonce 07000000 || 4041424344454647, which
// RFC 7634 builds as salt (07000000) || IV (4041424344454647).
TEST(CryptoSkCipher, ChaCha20Poly1305Rfc8439Vector) {
  auto c = make(wire::encr::chacha20_poly1305, 0, wire::integ::none);
  ASSERT_TRUE(c);
  bytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x80 + i);
  const sk_keys keys{cat({key, hex("07000000")}), {}};
  const bytes iv = hex("4041424344454647");
  const bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
  const bytes plaintext = to_bytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would "
      "be it.");
  ASSERT_EQ(plaintext.size(), 114u);
  const char* ct =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b"
      "2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586"
      "cec64b6116";
  const char* tag = "1ae10b594f09e26a7e902ecbd0600691";
  auto body = c->seal_padded(keys, aad, iv, plaintext);
  ASSERT_TRUE(body.ok()) << body.err().message;
  EXPECT_EQ(to_hex(*body), to_hex(cat({iv, hex(ct), hex(tag)})));
  // The last plaintext octet is '.', 0x2e: Pad Length 46, so 114 - 47 = 67 octets remain.
  auto back = c->open(keys, aad, *body);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(std::string(back->begin(), back->end()),
            "Ladies and Gentlemen of the class of '99: If I could offer you only");
}

// AES-CBC: NIST SP 800-38A §F.2.1 (CBC-AES128.Encrypt) gives the ciphertext; the ICV over
// header || IV || C was computed independently in python3:
//   hmac.new(bytes(range(0x40, 0x60)), hdr + iv + c, 'sha256').hexdigest()[:32]
//   hmac.new(bytes(range(0x40, 0x54)), hdr + iv + c, 'sha1').hexdigest()[:24]
// with hdr = the 32-octet ike_header above.
TEST(CryptoSkCipher, AesCbcHmacVector) {
  const bytes key = hex("2b7e151628aed2a6abf7158809cf4f3c");
  const bytes iv = hex("000102030405060708090a0b0c0d0e0f");
  const bytes p = hex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b"
      "17ad2b417be66c3710");
  const bytes c = hex(
      "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac"
      "09120eca307586e1a7");
  struct {
    std::uint16_t integ;
    std::uint8_t sk_a_len;
    const char* icv;
  } cases[] = {
      {wire::integ::hmac_sha2_256_128, 32, "daecc4f148a7af1035af22adc9438d00"},
      {wire::integ::hmac_sha1_96, 20, "fec89e3d65654dbacf6bdd57"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.integ);
    auto cipher = make(wire::encr::aes_cbc, 128, tc.integ);
    ASSERT_TRUE(cipher);
    bytes sk_a(tc.sk_a_len);
    for (std::size_t i = 0; i < sk_a.size(); ++i) sk_a[i] = static_cast<std::uint8_t>(0x40 + i);
    const sk_keys keys{key, sk_a};
    auto body = cipher->seal_padded(keys, ike_header, iv, p);
    ASSERT_TRUE(body.ok()) << body.err().message;
    EXPECT_EQ(to_hex(*body), to_hex(cat({iv, c, hex(tc.icv)})));
    // P ends in 0x10: Pad Length 16, so 64 - 17 = 47 octets of inner payloads.
    auto back = cipher->open(keys, ike_header, *body);
    ASSERT_TRUE(back.ok()) << back.err().message;
    EXPECT_EQ(to_hex(*back), to_hex(bytes_view(p).first(47)));
  }
}

TEST(CryptoSkCipher, CbcSealPadsToTheBlockSize) {
  auto c = make(wire::encr::aes_cbc, 128, wire::integ::hmac_sha2_256_128);
  ASSERT_TRUE(c);
  const sk_keys keys = random_keys(*c);
  // n octets of payload + 1 Pad Length octet, rounded up to 16.
  for (std::size_t n : {0u, 1u, 14u, 15u, 16u, 17u, 31u, 100u}) {
    auto body = c->seal(keys, ike_header, bytes(n, 0x42));
    ASSERT_TRUE(body.ok());
    const std::size_t padded = (n + 1 + 15) / 16 * 16;
    EXPECT_EQ(body->size(), 16 + padded + 16) << n;
  }
}

TEST(CryptoSkCipher, RoundTripEverySuite) {
  for (const auto& s : all_suites) {
    SCOPED_TRACE(suite_name(s));
    auto c = make(s.encr, s.bits, s.integ);
    ASSERT_TRUE(c);
    const sk_keys keys = random_keys(*c);
    for (std::size_t n : {0u, 1u, 7u, 15u, 16u, 33u, 255u, 1000u}) {
      const bytes plaintext = crypto::random_bytes(n);
      auto body = c->seal(keys, ike_header, plaintext);
      ASSERT_TRUE(body.ok()) << body.err().message;
      const std::size_t padded = s.block == 1 ? n + 1 : (n + 1 + s.block - 1) / s.block * s.block;
      EXPECT_EQ(body->size(), s.iv + padded + s.icv) << n;
      auto back = c->open(keys, ike_header, *body);
      ASSERT_TRUE(back.ok()) << back.err().message;
      EXPECT_EQ(*back, plaintext) << n;
    }
    // Fresh IVs: the same plaintext twice gives different bodies.
    auto a = c->seal(keys, ike_header, to_bytes("same"));
    auto b = c->seal(keys, ike_header, to_bytes("same"));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b);
  }
}

TEST(CryptoSkCipher, TamperingIsAnIntegrityFailure) {
  for (const auto& s : all_suites) {
    SCOPED_TRACE(suite_name(s));
    auto c = make(s.encr, s.bits, s.integ);
    ASSERT_TRUE(c);
    const sk_keys keys = random_keys(*c);
    auto body = c->seal(keys, ike_header, to_bytes("IDi AUTH SA TSi TSr payloads"));
    ASSERT_TRUE(body.ok());
    // One flipped bit anywhere in IV, ciphertext or ICV.
    for (std::size_t pos : {std::size_t{0}, s.iv, body->size() / 2, body->size() - s.icv, body->size() - 1}) {
      bytes bad = *body;
      bad[pos] ^= 0x01;
      expect_code(c->open(keys, ike_header, bad), errc::integrity_check_failed, "bit flipped at " + std::to_string(pos));
    }
    // A changed header (AAD / ICV input).
    bytes header = ike_header;
    header[17] ^= 0x08;  // the Flags octet
    expect_code(c->open(keys, header, *body), errc::integrity_check_failed, "header changed");
    // The other direction's keys.
    expect_code(c->open(random_keys(*c), ike_header, *body), errc::integrity_check_failed, "wrong keys");
  }
}

TEST(CryptoSkCipher, MalformedBodiesAreRefusedBeforeDecryption) {
  for (const auto& s : all_suites) {
    SCOPED_TRACE(suite_name(s));
    auto c = make(s.encr, s.bits, s.integ);
    ASSERT_TRUE(c);
    const sk_keys keys = random_keys(*c);
    expect_code(c->open(keys, ike_header, {}), errc::integrity_check_failed, "empty body");
    // IV + ICV but no ciphertext at all.
    expect_code(c->open(keys, ike_header, bytes(s.iv + s.icv, 0)), errc::integrity_check_failed, "no ciphertext");
    if (s.block > 1) {
      // Ciphertext that is not a whole number of blocks.
      expect_code(c->open(keys, ike_header, bytes(s.iv + s.block + 5 + s.icv, 0)), errc::integrity_check_failed,
                  "partial block");
    }
  }
}

TEST(CryptoSkCipher, BadPadLengthIsInvalidSyntax) {
  // Authenticated, but the Pad Length claims more octets than were decrypted.
  for (const auto& s : all_suites) {
    SCOPED_TRACE(suite_name(s));
    auto c = make(s.encr, s.bits, s.integ);
    ASSERT_TRUE(c);
    const sk_keys keys = random_keys(*c);
    bytes padded(s.block == 1 ? 8 : s.block, 0);
    padded.back() = static_cast<std::uint8_t>(padded.size());  // needs size + 1 octets
    auto body = c->seal_padded(keys, ike_header, crypto::random_bytes(c->iv_size()), padded);
    ASSERT_TRUE(body.ok()) << body.err().message;
    expect_code(c->open(keys, ike_header, *body), errc::invalid_syntax, "pad length too large");
    // The largest Pad Length that fits is fine and yields no payload.
    padded.back() = static_cast<std::uint8_t>(padded.size() - 1);
    body = c->seal_padded(keys, ike_header, crypto::random_bytes(c->iv_size()), padded);
    ASSERT_TRUE(body.ok());
    auto back = c->open(keys, ike_header, *body);
    ASSERT_TRUE(back.ok()) << back.err().message;
    EXPECT_TRUE(back->empty());
  }
}

TEST(CryptoSkCipher, WrongKeyOrIvSizesAreInvalidArguments) {
  auto gcm = make(wire::encr::aes_gcm_16, 128, wire::integ::none);
  auto cbc = make(wire::encr::aes_cbc, 128, wire::integ::hmac_sha2_256_128);
  ASSERT_TRUE(gcm && cbc);
  // GCM without the 4-octet salt.
  expect_code(gcm->seal(sk_keys{bytes(16, 1), {}}, ike_header, to_bytes("x")), errc::invalid_argument, "no salt");
  expect_code(gcm->open(sk_keys{bytes(16, 1), {}}, ike_header, bytes(40, 0)), errc::invalid_argument, "no salt");
  expect_code(cbc->seal(sk_keys{bytes(16, 1), bytes(20, 1)}, ike_header, to_bytes("x")), errc::invalid_argument,
              "SK_a too short");
  expect_code(gcm->seal_with_iv(sk_keys{bytes(20, 1), {}}, ike_header, to_bytes("x"), bytes(12, 0)),
              errc::invalid_argument, "12-octet IV");
  expect_code(cbc->seal_padded(sk_keys{bytes(16, 1), bytes(32, 1)}, ike_header, bytes(16, 0), bytes(15, 0)),
              errc::invalid_argument, "not a whole block");
}
