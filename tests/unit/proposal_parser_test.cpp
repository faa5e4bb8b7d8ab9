// Proposal strings -> SA payload proposals. Expected ids are the IANA values of the
// "IKEv2 Parameters" registry, spelled via engine/wire/constants.hpp.
#include <gtest/gtest.h>

#include "engine/proposal/parser.hpp"
#include "engine/proposal/selection.hpp"

namespace aike::proposal {
namespace {

using wire::transform_type;

// A transform as (type, id, key bits or 0) for compact expectations.
struct tx {
  transform_type type;
  std::uint16_t id;
  std::uint16_t bits = 0;
  bool operator==(const tx&) const = default;
};

std::ostream& operator<<(std::ostream& os, const tx& t) {
  return os << "{" << static_cast<int>(t.type) << "," << t.id << "," << t.bits << "}";
}

std::vector<tx> flatten(const wire::proposal& p) {
  std::vector<tx> out;
  for (const auto& t : p.transforms) out.push_back({t.type, t.id, t.key_length().value_or(0)});
  return out;
}

wire::proposal ike_one(const std::string& spec) {
  auto r = parse_ike_proposals({spec});
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.err().message);
  if (!r.ok()) return {};
  EXPECT_EQ(r->size(), 1u);
  return r->front();
}

wire::proposal esp_one(const std::string& spec) {
  auto r = parse_esp_proposals({spec});
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.err().message);
  if (!r.ok()) return {};
  EXPECT_EQ(r->size(), 1u);
  return r->front();
}

constexpr auto E = transform_type::encr;
constexpr auto P = transform_type::prf;
constexpr auto I = transform_type::integ;
constexpr auto K = transform_type::ke;
constexpr auto S = transform_type::esn;

TEST(ProposalParser, AeadWithPrfAndX25519) {
  auto p = ike_one("aes256gcm16-prfsha256-x25519");
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol, wire::protocol_id::ike);
  EXPECT_TRUE(p.spi.empty());
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, 20, 256}, {P, 5}, {K, 31}}));
  EXPECT_EQ(wire::encr::aes_gcm_16, 20);
  EXPECT_EQ(wire::ke::curve25519, 31);
}

TEST(ProposalParser, CbcIntegrityImpliesPrf) {
  auto p = ike_one("aes128-sha256-modp2048");
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, wire::encr::aes_cbc, 128},
                                         {P, wire::prf::hmac_sha2_256},
                                         {I, wire::integ::hmac_sha2_256_128},
                                         {K, wire::ke::modp2048}}));
  // The Key Length attribute is TV-encoded type 14 (RFC 7296 §3.3.5).
  ASSERT_EQ(p.transforms[0].attributes.size(), 1u);
  EXPECT_EQ(p.transforms[0].attributes[0].type, wire::attr_key_length);
  EXPECT_TRUE(p.transforms[0].attributes[0].tv);
  EXPECT_TRUE(p.transforms[1].attributes.empty());
}

TEST(ProposalParser, ChaChaHasNoKeyLengthAttribute) {
  auto p = ike_one("chacha20poly1305-prfsha512-curve448");
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, 28}, {P, 7}, {K, 32}}));
  EXPECT_TRUE(p.transforms[0].attributes.empty());  // RFC 7634 §3: no Key Length attribute
}

TEST(ProposalParser, Sha384Ecp384) {
  auto p = ike_one("aes256-sha384-ecp384");
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, 12, 256}, {P, 6}, {I, 13}, {K, 20}}));
}

TEST(ProposalParser, SeveralOfAKindAreAlternativesInOrder) {
  auto p = ike_one("aes128gcm16-aes256gcm16-prfsha384-ecp256-x25519");
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, 20, 128}, {E, 20, 256}, {P, 6}, {K, 19}, {K, 31}}));
}

