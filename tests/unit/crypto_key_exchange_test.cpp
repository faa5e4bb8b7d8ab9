// Diffie-Hellman for the KE payload: RFC 7748 §6.1/§6.2 (X25519/X448, as used by RFC 8031),
// RFC 5903 §8.1-§8.3 (ECP groups 19/20/21), RFC 3526 MODP groups, and peer value validation
// (RFC 6989, RFC 8031 §2).
#include <gtest/gtest.h>

#include <string>

#include "engine/crypto/key_exchange.hpp"
#include "engine/wire/constants.hpp"

using namespace aike;
using aike::crypto::key_exchange;

namespace {

bytes hex(std::string_view s) {
  bytes out;
  EXPECT_TRUE(from_hex(s, out)) << s;
  return out;
}

std::unique_ptr<key_exchange> with_private(std::uint16_t group, std::string_view priv_hex) {
  auto ke = key_exchange::create_with_private(group, hex(priv_hex));
  EXPECT_TRUE(ke.ok()) << (ke.ok() ? "" : ke.err().message);
  return ke.ok() ? std::move(ke).value() : nullptr;
}

std::unique_ptr<key_exchange> fresh(std::uint16_t group) {
  auto ke = key_exchange::create(group);
  EXPECT_TRUE(ke.ok()) << (ke.ok() ? "" : ke.err().message);
  return ke.ok() ? std::move(ke).value() : nullptr;
}

void expect_rejected(const key_exchange& ke, const bytes& peer, const std::string& what) {
  auto s = ke.shared_secret(peer);
  ASSERT_FALSE(s.ok()) << what;
  EXPECT_EQ(s.err().code, errc::invalid_syntax) << what << ": " << s.err().message;
  EXPECT_FALSE(s.err().message.empty());
}

// RFC 3526 §3, the 2048-bit MODP group (group 14) prime.
const char* const modp2048_p =
    "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
    "EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED"
    "EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F"
    "83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B"
    "E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510"
    "15728E5A 8AACAA68 FFFFFFFF FFFFFFFF";

struct ecp_vector {
  std::uint16_t group;
  const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

// RFC 5903 §8.1 (256-bit), §8.2 (384-bit), §8.3 (521-bit random ECP groups).
const ecp_vector rfc5903[] = {
    {wire::ke::ecp256,
     "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    {wire::ke::ecp384,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655 E35B5380 41E649EE 3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 C88732AE E95F41AA",
     "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942 E0308312 916B8ED2 960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D 0D1AC43A 0336DEF9 6FDA41D0 774A3571",
     "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4 D6031355 69B9E9D0 9CF5D4A2 70F59746"},
    {wire::ke::ecp521,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0 95AA85A3 0FE1C295 2C6771D9 37BA9777 "
     "F5957B26 39BAB072 462F68C2 7A57382D 4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE E1E3BF42 E00B8E38 0AEAE57C 2D107564 "
     "94188594 2AF5A7F4 601723C4 195D176C ED3E",
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A D8A78801 5AC405D7 799DC75E 7B7D5B6C "
     "F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E 9C677D60 0B343757 A3BDBF2A 3163E4C2 "
     "F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21 9B97C356 436ADC6E 95BB0352 F6BE64A6 "
     "C2912D4E F2D0433C ED2B6171 640012D9 460F",
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87 220B6536 C5C408A1 D2AEBB8E 86D678AE "
     "49CB5709 1F473229 6579AB44 FCD17F0F C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04 D1427E73 CA4BAA24 0A347868 59810C06 "
     "B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA"},
};

bytes cat(const bytes& a, const bytes& b) {
  bytes out = a;
  append(out, b);
  return out;
}

}  // namespace

TEST(CryptoKeyExchange, SupportedGroups) {
  for (std::uint16_t g : {14, 15, 16, 18, 19, 20, 21, 31, 32}) EXPECT_TRUE(key_exchange::supported(g)) << g;
  for (std::uint16_t g : {0, 1, 2, 5, 22, 23, 24, 30, 33, 1000}) {
    EXPECT_FALSE(key_exchange::supported(g)) << g;
    auto ke = key_exchange::create(g);
    ASSERT_FALSE(ke.ok());
    EXPECT_EQ(ke.err().code, errc::unsupported);
  }
}

TEST(CryptoKeyExchange, Rfc7748X25519) {
  // RFC 7748 §6.1.
  auto alice = with_private(wire::ke::curve25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto bob = with_private(wire::ke::curve25519, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(alice->group(), wire::ke::curve25519);
  EXPECT_EQ(to_hex(alice->public_value()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob->public_value()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const char* k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  auto ka = alice->shared_secret(bob->public_value());
  auto kb = bob->shared_secret(alice->public_value());
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_EQ(to_hex(*ka), k);
  EXPECT_EQ(to_hex(*kb), k);
}

TEST(CryptoKeyExchange, Rfc7748X448) {
  // RFC 7748 §6.2.
  auto alice = with_private(wire::ke::curve448,
                            "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6"
                            "f127ab1d9ac2d8c0a598726b");
  auto bob = with_private(wire::ke::curve448,
                          "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b"
                          "09d1b0366f10b65173992d");
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(to_hex(alice->public_value()),
            "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e5"
            "32c41fa0");
  EXPECT_EQ(to_hex(bob->public_value()),
            "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c6"
            "7bf33609");
  const char* k =
      "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a503751"
      "4a879d";
  auto ka = alice->shared_secret(bob->public_value());
  auto kb = bob->shared_secret(alice->public_value());
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_EQ(to_hex(*ka), k);
  EXPECT_EQ(to_hex(*kb), k);
}

TEST(CryptoKeyExchange, Rfc5903EcpVectors) {
  for (const auto& v : rfc5903) {
    SCOPED_TRACE("group " + std::to_string(v.group));
    auto initiator = with_private(v.group, v.i);
    auto responder = with_private(v.group, v.r);
    ASSERT_TRUE(initiator && responder);
    // §7: the KE payload carries x || y, no 0x04 octet.
    const bytes gi = cat(hex(v.gix), hex(v.giy));
    const bytes gr = cat(hex(v.grx), hex(v.gry));
    EXPECT_EQ(to_hex(initiator->public_value()), to_hex(gi));
    EXPECT_EQ(to_hex(responder->public_value()), to_hex(gr));
    // §7: the shared secret is the x coordinate of g^ir.
    auto si = initiator->shared_secret(gr);
    auto sr = responder->shared_secret(gi);
    ASSERT_TRUE(si.ok()) << si.err().message;
    ASSERT_TRUE(sr.ok()) << sr.err().message;
    EXPECT_EQ(to_hex(*si), to_hex(hex(v.girx)));
    EXPECT_EQ(to_hex(*sr), to_hex(hex(v.girx)));
  }
}

TEST(CryptoKeyExchange, FreshPartiesAgreeForEveryGroup) {
  struct {
    std::uint16_t group;
    std::size_t public_size, secret_size;
  } cases[] = {
      {wire::ke::modp2048, 256, 256}, {wire::ke::modp3072, 384, 384}, {wire::ke::modp4096, 512, 512},
      {wire::ke::modp8192, 1024, 1024}, {wire::ke::ecp256, 64, 32},   {wire::ke::ecp384, 96, 48},
      {wire::ke::ecp521, 132, 66},      {wire::ke::curve25519, 32, 32}, {wire::ke::curve448, 56, 56},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("group " + std::to_string(c.group));
    auto a = fresh(c.group);
    auto b = fresh(c.group);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->group(), c.group);
    EXPECT_EQ(a->public_value().size(), c.public_size);
    EXPECT_EQ(b->public_value().size(), c.public_size);
    EXPECT_NE(a->public_value(), b->public_value());
    auto sa = a->shared_secret(b->public_value());
    auto sb = b->shared_secret(a->public_value());
    ASSERT_TRUE(sa.ok()) << sa.err().message;
    ASSERT_TRUE(sb.ok()) << sb.err().message;
    EXPECT_EQ(sa->size(), c.secret_size);
    EXPECT_EQ(*sa, *sb);
  }
}

TEST(CryptoKeyExchange, ModpKnownPrivateValues) {
  // g^x, g^y and g^xy in group 14 computed independently with python3:
  //   p = <RFC 3526 §3 prime>; x = 0x0123...ef (32 octets); y = 0xfedc...10 (32 octets)
  //   pow(2, x, p).to_bytes(256, 'big').hex(); pow(2, y, p)...; pow(pow(2, y, p), x, p)...
  auto a = with_private(wire::ke::modp2048, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  auto b = with_private(wire::ke::modp2048, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(to_hex(a->public_value()),
            "a7383dc35b35b44a7c5fbce0aac79e1189d4aee40391a62a0168b0a5f2aa2ce5bc5f465a02da130cf68adc1509dee1c41a8341be"
            "9c59e32fc83d665725f3acaee06ee07fe1302cef14da974736f2287c8907b959a7f527f151d9c7b278d203b9f37f4f14b5639a9d"
            "adca80951a4d8dac0890b4b003657dfbf779b6d9f706f0e30eaad5dbb946371e7a48dbc5d05bd8cfd34d710673d98624468334"
            "983d6d0ffe6b94319b9ca03786ca0afa950c89ac7a9c7ed10f3d26b16d8b65e217029ebc51e877d332d0b601cf8500aa2bff76b4"
            "0f755d9e2ea41d0f4f24a53595518521e02fa6b73fa18180195d4f9682620198f01cba3fe33ac41ece743370904d7da7ab");
  EXPECT_EQ(to_hex(b->public_value()),
            "dd5d87a6f9df57f13df2c658e501abd72adba34863613bd16769eef955258e3611ee8ec542a426e375c6b4d83b717c97f88504b4"
            "3acc5df03a4904e88d2619dfb7fb3cda68bc136c468dfedf1c5a5b73046408866fec8949beb587a0a4b6e6c0def5f24405385184"
            "a69e9dce4208f363adb0e1ce881863eb8d82d4aead5e1c195047d70d9bdc447bda027684b4351d98503fee1bcf827ffd07501701"
            "c7f3912422dd2f42b26cf40adde07d63e235f42f6521402a90dd2cea4a2e177640742d3cac853e96fa494413fee945972b2423a0"
            "f51becf28528c9db926002c50ffe2b1a97c978cf488ba29bbb472e7e63282ddd320a15a072d8176075204f7ded293561");
  const char* k =
      "61fc0d4d01cee152340f52b45328aa11d86e92ce8e8f7ba29180f62d999bc7714cbb05efde22bddf6f8dbb00df4efa1c14ea5420acec"
      "51cdbdd063fc357bd9ab367f1b67c3b1514e2d190550be1d44515ffe65f8f612ad6cc58496d9c3c9397d8798a78e524d1f26be6214f4"
      "66cf9a904d28dd29116e510c7b181eac5549ce1defcc6ca20e80d30d24c0776887f8a3050f8daa586bbb6bd076ea875cc33eef19669e"
      "c7d44e85df06610b949cd35823a7b1f636af6b4cf18840d45f6e9d1fa73c8bc271ba87cdc29b33cf18ee598ef66c76ccedcc09fee1f8"
      "ce5c78b3b9e3f52914aa67d0b5cb7a7ed12e8397f16bfbe4fbebdd18540d4ca765c10c11adea839f";
  auto ka = a->shared_secret(b->public_value());
  auto kb = b->shared_secret(a->public_value());
  ASSERT_TRUE(ka.ok()) << ka.err().message;
  ASSERT_TRUE(kb.ok()) << kb.err().message;
  EXPECT_EQ(to_hex(*ka), k);
  EXPECT_EQ(to_hex(*kb), k);
}

TEST(CryptoKeyExchange, WrongPeerLengthsRejected) {
  for (std::uint16_t g : {14, 19, 20, 21, 31, 32}) {
    SCOPED_TRACE("group " + std::to_string(g));
    auto ke = fresh(g);
    ASSERT_TRUE(ke);
    const std::size_t n = ke->public_value().size();
    expect_rejected(*ke, {}, "empty");
    expect_rejected(*ke, bytes(n - 1, 0x5a), "one octet short");
    expect_rejected(*ke, bytes(n + 1, 0x5a), "one octet long");
    if (g >= 19 && g <= 21) {
      // SEC1 form with the 0x04 prefix is not what RFC 5903 §7 puts on the wire.
      bytes tagged{0x04};
      append(tagged, ke->public_value());
      expect_rejected(*ke, tagged, "0x04 || x || y");
    }
  }
}

TEST(CryptoKeyExchange, SmallOrderX25519AndX448PeersRejected) {
  // RFC 8031 §2: an all-zero result (peer sent a small-order point) MUST be rejected.
  auto x25519 = fresh(wire::ke::curve25519);
  ASSERT_TRUE(x25519);
  expect_rejected(*x25519, bytes(32, 0), "u = 0");
  bytes one(32, 0);
  one[0] = 1;  // little-endian u = 1, a point of order 4
  expect_rejected(*x25519, one, "u = 1");
  // RFC 7748 §6.1 public key of the known-answer test stays acceptable.
  EXPECT_TRUE(x25519->shared_secret(hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")).ok());

  auto x448 = fresh(wire::ke::curve448);
  ASSERT_TRUE(x448);
  expect_rejected(*x448, bytes(56, 0), "u = 0");
}

TEST(CryptoKeyExchange, EcpPointNotOnCurveRejected) {
  for (const auto& v : rfc5903) {
    SCOPED_TRACE("group " + std::to_string(v.group));
    auto initiator = with_private(v.group, v.i);
    ASSERT_TRUE(initiator);
    bytes gr = cat(hex(v.grx), hex(v.gry));
    bytes off = gr;
    off.back() ^= 0x01;  // y changed: (x, y') is not on the curve
    expect_rejected(*initiator, off, "y flipped");
    expect_rejected(*initiator, bytes(gr.size(), 0), "(0, 0)");
    expect_rejected(*initiator, bytes(gr.size(), 0xff), "coordinates >= p");
    EXPECT_TRUE(initiator->shared_secret(gr).ok());
  }
}

TEST(CryptoKeyExchange, ModpOutOfRangePeerValuesRejected) {
  auto ke = fresh(wire::ke::modp2048);
  ASSERT_TRUE(ke);
  const bytes p = hex(modp2048_p);
  ASSERT_EQ(p.size(), 256u);
  bytes p_minus_1 = p;
  p_minus_1.back() -= 1;  // p ends in 0xff
  bytes one(256, 0);
  one.back() = 1;
  bytes two(256, 0);
  two.back() = 2;
  expect_rejected(*ke, bytes(256, 0), "y = 0");
  expect_rejected(*ke, one, "y = 1");
  expect_rejected(*ke, p_minus_1, "y = p-1");
  expect_rejected(*ke, p, "y = p");
  expect_rejected(*ke, bytes(256, 0xff), "y > p");
  // y = 2 (the generator) is a legitimate value.
  auto s = ke->shared_secret(two);
  ASSERT_TRUE(s.ok()) << s.err().message;
  EXPECT_EQ(s->size(), 256u);
}

TEST(CryptoKeyExchange, BadPrivateValuesRejected) {
  auto too_short = key_exchange::create_with_private(wire::ke::curve25519, bytes(31, 1));
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.err().code, errc::invalid_argument);
  auto zero = key_exchange::create_with_private(wire::ke::ecp256, bytes(32, 0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.err().code, errc::invalid_argument);
  // 2^256 - 1 is larger than the P-256 group order.
  auto too_big = key_exchange::create_with_private(wire::ke::ecp256, bytes(32, 0xff));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.err().code, errc::invalid_argument);
  auto modp_empty = key_exchange::create_with_private(wire::ke::modp2048, {});
  EXPECT_FALSE(modp_empty.ok());
  auto unknown = key_exchange::create_with_private(2, bytes(16, 1));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err().code, errc::unsupported);
}
