// Responder selection and initiator reply checks (RFC 7296 §2.7, §3.3, §3.3.6).
#include <gtest/gtest.h>

#include "engine/proposal/parser.hpp"
#include "engine/proposal/selection.hpp"

namespace aike::proposal {
namespace {

using wire::protocol_id;
using wire::transform_type;

std::vector<wire::proposal> ike(std::vector<std::string> specs) {
  auto r = parse_ike_proposals(specs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
  return r.ok() ? *r : std::vector<wire::proposal>{};
}

std::vector<wire::proposal> esp(std::vector<std::string> specs, std::uint8_t spi_byte = 0x11) {
  auto r = parse_esp_proposals(specs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
  if (!r.ok()) return {};
  for (auto& p : *r) p.spi = {0xc0, 0xff, 0xee, spi_byte};
  return *r;
}

std::size_t count_type(const wire::proposal& p, transform_type t) {
  std::size_t n = 0;
  for (const auto& x : p.transforms) n += x.type == t;
  return n;
}

TEST(ProposalSelection, LocalPreferenceOrderDecides) {
  const auto offered = ike({"aes128-sha256-modp2048", "aes256gcm16-prfsha256-x25519"});
  auto r = select(offered, ike({"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048"}), protocol_id::ike);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->number, 2);  // keeps the offered number
  EXPECT_EQ(to_string(*r), "aes256gcm16-prfsha256-x25519");

  r = select(offered, ike({"aes128-sha256-modp2048", "aes256gcm16-prfsha256-x25519"}), protocol_id::ike);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->number, 1);
  EXPECT_EQ(to_string(*r), "aes128-sha256-prfsha256-modp2048");
}

TEST(ProposalSelection, ExactlyOneOfEachTypeInOurOrder) {
  const auto offered = ike({"aes128gcm16-aes256gcm16-prfsha256-prfsha384-x25519-ecp256"});
  auto r = select(offered, ike({"aes256gcm16-aes128gcm16-prfsha384-prfsha256-ecp256-x25519"}), protocol_id::ike);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->transforms.size(), 3u);
  EXPECT_EQ(count_type(*r, transform_type::encr), 1u);
  EXPECT_EQ(count_type(*r, transform_type::prf), 1u);
  EXPECT_EQ(count_type(*r, transform_type::ke), 1u);
  const auto a = algorithms_of(*r);
  EXPECT_EQ(a.encr, wire::encr::aes_gcm_16);
  EXPECT_EQ(a.encr_key_bits, 256);
  EXPECT_EQ(a.prf, wire::prf::hmac_sha2_384);
  EXPECT_EQ(a.integ, 0);
  EXPECT_EQ(a.ke, wire::ke::ecp256);
}

TEST(ProposalSelection, KeHintAvoidsInvalidKeRoundTrip) {
  const auto offered = ike({"aes256gcm16-prfsha256-x25519-ecp256"});
  const auto local = ike({"aes256gcm16-prfsha256-ecp256-x25519"});
  auto r = select(offered, local, protocol_id::ike, wire::ke::curve25519);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).ke, wire::ke::curve25519);
  // A hint neither side allows changes nothing.
  r = select(offered, local, protocol_id::ike, wire::ke::modp2048);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).ke, wire::ke::ecp256);
}

TEST(ProposalSelection, KeyLengthMustMatch) {
  const auto offered = ike({"aes128-sha256-modp2048"});
  auto r = select(offered, ike({"aes256-sha256-modp2048"}), protocol_id::ike);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::no_proposal_chosen);
  // The message lists both sides in keyword form.
  EXPECT_NE(r.err().message.find("aes128-sha256-prfsha256-modp2048"), std::string::npos) << r.err().message;
  EXPECT_NE(r.err().message.find("aes256-sha256-prfsha256-modp2048"), std::string::npos) << r.err().message;

  // AES-CBC without the mandatory Key Length attribute is not AES-128.
  auto stripped = offered;
  stripped[0].transforms[0].attributes.clear();
  EXPECT_FALSE(select(stripped, ike({"aes128-sha256-modp2048"}), protocol_id::ike).ok());
  EXPECT_TRUE(select(offered, ike({"aes128-sha256-modp2048"}), protocol_id::ike).ok());
}

TEST(ProposalSelection, PrfAndGroupMustMatch) {
  const auto offered = ike({"aes256gcm16-prfsha256-x25519"});
  EXPECT_FALSE(select(offered, ike({"aes256gcm16-prfsha384-x25519"}), protocol_id::ike).ok());
  EXPECT_FALSE(select(offered, ike({"aes256gcm16-prfsha256-ecp256"}), protocol_id::ike).ok());
  EXPECT_FALSE(select(offered, ike({"chacha20poly1305-prfsha256-x25519"}), protocol_id::ike).ok());
}