TEST(ProposalParser, ExplicitPrfOverridesImpliedOne) {
  auto p = ike_one("aes128-sha1-prfsha384-modp3072");
  EXPECT_EQ(flatten(p), (std::vector<tx>{{E, 12, 128}, {P, 6}, {I, 2}, {K, 15}}));
  auto q = ike_one("aes192-sha256-sha512-ecp521");  // two integrity algorithms -> two implied PRFs
  EXPECT_EQ(flatten(q), (std::vector<tx>{{E, 12, 192}, {P, 5}, {P, 7}, {I, 12}, {I, 14}, {K, 21}}));
}

TEST(ProposalParser, GcmIcvLengthsAndBitForms) {
  EXPECT_EQ(flatten(ike_one("aes128gcm8-prfsha256-modp4096")),
            (std::vector<tx>{{E, 18, 128}, {P, 5}, {K, 16}}));
  EXPECT_EQ(flatten(ike_one("aes192gcm12-prfsha256-modp8192")),
            (std::vector<tx>{{E, 19, 192}, {P, 5}, {K, 18}}));
  EXPECT_EQ(ike_one("aes128gcm64-prfsha256-x448").transforms, ike_one("aes128gcm8-prfsha256-x448").transforms);
  EXPECT_EQ(ike_one("aes256gcm96-prfsha256-x448").transforms, ike_one("aes256gcm12-prfsha256-x448").transforms);
  EXPECT_EQ(ike_one("aes192gcm128-prfsha256-x448").transforms, ike_one("aes192gcm16-prfsha256-x448").transforms);
}

TEST(ProposalParser, KeywordsAreCaseInsensitiveAndStrictMarkerIgnored) {
  EXPECT_EQ(flatten(ike_one("AES256GCM16-PRFSHA256-X25519!")), (std::vector<tx>{{E, 20, 256}, {P, 5}, {K, 31}}));
}

TEST(ProposalParser, DuplicatesCollapse) {
  EXPECT_EQ(flatten(ike_one("aes128-aes128-sha256-modp2048-modp2048")),
            (std::vector<tx>{{E, 12, 128}, {P, 5}, {I, 12}, {K, 14}}));
}

TEST(ProposalParser, NumbersRunOverAllStringsAndCommas) {
  auto r = parse_ike_proposals({"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048,aes256-sha384-ecp384"});
  ASSERT_TRUE(r.ok()) << r.err().message;
  ASSERT_EQ(r->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*r)[i].number, i + 1);
  EXPECT_EQ(flatten((*r)[2]), (std::vector<tx>{{E, 12, 256}, {P, 6}, {I, 13}, {K, 20}}));
}

TEST(ProposalParser, EspForms) {
  EXPECT_EQ(flatten(esp_one("aes128gcm16")), (std::vector<tx>{{E, 20, 128}, {S, 0}}));
  EXPECT_EQ(flatten(esp_one("aes256-sha256-modp2048-esn")),
            (std::vector<tx>{{E, 12, 256}, {I, 12}, {K, 14}, {S, 1}}));
  EXPECT_EQ(flatten(esp_one("aes128-sha1-esn-noesn")), (std::vector<tx>{{E, 12, 128}, {I, 2}, {S, 1}, {S, 0}}));
  EXPECT_EQ(flatten(esp_one("chacha20poly1305-x25519")), (std::vector<tx>{{E, 28}, {K, 31}, {S, 0}}));
  EXPECT_EQ(esp_one("aes128-sha256").protocol, wire::protocol_id::esp);
}

