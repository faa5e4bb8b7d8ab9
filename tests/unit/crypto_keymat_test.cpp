// Key derivation: RFC 7296 §2.14 (IKE SA), §2.18 (IKE SA rekey) and §2.17 (Child SA KEYMAT),
// checked against an independent python3 implementation. The expected values were produced by:
//
//   import hmac
//   def prf(h, k, d): return hmac.new(k, d, h).digest()
//   def prfplus(h, k, s, n):
//       out, t, i = b'', b'', 1
//       while len(out) < n:
//           t = prf(h, k, t + s + bytes([i])); out += t; i += 1
//       return out[:n]
//   def split(stream, sizes):
//       out, pos = [], 0
//       for n in sizes: out.append(stream[pos:pos+n]); pos += n
//       return out
//   def ike(h, plen, skeyseed, ni, nr, spi_i, spi_r, e, a):
//       s = ni + nr + spi_i.to_bytes(8, 'big') + spi_r.to_bytes(8, 'big')
//       return split(prfplus(h, skeyseed, s, 3*plen + 2*e + 2*a), [plen, a, a, e, e, plen, plen])
//   ni = bytes(range(0x00, 0x20)); nr = bytes(range(0x80, 0xa0)); gir = bytes(range(0x10, 0x50))
//   spi_i, spi_r = 0x0123456789abcdef, 0xfedcba9876543210
//   k1 = ike('sha256', 32, prf('sha256', ni + nr, gir), ni, nr, spi_i, spi_r, 16, 32)   # case 1
//   k2 = ike('sha384', 48, prf('sha384', ni + nr, gir), ni, nr, spi_i, spi_r, 36, 0)    # case 2
//   ni2 = b'\x11' * 16; nr2 = b'\x22' * 48; gir2 = b'\x33' * 32
//   spi_i2, spi_r2 = 0x1111111111111111, 0x2222222222222222
//   k3 = ike('sha512', 64, prf('sha256', k1[0], gir2 + ni2 + nr2), ni2, nr2, spi_i2, spi_r2, 32, 64)  # rekey
//   nic = b'\x44' * 32; nrc = b'\x55' * 32; girc = b'\x66' * 32
//   c1 = split(prfplus('sha256', k1[0], nic + nrc, 2 * 20), [20, 0, 20, 0])                   # no PFS
//   c2 = split(prfplus('sha256', k1[0], girc + nic + nrc, 2 * (32 + 32)), [32, 32, 32, 32])  # PFS
#include <gtest/gtest.h>

#include <string>

#include "engine/crypto/keymat.hpp"
#include "engine/wire/constants.hpp"

using namespace aike;
using namespace aike::crypto;