TEST(ProposalSelection, AeadAndNonAeadDoNotMix) {
  // Our AEAD proposal never matches a CBC offer, nor the other way round.
  EXPECT_FALSE(select(esp({"aes128-sha256"}), esp({"aes128gcm16"}), protocol_id::esp).ok());
  EXPECT_FALSE(select(esp({"aes128gcm16"}), esp({"aes128-sha256"}), protocol_id::esp).ok());

  // An AEAD offer may carry integrity NONE explicitly (RFC 5282 §8); it is echoed.
  auto offered = esp({"aes128gcm16"});
  offered[0].transforms.insert(offered[0].transforms.begin() + 1, {transform_type::integ, wire::integ::none, {}});
  auto r = select(offered, esp({"aes128gcm16"}), protocol_id::esp);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(count_type(*r, transform_type::integ), 1u);
  EXPECT_EQ(algorithms_of(*r).integ, wire::integ::none);

  // An AEAD offer with a real integrity algorithm is not one we can pick.
  offered[0].transforms[1].id = wire::integ::hmac_sha2_256_128;
  EXPECT_FALSE(select(offered, esp({"aes128gcm16"}), protocol_id::esp).ok());
}

TEST(ProposalSelection, EsnBothSidesMustAllow) {
  // Our default is "noesn" only.
  EXPECT_FALSE(select(esp({"aes128gcm16-esn"}), esp({"aes128gcm16"}), protocol_id::esp).ok());
  auto r = select(esp({"aes128gcm16-esn-noesn"}), esp({"aes128gcm16"}), protocol_id::esp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).esn, wire::esn::no);
  EXPECT_EQ(count_type(*r, transform_type::esn), 1u);

  EXPECT_FALSE(select(esp({"aes128gcm16"}), esp({"aes128gcm16-esn"}), protocol_id::esp).ok());
  r = select(esp({"aes128gcm16-noesn-esn"}), esp({"aes128gcm16-esn-noesn"}), protocol_id::esp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).esn, wire::esn::yes);  // our order wins

  // An offer without an ESN transform means "no ESN".
  auto offered = esp({"aes128gcm16"});
  offered[0].transforms.pop_back();
  r = select(offered, esp({"aes128gcm16"}), protocol_id::esp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(count_type(*r, transform_type::esn), 0u);
  EXPECT_FALSE(select(offered, esp({"aes128gcm16-esn"}), protocol_id::esp).ok());
}

TEST(ProposalSelection, PfsGroupForChildSa) {
  const auto pfs = esp({"aes256gcm16-modp2048"});
  const auto no_pfs = esp({"aes256gcm16"});
  EXPECT_FALSE(select(no_pfs, pfs, protocol_id::esp).ok());  // we require PFS
  EXPECT_FALSE(select(pfs, no_pfs, protocol_id::esp).ok());  // peer requires PFS, we do not do it
  auto r = select(pfs, pfs, protocol_id::esp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).ke, wire::ke::modp2048);

  // "PFS optional": the offer lists the group and NONE (RFC 7296 §3.3.2).
  auto optional = pfs;
  optional[0].transforms.insert(optional[0].transforms.begin() + 2, {transform_type::ke, wire::ke::none, {}});
  r = select(optional, no_pfs, protocol_id::esp);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(count_type(*r, transform_type::ke), 1u);
  EXPECT_EQ(algorithms_of(*r).ke, wire::ke::none);
}

TEST(ProposalSelection, UnknownTransformTypeRejectsOnlyThatProposal) {
  auto offered = ike({"aes256gcm16-prfsha256-x25519", "aes256gcm16-prfsha256-x25519"});
  offered[0].transforms.push_back({static_cast<transform_type>(6), 1, {}});
  auto r = select(offered, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->number, 2);
  offered.pop_back();
  EXPECT_FALSE(select(offered, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike).ok());

  // ESN has no place in an IKE proposal, PRF none in ESP.
  auto with_esn = ike({"aes256gcm16-prfsha256-x25519"});
  with_esn[0].transforms.push_back({transform_type::esn, 0, {}});
  EXPECT_FALSE(select(with_esn, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike).ok());
  auto with_prf = esp({"aes128gcm16"});
  with_prf[0].transforms.push_back({transform_type::prf, wire::prf::hmac_sha2_256, {}});
  EXPECT_FALSE(select(with_prf, esp({"aes128gcm16"}), protocol_id::esp).ok());
}

TEST(ProposalSelection, UnknownAttributeMakesTransformUnusable) {
  auto offered = ike({"aes128gcm16-aes256gcm16-prfsha256-x25519"});
  offered[0].transforms[1].attributes.push_back({99, true, 1, {}});  // on the AES-256 transform
  EXPECT_FALSE(select(offered, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike).ok());
  auto r = select(offered, ike({"aes256gcm16-aes128gcm16-prfsha256-x25519"}), protocol_id::ike);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(algorithms_of(*r).encr_key_bits, 128);
}