TEST(ProposalParser, IkeDefaultIsModernAndValid) {
  auto r = parse_ike_proposals({"default"});
  ASSERT_TRUE(r.ok()) << r.err().message;
  ASSERT_FALSE(r->empty());
  for (std::size_t i = 0; i < r->size(); ++i) {
    const auto& p = (*r)[i];
    EXPECT_EQ(p.number, i + 1);
    auto a = algorithms_of(p);
    EXPECT_NE(a.encr, 0);
    EXPECT_NE(a.prf, 0);
    EXPECT_NE(a.ke, 0);
    for (const auto& t : p.transforms) {
      if (t.type == E) {
        EXPECT_TRUE(t.id == wire::encr::aes_gcm_16 || t.id == wire::encr::aes_cbc ||
                    t.id == wire::encr::chacha20_poly1305);
      } else if (t.type == P) {
        EXPECT_NE(t.id, wire::prf::hmac_sha1);
      } else if (t.type == I) {
        EXPECT_NE(t.id, wire::integ::hmac_sha1_96);
      }
    }
    // Every default proposal round-trips through the keyword form.
    auto again = parse_ike_proposals({to_string(p)});
    ASSERT_TRUE(again.ok()) << to_string(p) << ": " << again.err().message;
    EXPECT_EQ(again->front().transforms, p.transforms);
  }
  EXPECT_EQ(preferred_ke_group(*r), wire::ke::curve25519);
  EXPECT_TRUE(accepts_ke_group(*r, wire::ke::modp2048));
  EXPECT_TRUE(accepts_ke_group(*r, wire::ke::ecp256));
  EXPECT_TRUE(accepts_ke_group(*r, wire::ke::modp3072));
  // Default accepts its own offer.
  EXPECT_TRUE(select(*r, *r, wire::protocol_id::ike).ok());
}

TEST(ProposalParser, EspDefault) {
  auto r = parse_esp_proposals({"default"});
  ASSERT_TRUE(r.ok()) << r.err().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(flatten((*r)[0]), (std::vector<tx>{{E, 20, 256}, {E, 20, 128}, {S, 0}}));
  EXPECT_EQ(flatten((*r)[1]), (std::vector<tx>{{E, 12, 256}, {E, 12, 128}, {I, 12}, {S, 0}}));
  EXPECT_EQ((*r)[1].number, 2);
}

TEST(ProposalParser, DefaultCombinesWithOthers) {
  auto r = parse_ike_proposals({"aes128-sha256-modp2048", "default"});
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->size(), 1u);
  EXPECT_EQ(r->back().number, r->size());
}

std::string ike_error(const std::string& spec, errc expected_code) {
  auto r = parse_ike_proposals({spec});
  EXPECT_FALSE(r.ok()) << spec;
  if (r.ok()) return {};
  EXPECT_EQ(r.err().code, expected_code) << r.err().message;
  return r.err().message;
}

std::string esp_error(const std::string& spec) {
  auto r = parse_esp_proposals({spec});
  EXPECT_FALSE(r.ok()) << spec;
  return r.ok() ? std::string() : r.err().message;
}

TEST(ProposalParser, UnknownTokenNamesTokenAndString) {
  EXPECT_EQ(ike_error("aes257-sha256-modp2048", errc::invalid_argument),
            "unknown algorithm 'aes257' in proposal 'aes257-sha256-modp2048'");
  EXPECT_EQ(esp_error("aes128-sha3"), "unknown algorithm 'sha3' in proposal 'aes128-sha3'");
}

TEST(ProposalParser, UnsupportedGroupsAreNamed) {
  auto m = ike_error("aes128-sha256-modp1024", errc::unsupported);
  EXPECT_NE(m.find("'modp1024'"), std::string::npos) << m;
  EXPECT_NE(m.find("modp2048"), std::string::npos) << m;  // lists what is supported
  m = ike_error("aes128-sha256-modp1536", errc::unsupported);
  EXPECT_NE(m.find("'modp1536'"), std::string::npos) << m;
  m = ike_error("aes128-sha256-modp6144", errc::unsupported);
  EXPECT_NE(m.find("'modp6144'"), std::string::npos) << m;
  m = ike_error("3des-sha256-modp2048", errc::unsupported);
  EXPECT_NE(m.find("'3des'"), std::string::npos) << m;
}

TEST(ProposalParser, AeadWithIntegrityIsRejectedForIke) {
  auto m = ike_error("aes256gcm16-sha256-x25519", errc::invalid_argument);
  EXPECT_NE(m.find("'aes256gcm16'"), std::string::npos) << m;
  EXPECT_NE(m.find("'sha256'"), std::string::npos) << m;
  EXPECT_NE(m.find("'prfsha256'"), std::string::npos) << m;  // tells the fix
  EXPECT_NE(esp_error("aes128gcm16-sha1").find("'sha1'"), std::string::npos);
}