namespace {

bytes hex(std::string_view s) {
  bytes out;
  EXPECT_TRUE(from_hex(s, out)) << s;
  return out;
}

bytes range(std::uint8_t from, std::uint8_t to) {
  bytes out;
  for (unsigned v = from; v < to; ++v) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

prf make(std::uint16_t id) {
  auto p = prf::create(id);
  EXPECT_TRUE(p.ok());
  return std::move(p).value();
}

const bytes ni = range(0x00, 0x20);
const bytes nr = range(0x80, 0xa0);
const bytes gir = range(0x10, 0x50);
constexpr std::uint64_t spi_i = 0x0123456789abcdefULL;
constexpr std::uint64_t spi_r = 0xfedcba9876543210ULL;

// Case 1 SK_d, the parent of the rekey and Child SA cases.
const char* const case1_sk_d = "4eb3da6ce90fb826531836fadec3a84371c51d6cfa6f7d2f762281e55d37d011";

}  // namespace

TEST(CryptoKeymat, IkeKeysSha256AesCbcHmac) {
  // PRF_HMAC_SHA2_256, ENCR_AES_CBC 128 (16 octets), AUTH_HMAC_SHA2_256_128 (32 octets).
  auto k = derive_ike_keys(make(wire::prf::hmac_sha2_256), ni, nr, gir, spi_i, spi_r, 16, 32);
  ASSERT_TRUE(k.ok()) << k.err().message;
  EXPECT_EQ(to_hex(k->sk_d), case1_sk_d);
  EXPECT_EQ(to_hex(k->sk_ai), "daf50383543e188862f25cf6271911120cb366666c3d674cd76e751fb57b0267");
  EXPECT_EQ(to_hex(k->sk_ar), "c2d063338adbea152c776439eb6cb6a337a253d0ef3af88af8f04691012841d4");
  EXPECT_EQ(to_hex(k->sk_ei), "04348e9f9849edff68cef51596595390");
  EXPECT_EQ(to_hex(k->sk_er), "84620025dd9c3ae0b1c8ca6ff1161ed7");
  EXPECT_EQ(to_hex(k->sk_pi), "1ad7f40a3a330356c9d2720e2e55de8ff16982019c33b6a875dc1901d80c3e9a");
  EXPECT_EQ(to_hex(k->sk_pr), "8dc58427321a35dd769a428e422a95fb9717ddd302580653192ee3e0de6447b5");
}

TEST(CryptoKeymat, IkeKeysSha384Aead) {
  // PRF_HMAC_SHA2_384, ENCR_AES_GCM_16 256 (32 + 4 salt octets), no integrity keys.
  auto k = derive_ike_keys(make(wire::prf::hmac_sha2_384), ni, nr, gir, spi_i, spi_r, 36, 0);
  ASSERT_TRUE(k.ok()) << k.err().message;
  EXPECT_EQ(to_hex(k->sk_d),
            "94f05d0ba253d76346e178034f9d45ee0662be6530519bb203900ee5d3cd271805d40036065dd237e0eca9146e525855");
  EXPECT_TRUE(k->sk_ai.empty());
  EXPECT_TRUE(k->sk_ar.empty());
  EXPECT_EQ(to_hex(k->sk_ei), "9d2fb9944f11095bee6b465f3aadcb6f72eb8730473565f8bfb4ee5c1859f78745a9fac6");
  EXPECT_EQ(to_hex(k->sk_er), "098fe86dbf7061bac4a17ae58c18932131915f56f52bd74200712534849cf601ed69a58c");
  EXPECT_EQ(to_hex(k->sk_pi),
            "00927dc1e99556ecbd1311d2491c8f9a7aaa503b20a96e2b84862c280647033cf143fd5346f71ce5135471e6b246d2cc");
  EXPECT_EQ(to_hex(k->sk_pr),
            "ad9fe0167311a91678b546b9a987e8b04b766952911e4be335dec956281469de34254d7cdd7b3d78b1916c198e32afeb");
}

TEST(CryptoKeymat, RekeyedIkeKeysUseOldPrfForSkeyseed) {
  // §2.18: SKEYSEED = prf_old(SK_d_old, g^ir_new | Ni | Nr); new SA: PRF_HMAC_SHA2_512,
  // ENCR_AES_CBC 256 (32), AUTH_HMAC_SHA2_512_256 (64).
  const bytes ni2(16, 0x11), nr2(48, 0x22), gir2(32, 0x33);
  auto k = derive_rekeyed_ike_keys(make(wire::prf::hmac_sha2_256), hex(case1_sk_d), make(wire::prf::hmac_sha2_512),
                                   ni2, nr2, gir2, 0x1111111111111111ULL, 0x2222222222222222ULL, 32, 64);
  ASSERT_TRUE(k.ok()) << k.err().message;
  EXPECT_EQ(to_hex(k->sk_d),
            "d69c1f8ae567cdb11db3ce48657af7f5b57869352b5eab8aeac57840cb5a2ca72acc6dfab377c73f48a5244b03f806378896fadefd"
            "fa625b828b0e9580be2cf3");
  EXPECT_EQ(to_hex(k->sk_ai),
            "8a97fa5c05b1037c08fcb42206b08a3c9a88db57ca193fbb8c46721eb5a7e8b2dce742ff756ecd35a5c36f39e3e410d810d3a2479c"
            "f002b86bbbb2ad411eee5c");
  EXPECT_EQ(to_hex(k->sk_ar),
            "fa7b253f44c729fb28ee9b7fe09f7cef1d62e18d8fb4980adf8711f07891e99efa14e200883def70fad60e17342699d21f88a09432"
            "707f1ac8105c864702c1d4");
  EXPECT_EQ(to_hex(k->sk_ei), "b61cc9497b115c58624dc1090fb283fa7117385db35acc0adb07f7c33a678196");
  EXPECT_EQ(to_hex(k->sk_er), "7224752f78c2760763df26fcd882de4993e23be73257789b5dcf9c0aeae9022e");
  EXPECT_EQ(to_hex(k->sk_pi),
            "bb4f8c8e5c999a21a6a8bdd1bf54c686703631eae09b97e37c62992f3ae916952ffcc5b016c73db1716f3e0ffc28330571366061fe"
            "3772693772fdf99c5efc2a");
  EXPECT_EQ(to_hex(k->sk_pr),
            "878ba4d23ff04d8fd126d3cdd52b875b875272563a3a4145531607127eaa17ff3f292520f00d674a8a83e5afc1002b75b73b4e5893"
            "3dc6e7fab4c2b59a64b651");
}

TEST(CryptoKeymat, ChildKeysWithoutPfs) {
  // §2.17 KEYMAT = prf+(SK_d, Ni | Nr); ESP AES-GCM-16 128 takes 16 + 4 salt octets, no integ.
  const bytes nic(32, 0x44), nrc(32, 0x55);
  auto k = derive_child_keys(make(wire::prf::hmac_sha2_256), hex(case1_sk_d), {}, nic, nrc, 20, 0);
  ASSERT_TRUE(k.ok()) << k.err().message;
  EXPECT_EQ(to_hex(k->encr_i), "063e587735c1b8e399e018c1d85451a63ea14829");
  EXPECT_TRUE(k->integ_i.empty());
  EXPECT_EQ(to_hex(k->encr_r), "6a42010a6eca5b917cb21cba8dfd12c07330642b");
  EXPECT_TRUE(k->integ_r.empty());
}

TEST(CryptoKeymat, ChildKeysWithPfs) {
  // §2.17 KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr); order encr_i, integ_i, encr_r, integ_r.
  const bytes nic(32, 0x44), nrc(32, 0x55), girc(32, 0x66);
  auto k = derive_child_keys(make(wire::prf::hmac_sha2_256), hex(case1_sk_d), girc, nic, nrc, 32, 32);
  ASSERT_TRUE(k.ok()) << k.err().message;
  EXPECT_EQ(to_hex(k->encr_i), "84367487c8990bf6c9162f91a0d38a5d4a8188d8f0de24be15f7a5d16c91271c");
  EXPECT_EQ(to_hex(k->integ_i), "12542368498c0cc28abf8da92037943d1142c47ac7c9945a2262bdd8df4a6241");
  EXPECT_EQ(to_hex(k->encr_r), "e54edef51ee62c5632a381c61e480a30080caa0694883168d12f5db4a4876f11");
  EXPECT_EQ(to_hex(k->integ_r), "a40e111d018f8d031525199288ee50ca5260ed4b12d01e3f7560e0158abe4af0");
}

TEST(CryptoKeymat, SpisAndNonceOrderMatter) {
  const prf p = make(wire::prf::hmac_sha2_256);
  auto a = derive_ike_keys(p, ni, nr, gir, spi_i, spi_r, 16, 32);
  auto swapped_spis = derive_ike_keys(p, ni, nr, gir, spi_r, spi_i, 16, 32);
  auto swapped_nonces = derive_ike_keys(p, nr, ni, gir, spi_i, spi_r, 16, 32);
  ASSERT_TRUE(a.ok() && swapped_spis.ok() && swapped_nonces.ok());
  EXPECT_NE(a->sk_d, swapped_spis->sk_d);
  EXPECT_NE(a->sk_d, swapped_nonces->sk_d);
}

TEST(CryptoKeymat, BadInputsAreRefused) {
  const prf p = make(wire::prf::hmac_sha2_256);
  EXPECT_EQ(derive_ike_keys(p, {}, nr, gir, spi_i, spi_r, 16, 32).err().code, errc::invalid_argument);
  EXPECT_EQ(derive_ike_keys(p, ni, nr, {}, spi_i, spi_r, 16, 32).err().code, errc::invalid_argument);
  EXPECT_EQ(derive_rekeyed_ike_keys(p, {}, p, ni, nr, gir, spi_i, spi_r, 16, 32).err().code, errc::invalid_argument);
  EXPECT_EQ(derive_child_keys(p, {}, {}, ni, nr, 16, 32).err().code, errc::invalid_argument);
  EXPECT_EQ(derive_child_keys(p, hex(case1_sk_d), {}, ni, {}, 16, 32).err().code, errc::invalid_argument);
  // More than 255 prf+ blocks (255 * 32 = 8160 octets).
  auto huge = derive_child_keys(p, hex(case1_sk_d), {}, ni, nr, 4000, 100);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.err().code, errc::invalid_argument);
}

TEST(CryptoKeymat, KeysCanBeCopiedMovedAndWiped) {
  auto k = derive_ike_keys(make(wire::prf::hmac_sha2_256), ni, nr, gir, spi_i, spi_r, 16, 32);
  ASSERT_TRUE(k.ok());
  ike_keys copy = *k;
  EXPECT_EQ(copy.sk_pr, k->sk_pr);
  ike_keys moved = std::move(copy);
  EXPECT_EQ(to_hex(moved.sk_d), case1_sk_d);
  ike_keys assigned;
  assigned = moved;
  EXPECT_EQ(assigned.sk_ei, k->sk_ei);
  assigned.wipe_all();
  EXPECT_TRUE(assigned.sk_d.empty());
  EXPECT_TRUE(assigned.sk_pr.empty());
  EXPECT_EQ(to_hex(moved.sk_d), case1_sk_d);
}