TEST(ProposalSelection, SpiAndProtocolChecks) {
  auto offered = esp({"aes128gcm16"}, 0x42);
  auto r = select(offered, esp({"aes128gcm16"}), protocol_id::esp);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spi, (bytes{0xc0, 0xff, 0xee, 0x42}));  // the offered SPI
  EXPECT_EQ(r->protocol, protocol_id::esp);

  offered[0].spi = {1, 2, 3, 4, 5, 6, 7, 8};  // ESP SPIs are 4 octets
  EXPECT_FALSE(select(offered, esp({"aes128gcm16"}), protocol_id::esp).ok());
  // ESP proposals do not answer an IKE selection.
  EXPECT_FALSE(select(esp({"aes128gcm16"}), esp({"aes128gcm16"}), protocol_id::ike).ok());

  auto rekey = ike({"aes256gcm16-prfsha256-x25519"});
  rekey[0].spi = {1, 2, 3, 4, 5, 6, 7, 8};  // IKE SA rekey carries the new 8-octet SPI
  r = select(rekey, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spi.size(), 8u);
  EXPECT_FALSE(select({}, ike({"aes256gcm16-prfsha256-x25519"}), protocol_id::ike).ok());
}

TEST(ProposalSelection, CheckReplyAcceptsValidAnswer) {
  const auto offered = ike({"aes256gcm16-prfsha256-x25519", "aes128-sha256-sha384-modp2048-ecp256"});
  auto chosen = select(offered, ike({"aes128-sha384-ecp256"}), protocol_id::ike);
  ASSERT_TRUE(chosen.ok()) << chosen.err().message;
  auto r = check_reply(*chosen, offered, protocol_id::ike);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->number, 2);
  const auto a = algorithms_of(*r);
  EXPECT_EQ(a.integ, wire::integ::hmac_sha2_384_192);
  EXPECT_EQ(a.prf, wire::prf::hmac_sha2_384);
  EXPECT_EQ(a.ke, wire::ke::ecp256);

  const auto esp_offer = esp({"aes256gcm16-modp2048-esn-noesn"});
  auto esp_reply = select(esp_offer, esp({"aes256gcm16-modp2048-esn"}), protocol_id::esp);
  ASSERT_TRUE(esp_reply.ok());
  esp_reply->spi = {9, 9, 9, 9};  // the responder's own SPI
  EXPECT_TRUE(check_reply(*esp_reply, esp_offer, protocol_id::esp).ok());
}

TEST(ProposalSelection, CheckReplyRejectsBadAnswers) {
  const auto offered = ike({"aes256gcm16-aes128gcm16-prfsha256-x25519-ecp256"});
  auto good = select(offered, offered, protocol_id::ike);
  ASSERT_TRUE(good.ok());

  auto wrong_number = *good;
  wrong_number.number = 2;
  auto r = check_reply(wrong_number, offered, protocol_id::ike);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::no_proposal_chosen);

  auto two_encr = *good;
  two_encr.transforms.push_back(offered[0].transforms[1]);
  r = check_reply(two_encr, offered, protocol_id::ike);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_syntax);

  auto not_offered = *good;
  not_offered.transforms[0].attributes[0].value = 192;  // AES-GCM-192 was not offered
  r = check_reply(not_offered, offered, protocol_id::ike);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::no_proposal_chosen);
  EXPECT_NE(r.err().message.find("aes192gcm16"), std::string::npos) << r.err().message;

  auto no_ke = *good;
  no_ke.transforms.pop_back();
  EXPECT_FALSE(check_reply(no_ke, offered, protocol_id::ike).ok());
  auto no_prf = *good;
  no_prf.transforms.erase(no_prf.transforms.begin() + 1);
  EXPECT_FALSE(check_reply(no_prf, offered, protocol_id::ike).ok());
  auto with_spi = *good;
  with_spi.spi = {1, 2, 3, 4, 5, 6, 7, 8};  // IKE_SA_INIT answers carry no SPI in the proposal
  EXPECT_FALSE(check_reply(with_spi, offered, protocol_id::ike).ok());
  auto as_esp = *good;
  as_esp.protocol = protocol_id::esp;
  EXPECT_FALSE(check_reply(as_esp, offered, protocol_id::ike).ok());

  // CBC answer without integrity; ESP answer without the offered ESN type or with no SPI.
  const auto cbc = ike({"aes128-sha256-modp2048"});
  auto cbc_reply = cbc[0];
  std::erase_if(cbc_reply.transforms, [](const wire::transform& t) { return t.type == transform_type::integ; });
  EXPECT_FALSE(check_reply(cbc_reply, cbc, protocol_id::ike).ok());
  const auto esp_offer = esp({"aes128gcm16"});
  auto esp_reply = esp_offer[0];
  esp_reply.transforms.push_back(esp_offer[0].transforms.back());  // two ESN transforms
  EXPECT_FALSE(check_reply(esp_reply, esp_offer, protocol_id::esp).ok());
  esp_reply = esp_offer[0];
  EXPECT_TRUE(check_reply(esp_reply, esp_offer, protocol_id::esp).ok());
  esp_reply.spi.clear();
  EXPECT_FALSE(check_reply(esp_reply, esp_offer, protocol_id::esp).ok());
}