TEST(ProposalParser, IkeNeedsPrfAndKe) {
  auto m = ike_error("aes256gcm16-x25519", errc::invalid_argument);
  EXPECT_NE(m.find("no PRF"), std::string::npos) << m;
  m = ike_error("aes128-sha256", errc::invalid_argument);
  EXPECT_NE(m.find("no key exchange group"), std::string::npos) << m;
  EXPECT_NE(m.find("'aes128-sha256'"), std::string::npos) << m;
  m = ike_error("prfsha256-x25519", errc::invalid_argument);
  EXPECT_NE(m.find("no encryption"), std::string::npos) << m;
}

TEST(ProposalParser, CbcNeedsIntegrity) {
  auto m = ike_error("aes128-prfsha256-modp2048", errc::invalid_argument);
  EXPECT_NE(m.find("'aes128'"), std::string::npos) << m;
  EXPECT_NE(m.find("integrity"), std::string::npos) << m;
  EXPECT_NE(esp_error("aes256").find("'aes256'"), std::string::npos);
}

TEST(ProposalParser, MisplacedKeywords) {
  EXPECT_NE(ike_error("aes128-sha256-modp2048-esn", errc::invalid_argument).find("'esn'"), std::string::npos);
  EXPECT_NE(esp_error("aes128-sha256-prfsha256").find("'prfsha256'"), std::string::npos);
  auto m = ike_error("aes128gcm16-aes128-sha256-prfsha256-x25519", errc::invalid_argument);
  EXPECT_NE(m.find("separate proposals"), std::string::npos) << m;
  EXPECT_NE(ike_error("aes128--sha256-modp2048", errc::invalid_argument).find("empty"), std::string::npos);
  EXPECT_NE(ike_error("aes128-sha256-modp2048-default", errc::invalid_argument).find("'default'"),
            std::string::npos);
  EXPECT_FALSE(parse_ike_proposals({}).ok());
  EXPECT_FALSE(parse_ike_proposals({"  "}).ok());
  EXPECT_FALSE(parse_ike_proposals({"aes128-sha256-modp2048,"}).ok());
}

TEST(ProposalParser, ToStringIsPastableKeywordForm) {
  EXPECT_EQ(to_string(ike_one("aes256gcm16-prfsha256-x25519")), "aes256gcm16-prfsha256-x25519");
  EXPECT_EQ(to_string(ike_one("aes128-sha256-modp2048")), "aes128-sha256-prfsha256-modp2048");
  EXPECT_EQ(to_string(ike_one("chacha20poly1305-prfsha512-curve448")), "chacha20poly1305-prfsha512-x448");
  EXPECT_EQ(to_string(ike_one("aes128gcm128-prfsha256-ecp256")), "aes128gcm16-prfsha256-ecp256");
  EXPECT_EQ(to_string(esp_one("aes128gcm16")), "aes128gcm16");
  EXPECT_EQ(to_string(esp_one("aes256-sha256-modp2048-esn-noesn")), "aes256-sha256-modp2048-esn-noesn");
  for (const char* spec : {"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048", "chacha20poly1305-prfsha512-curve448",
                           "aes256-sha384-ecp384", "aes128gcm16-aes256gcm16-prfsha384-ecp256-x25519"}) {
    auto p = ike_one(spec);
    EXPECT_EQ(ike_one(to_string(p)).transforms, p.transforms) << spec;
  }
}

TEST(ProposalParser, ToStringOfTransformsWithoutKeyword) {
  wire::proposal p;
  p.transforms.push_back({E, 1234, {}});
  p.transforms.push_back({E, wire::encr::aes_cbc, {{wire::attr_key_length, true, 512, {}}}});
  p.transforms.push_back({static_cast<transform_type>(9), 3, {}});
  EXPECT_EQ(to_string(p), "encr1234-encr12:512-type9#3");
  std::vector<wire::proposal> list{p};
  EXPECT_EQ(to_string(list), "[#1 encr1234-encr12:512-type9#3]");
}

}  // namespace
}  // namespace aike::proposal