TEST(ProposalSelection, CheckReplyReadsMissingOptionalTypeAsNone) {
  // We offered PFS as optional (group or NONE) and "no ESN": an answer without KE / ESN types is fine.
  auto offered = esp({"aes128gcm16-modp2048"});
  offered[0].transforms.insert(offered[0].transforms.begin() + 2, {transform_type::ke, wire::ke::none, {}});
  auto reply = offered[0];
  std::erase_if(reply.transforms, [](const wire::transform& t) {
    return t.type == transform_type::ke || t.type == transform_type::esn;
  });
  EXPECT_TRUE(check_reply(reply, offered, protocol_id::esp).ok());
  // With PFS required, or only ESN offered, leaving them out is not.
  EXPECT_FALSE(check_reply(reply, esp({"aes128gcm16-modp2048"}), protocol_id::esp).ok());
  EXPECT_FALSE(check_reply(reply, esp({"aes128gcm16-esn"}), protocol_id::esp).ok());
}

TEST(ProposalSelection, CheckReplyRejectsIntegrityWithAead) {
  auto offered = esp({"aes128gcm16"});
  offered[0].transforms.push_back({transform_type::integ, wire::integ::hmac_sha2_256_128, {}});
  auto reply = offered[0];
  EXPECT_FALSE(check_reply(reply, offered, protocol_id::esp).ok());
  reply.transforms.pop_back();
  EXPECT_TRUE(check_reply(reply, offered, protocol_id::esp).ok());
}

TEST(ProposalSelection, InvalidKeHelpers) {
  const auto local = ike({"aes256gcm16-prfsha256-x25519-ecp256", "aes128-sha256-modp2048-ecp256"});
  EXPECT_EQ(preferred_ke_group(local), wire::ke::curve25519);
  EXPECT_TRUE(accepts_ke_group(local, wire::ke::modp2048));
  EXPECT_TRUE(accepts_ke_group(local, wire::ke::ecp256));
  EXPECT_FALSE(accepts_ke_group(local, wire::ke::ecp384));
  EXPECT_EQ(preferred_ke_group({}), 0);

  auto retry = with_ke_group_first(local, wire::ke::ecp256);
  ASSERT_EQ(retry.size(), 2u);
  EXPECT_EQ(preferred_ke_group(retry), wire::ke::ecp256);
  EXPECT_EQ(to_string(retry[0]), "aes256gcm16-prfsha256-ecp256-x25519");
  EXPECT_EQ(to_string(retry[1]), "aes128-sha256-prfsha256-ecp256-modp2048");

  retry = with_ke_group_first(local, wire::ke::modp2048);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].number, 1);  // renumbered from 2
  EXPECT_EQ(to_string(retry[0]), "aes128-sha256-prfsha256-modp2048-ecp256");
  EXPECT_EQ(preferred_ke_group(retry), wire::ke::modp2048);

  EXPECT_TRUE(with_ke_group_first(local, wire::ke::ecp521).empty());
}

TEST(ProposalSelection, AlgorithmsOfChaChaAndEsp) {
  auto r = select(ike({"chacha20poly1305-prfsha512-x448"}), ike({"chacha20poly1305-prfsha512-x448"}), protocol_id::ike);
  ASSERT_TRUE(r.ok());
  auto a = algorithms_of(*r);
  EXPECT_EQ(a.encr, wire::encr::chacha20_poly1305);
  EXPECT_EQ(a.encr_key_bits, 256);  // fixed key size, no attribute on the wire
  EXPECT_EQ(a.prf, wire::prf::hmac_sha2_512);
  EXPECT_EQ(a.ke, wire::ke::curve448);

  r = select(esp({"aes192-sha512-esn"}), esp({"aes192-sha512-esn"}), protocol_id::esp);
  ASSERT_TRUE(r.ok());
  a = algorithms_of(*r);
  EXPECT_EQ(a.encr, wire::encr::aes_cbc);
  EXPECT_EQ(a.encr_key_bits, 192);
  EXPECT_EQ(a.integ, wire::integ::hmac_sha2_512_256);
  EXPECT_EQ(a.prf, 0);
  EXPECT_EQ(a.esn, wire::esn::yes);
}

}  // namespace
}  // namespace aike::proposal
