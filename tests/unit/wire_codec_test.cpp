// IKEv2 wire codec: round trips for every payload type, a hand-assembled IKE_SA_INIT request,
// one test per class of parser error, truncation and mutation loops (RFC 7296 §3, RFC 7383 §2.5).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

namespace aike::wire {
namespace {

bytes h(std::string_view hex) {
  bytes b;
  EXPECT_TRUE(from_hex(hex, b)) << hex;
  return b;
}

bytes filled(std::size_t n, std::uint8_t start) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

// One generic payload header + body, written by hand (len < 0: the correct length).
bytes generic(std::uint8_t next, const bytes& body, bool critical = false, int len = -1) {
  bytes out;
  put_u8(out, next);
  put_u8(out, critical ? 0x80 : 0);
  put_u16(out, static_cast<std::uint16_t>(len < 0 ? body.size() + 4 : len));
  append(out, body);
  return out;
}

// IKE header (hand-written) with a correct Length field, followed by `chain`.
bytes datagram(std::uint8_t first, const bytes& chain, std::uint8_t version = 0x20) {
  bytes out = h("0102030405060708 0000000000000000");
  put_u8(out, first);
  put_u8(out, version);
  put_u8(out, 35);    // IKE_AUTH
  put_u8(out, 0x08);  // Initiator
  put_u32(out, 1);
  put_u32(out, static_cast<std::uint32_t>(28 + chain.size()));
  append(out, chain);
  return out;
}

constexpr std::uint8_t SA = 33, KE = 34, IDI = 35, IDR = 36, CERT = 37, CERTREQ = 38, AUTH = 39, NONCE = 40,
                       N = 41, D = 42, V = 43, TSI = 44, TSR = 45, SK = 46, CP = 47, EAP = 48, SKF = 53;

ike_header test_header() {
  ike_header hd;
  hd.spi_i = 0x1122334455667788ULL;
  hd.spi_r = 0x99aabbccddeeff00ULL;
  hd.exchange_type = exchange::ike_auth;
  hd.flags = flag::initiator;
  hd.message_id = 7;
  return hd;
}

// encode -> parse -> encode: the parsed message equals the input (with the header fields the
// encoder fills) and the second encoding equals the first, byte for byte.
void expect_round_trip(const message& m) {
  const bytes enc = encode_message(m);
  auto parsed = parse_message(enc);
  ASSERT_TRUE(parsed.ok()) << parsed.err().message;
  message expected = m;
  expected.header.next_payload = m.payloads.empty() ? payload_type::none : m.payloads.front().type;
  expected.header.length = static_cast<std::uint32_t>(enc.size());
  EXPECT_EQ(parsed.value(), expected);
  EXPECT_EQ(encode_message(parsed.value()), enc);
}

void expect_round_trip(std::vector<payload> ps) { expect_round_trip(message{test_header(), std::move(ps)}); }

void expect_error(const result<message>& r, errc code, const std::string& needle) {
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(r.err().code, code) << r.err().message;
  EXPECT_NE(r.err().message.find(needle), std::string::npos) << "message: " << r.err().message;
}

void expect_syntax(const bytes& d, const std::string& needle) {
  expect_error(parse_message(d), errc::invalid_syntax, needle);
}

transform_attribute key_len(std::uint16_t bits) { return transform_attribute{attr_key_length, true, bits, {}}; }

sa_payload rich_sa() {
  sa_payload sa;
  proposal p1;
  p1.number = 1;
  p1.protocol = protocol_id::ike;
  p1.transforms = {
      {transform_type::encr, encr::aes_cbc, {key_len(256)}},
      {transform_type::encr, encr::aes_cbc, {key_len(128)}},
      {transform_type::prf, prf::hmac_sha2_256, {}},
      {transform_type::integ, integ::hmac_sha2_256_128, {}},
      {transform_type::ke, ke::ecp256, {}},
      {transform_type::ke, ke::curve25519, {}},
  };
  proposal p2;
  p2.number = 2;
  p2.protocol = protocol_id::ike;
  p2.spi = filled(8, 0xa0);  // IKE rekey
  // An unknown TLV attribute next to Key Length, to cover both attribute formats.
  p2.transforms = {
      {transform_type::encr, encr::aes_gcm_16, {key_len(256), transform_attribute{100, false, 0, h("c0ffee")}}},
      {transform_type::prf, prf::hmac_sha2_384, {}},
      {transform_type::ke, ke::ecp384, {}},
  };
  proposal p3;  // same number as p2: an alternative within proposal 2
  p3.number = 2;
  p3.protocol = protocol_id::ike;
  p3.spi = filled(8, 0xb0);
  p3.transforms = {{transform_type::encr, encr::chacha20_poly1305, {}},
                   {transform_type::prf, prf::hmac_sha2_512, {}},
                   {transform_type::ke, ke::curve448, {}}};
  sa.proposals = {p1, p2, p3};
  return sa;
}

sa_payload esp_sa() {
  proposal p;
  p.number = 1;
  p.protocol = protocol_id::esp;
  p.spi = h("c1c2c3c4");
  p.transforms = {{transform_type::encr, encr::aes_gcm_16, {key_len(128)}},
                  {transform_type::esn, esn::no, {}},
                  {transform_type::esn, esn::yes, {}}};
  return sa_payload{{p}};
}

ts_payload mixed_ts() {
  ts_payload ts;
  ts.selectors.push_back({ts_type::ipv4_addr_range, 0, 0, 65535, h("0a000000"), h("0affffff")});
  ts.selectors.push_back({ts_type::ipv4_addr_range, 6, 443, 443, h("c0000201"), h("c0000201")});
  ts.selectors.push_back({ts_type::ipv6_addr_range, 17, 500, 4500, h("20010db8000000000000000000000000"),
                          h("20010db8ffffffffffffffffffffffff")});
  return ts;
}

// A message with one of every payload type, used by the truncation and mutation loops.
message every_payload() {
  std::vector<payload> ps;
  ps.push_back(make_payload(payload_type::sa, rich_sa()));
  ps.push_back(make_payload(payload_type::ke, ke_payload{ke::ecp256, filled(64, 1)}));
  ps.push_back(make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("alice.example.org")}));
  ps.push_back(make_payload(payload_type::idr, id_payload{id_type::ipv4_addr, h("c0000202")}));
  ps.push_back(make_payload(payload_type::cert, cert_payload{cert_encoding::x509_signature, filled(40, 3)}));
  ps.push_back(make_payload(payload_type::certreq, certreq_payload{cert_encoding::x509_signature, filled(20, 9)}));
  ps.push_back(make_payload(payload_type::auth, auth_payload{auth_method::psk, filled(32, 5)}));
  ps.push_back(make_payload(payload_type::nonce, nonce_payload{filled(32, 7)}));
  ps.push_back(make_payload(payload_type::notify, notify_payload{protocol_id::none, {}, notify::initial_contact, {}}));
  ps.push_back(make_payload(payload_type::notify,
                            notify_payload{protocol_id::esp, h("01020304"), notify::rekey_sa, {}}));
  ps.push_back(make_payload(payload_type::del, delete_payload{protocol_id::esp, 4, {h("a1a2a3a4"), h("b1b2b3b4")}}));
  ps.push_back(make_payload(payload_type::vendor, vendor_payload{to_bytes("aike")}));
  ps.push_back(make_payload(payload_type::tsi, mixed_ts()));
  ps.push_back(make_payload(payload_type::tsr, mixed_ts()));
  ps.push_back(make_payload(payload_type::cp,
                            cp_payload{cfg_type::reply,
                                       {{cfg_attr::internal_ip4_address, h("0a000001")},
                                        {cfg_attr::internal_ip6_address, filled(17, 0x20)},
                                        {cfg_attr::application_version, to_bytes("x")}}}));
  ps.push_back(make_payload(payload_type::eap, eap_payload{1, 9, h("01616c696365")}));
  ps.push_back(make_payload(static_cast<payload_type>(200), unknown_payload{h("0badcafe")}));
  ps.push_back(make_payload(payload_type::sk, sk_payload{payload_type::idi, filled(48, 0x40)}));
  return message{test_header(), std::move(ps)};
}

// ------------------------------------------------------------------ round trips ---

TEST(WireRoundTrip, SaWithSeveralProposalsTransformsAndAttributes) {
  expect_round_trip({make_payload(payload_type::sa, rich_sa())});
  expect_round_trip({make_payload(payload_type::sa, esp_sa())});
}

TEST(WireRoundTrip, KeyLengthAttributeIsTvAndReadable) {
  const bytes enc = encode_message(message{test_header(), {make_payload(payload_type::sa, rich_sa())}});
  auto m = parse_message(enc);
  ASSERT_TRUE(m.ok()) << m.err().message;
  const auto* sa = find_first<sa_payload>(m.value(), payload_type::sa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 3u);
  EXPECT_EQ(sa->proposals[0].transforms[0].key_length(), 256);
  EXPECT_EQ(sa->proposals[0].transforms[1].key_length(), 128);
  EXPECT_EQ(sa->proposals[0].transforms[2].key_length(), std::nullopt);
  const auto& tlv = sa->proposals[1].transforms[0].attributes[1];
  EXPECT_FALSE(tlv.tv);
  EXPECT_EQ(tlv.type, 100);
  EXPECT_EQ(tlv.data, h("c0ffee"));
}

TEST(WireRoundTrip, Ke) { expect_round_trip({make_payload(payload_type::ke, ke_payload{ke::modp2048, filled(256, 0)})}); }

TEST(WireRoundTrip, IdiAndIdr) {
  expect_round_trip({make_payload(payload_type::idi, id_payload{id_type::rfc822_addr, to_bytes("a@example.org")}),
                     make_payload(payload_type::idr, id_payload{id_type::ipv6_addr, filled(16, 0x20)}),
                     make_payload(payload_type::idr, id_payload{id_type::key_id, h("00")})});
}

TEST(WireRoundTrip, CertAndCertreq) {
  expect_round_trip({make_payload(payload_type::cert, cert_payload{cert_encoding::x509_signature, filled(300, 0)}),
                     make_payload(payload_type::certreq, certreq_payload{cert_encoding::x509_signature, filled(40, 1)}),
                     make_payload(payload_type::certreq, certreq_payload{cert_encoding::x509_signature, {}})});
}

TEST(WireRoundTrip, Auth) {
  expect_round_trip({make_payload(payload_type::auth, auth_payload{auth_method::digital_signature, filled(80, 2)})});
}

TEST(WireRoundTrip, NonceAtBothLimits) {
  expect_round_trip({make_payload(payload_type::nonce, nonce_payload{filled(16, 0)}),
                     make_payload(payload_type::nonce, nonce_payload{filled(256, 0)})});
}

TEST(WireRoundTrip, NotifyWithAndWithoutSpi) {
  expect_round_trip(
      {make_notify(notify::cookie, filled(20, 1)),
       make_payload(payload_type::notify, notify_payload{protocol_id::esp, h("11223344"), notify::rekey_sa, {}}),
       make_payload(payload_type::notify,
                    notify_payload{protocol_id::ike, filled(8, 0x70), notify::invalid_ike_spi, {}}),
       make_notify(notify::no_proposal_chosen)});
}

TEST(WireRoundTrip, DeleteIkeAndEspWithSeveralSpis) {
  expect_round_trip({make_payload(payload_type::del, delete_payload{protocol_id::ike, 0, {}}),
                     make_payload(payload_type::del, delete_payload{protocol_id::esp, 4,
                                                                    {h("00000001"), h("00000002"), h("fffffffe")}})});
}

TEST(WireRoundTrip, VendorId) {
  expect_round_trip({make_payload(payload_type::vendor, vendor_payload{filled(16, 0x55)})});
}

TEST(WireRoundTrip, TsiAndTsrWithIpv4AndIpv6Ranges) {
  expect_round_trip({make_payload(payload_type::tsi, mixed_ts()), make_payload(payload_type::tsr, mixed_ts())});
}

TEST(WireRoundTrip, Sk) {
  expect_round_trip({make_notify(notify::initial_contact),
                     make_payload(payload_type::sk, sk_payload{payload_type::idi, filled(60, 0)})});
  // An SK with nothing inside (liveness check): Next Payload 0.
  expect_round_trip({make_payload(payload_type::sk, sk_payload{payload_type::none, filled(24, 0)})});
}

TEST(WireRoundTrip, CpWithAttributes) {
  expect_round_trip({make_payload(payload_type::cp, cp_payload{cfg_type::request,
                                                               {{cfg_attr::internal_ip4_address, {}},
                                                                {cfg_attr::internal_ip4_dns, {}},
                                                                {cfg_attr::internal_ip6_address, {}}}}),
                     make_payload(payload_type::cp, cp_payload{cfg_type::reply,
                                                               {{cfg_attr::internal_ip4_address, h("0a000002")},
                                                                {cfg_attr::internal_ip4_subnet, h("0a000000ffffff00")},
                                                                {cfg_attr::supported_attributes, h("00010003")}}})});
}

TEST(WireRoundTrip, Eap) {
  expect_round_trip({make_payload(payload_type::eap, eap_payload{2, 1, h("01626f62")}),
                     make_payload(payload_type::eap, eap_payload{3, 1, {}})});
}

TEST(WireRoundTrip, SkfFirstAndLaterFragments) {
  expect_round_trip({make_payload(payload_type::skf, skf_payload{payload_type::idi, 1, 3, filled(40, 0)})});
  expect_round_trip({make_payload(payload_type::skf, skf_payload{payload_type::none, 3, 3, filled(20, 0)})});
}

TEST(WireRoundTrip, UnknownNonCriticalIsKept) {
  message m{test_header(),
            {make_notify(notify::initial_contact), make_payload(static_cast<payload_type>(99), unknown_payload{h("0102")}),
             make_payload(static_cast<payload_type>(250), unknown_payload{}), make_notify(notify::cookie, h("00"))}};
  expect_round_trip(m);
  auto parsed = parse_message(encode_message(m));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<unknown_payload>(parsed->payloads[1].body).data, h("0102"));
}

TEST(WireRoundTrip, CriticalBitOnKnownPayloadIsIgnoredButPreserved) {
  message m{test_header(), {make_payload(payload_type::nonce, nonce_payload{filled(32, 0)}, true)}};
  expect_round_trip(m);
  const bytes enc = encode_message(m);
  EXPECT_EQ(enc[28 + 1], 0x80);
}

TEST(WireRoundTrip, EveryPayloadTypeInOneMessage) { expect_round_trip(every_payload()); }

TEST(WireRoundTrip, EmptyMessage) {
  message m{test_header(), {}};
  expect_round_trip(m);
  EXPECT_EQ(encode_message(m).size(), 28u);
}

TEST(WireRoundTrip, PayloadChainWithoutHeader) {
  const std::vector<payload> ps = every_payload().payloads;
  std::vector<payload> inner(ps.begin(), ps.end() - 1);  // no SK inside an SK
  const bytes enc = encode_payloads(inner);
  auto parsed = parse_payloads(payload_type::sa, enc);
  ASSERT_TRUE(parsed.ok()) << parsed.err().message;
  EXPECT_EQ(parsed.value(), inner);
  EXPECT_EQ(encode_payloads(parsed.value()), enc);
  // Empty chain.
  auto none = parse_payloads(payload_type::none, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(WireRoundTrip, PayloadBodyIsTheBytesAfterTheGenericHeader) {
  // IDi' for AUTH (RFC 7296 §2.15): ID Type, 3 reserved octets, data.
  const payload idi = make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("ab")});
  EXPECT_EQ(encode_payload_body(idi), h("02000000 6162"));
  const bytes chain = encode_payloads({idi});
  EXPECT_EQ(chain, h("0000000a 02000000 6162"));
}

// -------------------------------------------- independently written IKE_SA_INIT ---

std::string rep(const char* hex_octet, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += hex_octet;
  return s;
}

// An IKE_SA_INIT request assembled octet by octet from the field layouts of RFC 7296 §3.1-§3.10.
bytes sa_init_request_bytes() {
  std::string x;
  // IKE header (§3.1)
  x += "0102030405060708";  // IKE SA Initiator's SPI
  x += "0000000000000000";  // IKE SA Responder's SPI
  x += "21";                // Next Payload: SA (33)
  x += "20";                // Version 2.0
  x += "22";                // Exchange Type: IKE_SA_INIT (34)
  x += "08";                // Flags: Initiator
  x += "00000000";          // Message ID
  x += "000000e6";          // Length: 230
  // SA payload (§3.3): 4 + 44 octets
  x += "22 00 0030";                    // next KE, length 48
  x += "00 00 002c 01 01 00 04";        // last proposal, length 44, #1, IKE, SPI size 0, 4 transforms
  x += "03 00 000c 01 00 0014 800e0100";  // ENCR AES_GCM_16, Key Length 256 (TV)
  x += "03 00 0008 02 00 0005";         // PRF_HMAC_SHA2_256
  x += "03 00 0008 04 00 0013";         // KE ECP_256
  x += "00 00 0008 04 00 001f";         // KE Curve25519 (last transform)
  // KE payload (§3.4): group 31, 32 octets
  x += "28 00 0028 001f 0000" + rep("11", 32);
  // Nonce (§3.9): 32 octets
  x += "29 00 0024" + rep("22", 32);
  // Notify NAT_DETECTION_SOURCE_IP (16388) with a 20-octet hash (§3.10)
  x += "29 00 001c 00 00 4004" + rep("33", 20);
  // Notify NAT_DETECTION_DESTINATION_IP (16389)
  x += "29 00 001c 00 00 4005" + rep("44", 20);
  // Notify IKEV2_FRAGMENTATION_SUPPORTED (16430), RFC 7383 §2.3
  x += "29 00 0008 00 00 402e";
  // Notify SIGNATURE_HASH_ALGORITHMS (16431): SHA2-256, SHA2-384, SHA2-512 (RFC 7427 §4)
  x += "00 00 000e 00 00 402f 0002 0003 0004";
  return h(x);
}

TEST(WireSaInit, ParsesHandWrittenRequest) {
  const bytes wire = sa_init_request_bytes();
  ASSERT_EQ(wire.size(), 230u);
  auto m = parse_message(wire);
  ASSERT_TRUE(m.ok()) << m.err().message;
  EXPECT_EQ(m->header.spi_i, 0x0102030405060708ULL);
  EXPECT_EQ(m->header.spi_r, 0u);
  EXPECT_EQ(m->header.exchange_type, exchange::ike_sa_init);
  EXPECT_TRUE(m->header.is_initiator());
  EXPECT_FALSE(m->header.is_response());
  EXPECT_EQ(m->header.length, 230u);
  ASSERT_EQ(m->payloads.size(), 7u);

  const auto* sa = find_first<sa_payload>(m.value(), payload_type::sa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  const proposal& p = sa->proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol, protocol_id::ike);
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 4u);
  EXPECT_EQ(p.transforms[0].type, transform_type::encr);
  EXPECT_EQ(p.transforms[0].id, encr::aes_gcm_16);
  EXPECT_EQ(p.transforms[0].key_length(), 256);
  EXPECT_EQ(p.transforms[1].id, prf::hmac_sha2_256);
  EXPECT_EQ(p.transforms[2].type, transform_type::ke);
  EXPECT_EQ(p.transforms[2].id, ke::ecp256);
  EXPECT_EQ(p.transforms[3].id, ke::curve25519);

  const auto* kep = find_first<ke_payload>(m.value(), payload_type::ke);
  ASSERT_NE(kep, nullptr);
  EXPECT_EQ(kep->group, ke::curve25519);
  EXPECT_EQ(kep->data, bytes(32, 0x11));
  const auto* ni = find_first<nonce_payload>(m.value(), payload_type::nonce);
  ASSERT_NE(ni, nullptr);
  EXPECT_EQ(ni->data, bytes(32, 0x22));

  EXPECT_EQ(notifies(m->payloads).size(), 4u);
  const auto* src = find_notify(m->payloads, notify::nat_detection_source_ip);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(src->data, bytes(20, 0x33));
  EXPECT_NE(find_notify(m->payloads, notify::ikev2_fragmentation_supported), nullptr);
  const auto* sig = find_notify(m->payloads, notify::signature_hash_algorithms);
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->data, h("000200030004"));
  EXPECT_EQ(find_notify(m->payloads, notify::cookie), nullptr);
  EXPECT_EQ(first_error_notify(m->payloads), nullptr);

  // Canonical input re-encodes to the same octets.
  EXPECT_EQ(encode_message(m.value()), wire);
}

TEST(WireSaInit, EncoderProducesTheHandWrittenBytes) {
  ike_header hd;
  hd.spi_i = 0x0102030405060708ULL;
  hd.exchange_type = exchange::ike_sa_init;
  hd.flags = flag::initiator;
  proposal p;
  p.transforms = {{transform_type::encr, encr::aes_gcm_16, {key_len(256)}},
                  {transform_type::prf, prf::hmac_sha2_256, {}},
                  {transform_type::ke, ke::ecp256, {}},
                  {transform_type::ke, ke::curve25519, {}}};
  message m{hd,
            {make_payload(payload_type::sa, sa_payload{{p}}),
             make_payload(payload_type::ke, ke_payload{ke::curve25519, bytes(32, 0x11)}),
             make_payload(payload_type::nonce, nonce_payload{bytes(32, 0x22)}),
             make_notify(notify::nat_detection_source_ip, bytes(20, 0x33)),
             make_notify(notify::nat_detection_destination_ip, bytes(20, 0x44)),
             make_notify(notify::ikev2_fragmentation_supported), make_notify(notify::signature_hash_algorithms, h("000200030004"))}};
  EXPECT_EQ(to_hex(encode_message(m)), to_hex(sa_init_request_bytes()));
}

TEST(WireSaInit, ParseHeaderAlone) {
  const bytes wire = sa_init_request_bytes();
  auto hd = parse_header(wire);
  ASSERT_TRUE(hd.ok()) << hd.err().message;
  EXPECT_EQ(hd->next_payload, payload_type::sa);
  EXPECT_EQ(hd->version, 0x20);
  EXPECT_EQ(hd->message_id, 0u);
  EXPECT_EQ(encode_header(hd.value()), bytes(wire.begin(), wire.begin() + 28));
}

// ---------------------------------------------------------------- header errors ---

TEST(WireHeaderError, ShorterThan28Octets) {
  const bytes wire = sa_init_request_bytes();
  for (std::size_t n = 0; n < 28; ++n) {
    auto r = parse_header(bytes_view(wire).first(n));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, errc::invalid_syntax);
    EXPECT_NE(r.err().message.find("IKE header"), std::string::npos);
  }
}

TEST(WireHeaderError, InvalidMajorVersion) {
  for (std::uint8_t v : {0x10, 0x30, 0x00, 0xf0}) {
    auto r = parse_message(datagram(0, {}, v));
    expect_error(r, errc::invalid_major_version, "major version");
  }
  // A higher minor version is accepted (§3.1) and kept.
  auto minor = parse_message(datagram(0, {}, 0x21));
  ASSERT_TRUE(minor.ok()) << minor.err().message;
  EXPECT_EQ(minor->header.version, 0x21);
}

TEST(WireHeaderError, LengthFieldDiffersFromDatagramSize) {
  bytes d = sa_init_request_bytes();
  d[27] = 0xe5;
  expect_syntax(d, "Length field 229");
  d[27] = 0xe7;
  expect_syntax(d, "Length field 231");
  d = sa_init_request_bytes();
  d.push_back(0);
  expect_syntax(d, "Length field 230");
}

// ------------------------------------------------------- generic chain errors ---

TEST(WireChainError, GenericPayloadLengthBelow4) {
  for (int len : {0, 1, 3}) expect_syntax(datagram(V, generic(0, h("aabbccdd"), false, len)), "payload length");
  expect_syntax(datagram(V, generic(0, {}, false, 3)), "Vendor ID payload: payload length 3 < 4");
}

TEST(WireChainError, PayloadRunsPastTheEnd) {
  expect_syntax(datagram(V, generic(0, h("aabbccdd"), false, 9)), "runs past the end");
  expect_syntax(datagram(V, generic(0, h("aabbccdd"), false, 0xffff)), "Vendor ID payload: payload length 65535");
}

TEST(WireChainError, LeftoverBytesAfterLastPayload) {
  expect_syntax(datagram(V, cat({generic(0, h("aabb")), h("00")})), "1 octets after the last payload");
  expect_syntax(datagram(0, h("00000004")), "4 octets after the last payload at offset 28");
}

TEST(WireChainError, NextPayloadPointsPastTheEnd) {
  // The Vendor ID says a Nonce follows, but the message ends.
  expect_syntax(datagram(V, generic(NONCE, h("aabb"))), "Nonce payload: announced by the previous Next Payload");
  // The header announces a payload but there is none.
  expect_syntax(datagram(SA, {}), "SA payload: announced");
  // Only part of a generic header.
  expect_syntax(datagram(V, cat({generic(N, h("aabb")), h("0000")})), "only 2 octets left");
}

TEST(WireChainError, UnknownCriticalPayload) {
  const bytes d = datagram(V, cat({generic(200, h("01")), generic(0, h("deadbeef"), true)}));
  auto r = parse_message(d);
  expect_error(r, errc::unsupported_critical_payload, "payload type 200");
  EXPECT_EQ(r.err().payload_type, 200);
  // Same inside a decrypted chain.
  auto inner = parse_payloads(static_cast<payload_type>(77), generic(0, {}, true));
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.err().code, errc::unsupported_critical_payload);
  EXPECT_EQ(inner.err().payload_type, 77);
}

TEST(WireChainError, SkMustBeTheLastPayload) {
  // SK's Next Payload names its first inner payload; the chain ends there.
  const bytes d = datagram(SK, cat({generic(IDI, filled(32, 0)), generic(0, filled(16, 0))}));
  expect_syntax(d, "SK payload: must be the last payload, but 20 octets follow it");
  const bytes f = datagram(SKF, cat({generic(IDI, cat({h("00010002"), filled(32, 0)})), generic(0, filled(16, 0))}));
  expect_syntax(f, "SKF payload: must be the last payload");
  // An SK whose Next Payload is a real type is still fine when it is last.
  auto ok = parse_message(datagram(N, cat({generic(SK, h("00000000 4000")), generic(IDI, filled(32, 0))})));
  ASSERT_TRUE(ok.ok()) << ok.err().message;
  EXPECT_EQ(std::get<sk_payload>(ok->payloads[1].body).first_inner, payload_type::idi);
}

TEST(WireChainError, SkNotAllowedInsideDecryptedChain) {
  auto r = parse_payloads(payload_type::sk, generic(0, filled(20, 0)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_syntax);
  EXPECT_NE(r.err().message.find("inside an encrypted payload"), std::string::npos);
  auto f = parse_payloads(payload_type::skf, generic(0, cat({h("00010001"), filled(20, 0)})));
  ASSERT_FALSE(f.ok());
}

// --------------------------------------------------------------- SA errors ---

// One valid IKE proposal: ENCR AES_CBC, 1 transform.
const char* kTransform = "00000008 0100000c";

TEST(WireSaError, EmptySa) { expect_syntax(datagram(SA, generic(0, {})), "SA payload: no proposals"); }

TEST(WireSaError, ProposalLength) {
  expect_syntax(datagram(SA, generic(0, h("00000007 01010001" + std::string(kTransform)))), "proposal length 7 < 8");
  expect_syntax(datagram(SA, generic(0, h("00000011 01010001" + std::string(kTransform)))),
                "proposal #1: proposal length 17 runs past the payload (16 octets left)");
  expect_syntax(datagram(SA, generic(0, h("000000"))), "proposal #1: 3 octets left, proposal needs 8");
  // Proposal length leaves bytes that are not another proposal.
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001" + std::string(kTransform) + "0000"))),
                "Last Substruc 0 but more proposals follow");
}

TEST(WireSaError, TransformLength) {
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001 00000007 0100000c"))), "transform length 7 < 8");
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001 00000009 0100000c"))),
                "transform #1 of 1: transform length 9 runs past the proposal");
  expect_syntax(datagram(SA, generic(0, h("0000000b 01010001 000000"))), "3 octets left, transform needs 8");
}

TEST(WireSaError, AttributeLengths) {
  // 2 octets of attribute.
  expect_syntax(datagram(SA, generic(0, h("00000012 01010001 0000000a 0100000c 800e"))),
                "attribute #1: 2 octets left, attribute needs 4");
  // TLV attribute claims 5 octets, none present.
  expect_syntax(datagram(SA, generic(0, h("00000014 01010001 0000000c 0100000c 00640005"))),
                "attribute #1: TLV length 5 runs past the transform");
  // Key Length in TLV form.
  expect_syntax(datagram(SA, generic(0, h("00000016 01010001 0000000e 0100000c 000e0002 0100"))),
                "Key Length attribute must use TV format");
  // Second attribute truncated.
  expect_syntax(datagram(SA, generic(0, h("00000016 01010001 0000000e 0100000c 800e0080 0001"))),
                "attribute #2: 2 octets left");
}

TEST(WireSaError, TransformCountDiffersFromActual) {
  // Count 2, one transform present (correctly marked "more follow").
  expect_syntax(datagram(SA, generic(0, h("00000010 01010002 03000008 0100000c"))),
                "transform #2 of 2: 0 octets left");
  // Count 1, two transforms present.
  expect_syntax(datagram(SA, generic(0, h("00000018 01010001 00000008 0100000c 00000008 02000005"))),
                "8 octets after transform #1 (the proposal says 1 transforms)");
  // Count 0.
  expect_syntax(datagram(SA, generic(0, h("00000008 01010000"))), "proposal #1: no transforms");
}

TEST(WireSaError, SpiSizeVersusProtocol) {
  expect_syntax(datagram(SA, generic(0, h("00000014 01010401 aabbccdd" + std::string(kTransform)))),
                "SPI size 4 for protocol IKE, expected 0 or 8");
  expect_syntax(datagram(SA, generic(0, h("00000010 01030001" + std::string(kTransform)))),
                "SPI size 0 for protocol AH/ESP, expected 4");
  expect_syntax(datagram(SA, generic(0, h("00000010 01070001" + std::string(kTransform)))), "unknown protocol id 7");
  expect_syntax(datagram(SA, generic(0, h("00000010 01000001" + std::string(kTransform)))), "unknown protocol id 0");
  // SPI longer than the proposal.
  expect_syntax(datagram(SA, generic(0, h("00000008 01010801"))), "SPI of 8 octets runs past proposal length 8");
}

TEST(WireSaError, ProposalNumbering) {
  const std::string t = kTransform;
  expect_syntax(datagram(SA, generic(0, h("00000010 02010001" + t))), "first proposal number is 2, expected 1");
  expect_syntax(datagram(SA, generic(0, h("02000010 01010001" + t + "00000010 03010001" + t))),
                "proposal number 3 after 1");
  expect_syntax(datagram(SA, generic(0, h("02000010 01010001" + t + "02000010 02010001" + t + "00000010 01010001" + t))),
                "proposal number 1 after 2");
  // 1, 1, 2 is valid.
  auto ok = parse_message(
      datagram(SA, generic(0, h("02000010 01010001" + t + "02000010 01010001" + t + "00000010 02010001" + t))));
  ASSERT_TRUE(ok.ok()) << ok.err().message;
}

TEST(WireSaError, LastSubstructureFields) {
  const std::string t = kTransform;
  // Single proposal marked "more follow".
  expect_syntax(datagram(SA, generic(0, h("02000010 01010001" + t))), "Last Substruc 2 on the last proposal");
  // First of two proposals marked last.
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001" + t + "00000010 01010001" + t))),
                "Last Substruc 0 but more proposals follow");
  // Values other than 0/2 for proposals.
  expect_syntax(datagram(SA, generic(0, h("03000010 01010001" + t))), "Last Substruc 3 on the last proposal");
  // Last transform marked 3, non-last marked 0, and an invalid value.
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001 03000008 0100000c"))),
                "transform #1 of 1: Last Substruc 3, expected 0");
  expect_syntax(datagram(SA, generic(0, h("00000018 01010002 00000008 0100000c 00000008 02000005"))),
                "transform #1 of 2: Last Substruc 0, expected 3");
  expect_syntax(datagram(SA, generic(0, h("00000010 01010001 02000008 0100000c"))), "Last Substruc 2, expected 0");
}

// -------------------------------------------------------- other payload errors ---

TEST(WireKeError, KeyExchangeDataMissing) {
  expect_syntax(datagram(KE, generic(0, h("001f0000"))), "KE payload: body of 4 octets");
  expect_syntax(datagram(KE, generic(0, h("001f"))), "KE payload: body of 2 octets");
  ASSERT_TRUE(parse_message(datagram(KE, generic(0, h("001f0000 01")))).ok());
}

TEST(WireNonceError, SizeOutside16To256) {
  expect_syntax(datagram(NONCE, generic(0, filled(15, 0))), "Nonce payload: nonce of 15 octets, must be 16..256");
  expect_syntax(datagram(NONCE, generic(0, filled(257, 0))), "nonce of 257 octets");
  expect_syntax(datagram(NONCE, generic(0, {})), "nonce of 0 octets");
  ASSERT_TRUE(parse_message(datagram(NONCE, generic(0, filled(16, 0)))).ok());
  ASSERT_TRUE(parse_message(datagram(NONCE, generic(0, filled(256, 0)))).ok());
}

TEST(WireTsError, SelectorLengthPerType) {
  const std::string v4 = "07000010 0000ffff 0a000000 0affffff";
  const std::string v6 = "08000028 0000ffff" + rep("00", 16) + rep("ff", 16);
  ASSERT_TRUE(parse_message(datagram(TSI, generic(0, h("02000000" + v4 + v6)))).ok());
  // IPv4 selector claiming the IPv6 length, and the reverse.
  expect_syntax(datagram(TSI, generic(0, h("01000000 07000028 0000ffff" + rep("00", 32)))),
                "TSi payload: selector #1 of 1: selector length 40, expected 16 for TS type 7");
  expect_syntax(datagram(TSR, generic(0, h("01000000 08000010 0000ffff 0a000000 0affffff"))),
                "TSr payload: selector #1 of 1: selector length 16, expected 40 for TS type 8");
  // Right length for the type but the payload ends early.
  expect_syntax(datagram(TSI, generic(0, h("01000000 07000010 0000ffff 0a000000"))), "runs past the payload");
  expect_syntax(datagram(TSI, generic(0, h("01000000 070000"))), "selector header needs 8");
  expect_syntax(datagram(TSI, generic(0, h("01000000 09000010 0000ffff 0a000000 0affffff"))), "unsupported TS type 9");
}

TEST(WireTsError, SelectorCount) {
  const std::string v4 = "07000010 0000ffff 0a000000 0affffff";
  expect_syntax(datagram(TSI, generic(0, h("00000000"))), "number of TSs is 0");
  expect_syntax(datagram(TSI, generic(0, h("02000000" + v4))), "selector #2 of 2: 0 octets left");
  expect_syntax(datagram(TSI, generic(0, h("01000000" + v4 + v4))),
                "16 octets after selector #1 (the payload says 1 selectors)");
  expect_syntax(datagram(TSI, generic(0, h("010000"))), "TSi payload: body of 3 octets");
}

TEST(WireDeleteError, SpiSizeTimesCountVersusLength) {
  expect_syntax(datagram(D, generic(0, h("03040002 aabbccdd"))), "2 SPIs of 4 octets need 8 octets, body has 4");
  expect_syntax(datagram(D, generic(0, h("03040001 aabbccdd 00"))), "1 SPIs of 4 octets need 4 octets, body has 5");
  expect_syntax(datagram(D, generic(0, h("03080001 aabbccddaabbccdd"))), "SPI size 8 for protocol AH/ESP, expected 4");
  expect_syntax(datagram(D, generic(0, h("01000001"))), "protocol IKE with SPI size 0 and 1 SPIs");
  expect_syntax(datagram(D, generic(0, h("01080001 aabbccddaabbccdd"))), "protocol IKE with SPI size 8");
  expect_syntax(datagram(D, generic(0, h("05040000"))), "Delete payload: unknown protocol id 5");
  expect_syntax(datagram(D, generic(0, h("0304"))), "Delete payload: body of 2 octets");
  // 65535 SPIs announced, 4 present: rejected without allocating for the count.
  expect_syntax(datagram(D, generic(0, h("0304ffff aabbccdd"))), "65535 SPIs");
}

TEST(WireNotifyError, SpiSize) {
  expect_syntax(datagram(N, generic(0, h("03034009 aabbcc"))), "SPI size 3, expected 0, 4 or 8");
  expect_syntax(datagram(N, generic(0, h("03084009 0102030405060708"))), "SPI size 8 with protocol id 3, expected IKE");
  expect_syntax(datagram(N, generic(0, h("01044009 01020304"))), "SPI size 4 with protocol id 1, expected AH or ESP");
  expect_syntax(datagram(N, generic(0, h("03044009 0102"))), "REKEY_SA (16393): SPI size 4 runs past the payload");
  expect_syntax(datagram(N, generic(0, h("000040"))), "Notify payload: body of 3 octets");
  // No SPI: the protocol id is ignored and kept.
  auto ok = parse_message(datagram(N, generic(0, h("09004000"))));
  ASSERT_TRUE(ok.ok()) << ok.err().message;
}

TEST(WireIdCertAuthError, MinimumSizes) {
  expect_syntax(datagram(IDI, generic(0, h("02000000"))), "IDi payload: body of 4 octets");
  expect_syntax(datagram(IDR, generic(0, h("02"))), "IDr payload: body of 1 octets");
  expect_syntax(datagram(IDI, generic(0, h("01000000 0a0000"))), "ID_IPV4_ADDR of 3 octets, expected 4");
  expect_syntax(datagram(IDI, generic(0, h("05000000 0a000001"))), "ID_IPV6_ADDR of 4 octets, expected 16");
  expect_syntax(datagram(CERT, generic(0, h("04"))), "CERT payload: body of 1 octets");
  expect_syntax(datagram(CERTREQ, generic(0, {})), "CERTREQ payload: empty body");
  expect_syntax(datagram(AUTH, generic(0, h("02000000"))), "AUTH payload: body of 4 octets");
}

TEST(WireCpError, Attributes) {
  expect_syntax(datagram(CP, generic(0, h("01000000 00010008 0a000001"))),
                "CP payload: attribute #1: length 8 runs past the payload (4 octets left)");
  expect_syntax(datagram(CP, generic(0, h("02000000 00010003 0a0000"))), "type 1 has length 3, expected 0 or 4");
  expect_syntax(datagram(CP, generic(0, h("02000000 00080010" + rep("00", 16)))), "type 8 has length 16, expected 0 or 17");
  expect_syntax(datagram(CP, generic(0, h("01000000 0001"))), "attribute #1: 2 octets left");
  expect_syntax(datagram(CP, generic(0, h("05000000"))), "unknown CFG type 5");
  expect_syntax(datagram(CP, generic(0, h("01"))), "CP payload: body of 1 octets");
}

TEST(WireEapError, LengthFieldMustMatch) {
  ASSERT_TRUE(parse_message(datagram(EAP, generic(0, h("01010006 0161")))).ok());
  expect_syntax(datagram(EAP, generic(0, h("01010007 0161"))), "EAP length field 7 but the payload holds 6 octets");
  expect_syntax(datagram(EAP, generic(0, h("01010004"))), "EAP Request/Response without a Type");
  expect_syntax(datagram(EAP, generic(0, h("03010005 00"))), "EAP Success/Failure of length 5");
  expect_syntax(datagram(EAP, generic(0, h("0301"))), "EAP payload: body of 2 octets");
}

TEST(WireSkfError, FragmentNumbers) {
  expect_syntax(datagram(SKF, generic(IDI, h("00000002 aabb"))), "Fragment Number 0 not in 1..2");
  expect_syntax(datagram(SKF, generic(0, h("00030002 aabb"))), "Fragment Number 3 not in 1..2");
  expect_syntax(datagram(SKF, generic(0, h("00010000 aabb"))), "Total Fragments is 0");
  expect_syntax(datagram(SKF, generic(IDI, h("00020002 aabb"))), "fragment 2 has Next Payload 35");
  expect_syntax(datagram(SKF, generic(0, h("0001"))), "SKF payload: body of 2 octets");
  auto last = parse_message(datagram(SKF, generic(0, h("00020002 aabb"))));
  ASSERT_TRUE(last.ok()) << last.err().message;
  const auto& f = std::get<skf_payload>(last->payloads[0].body);
  EXPECT_EQ(f.fragment_number, 2);
  EXPECT_EQ(f.total_fragments, 2);
  EXPECT_EQ(f.data, h("aabb"));
}

// --------------------------------------------------------- robustness loops ---

TEST(WireRobustness, EveryPrefixOfAValidMessageFailsCleanly) {
  for (const bytes& wire : {sa_init_request_bytes(), encode_message(every_payload())}) {
    ASSERT_TRUE(parse_message(wire).ok());
    for (std::size_t n = 0; n < wire.size(); ++n) {
      const bytes_view prefix = bytes_view(wire).first(n);
      auto r = parse_message(prefix);
      ASSERT_FALSE(r.ok()) << "prefix of " << n << " octets parsed";
      EXPECT_FALSE(r.err().message.empty());
      if (n < 28) continue;
      // Same prefix with a consistent header Length: the payload chain itself must be rejected.
      bytes fixed(prefix.begin(), prefix.end());
      fixed[24] = static_cast<std::uint8_t>(n >> 24);
      fixed[25] = static_cast<std::uint8_t>(n >> 16);
      fixed[26] = static_cast<std::uint8_t>(n >> 8);
      fixed[27] = static_cast<std::uint8_t>(n);
      auto r2 = parse_message(fixed);
      ASSERT_FALSE(r2.ok()) << "length-fixed prefix of " << n << " octets parsed";
      EXPECT_EQ(r2.err().code, errc::invalid_syntax) << r2.err().message;
    }
  }
  // Prefixes of a header-less chain.
  const auto ps = every_payload().payloads;
  const bytes chain = encode_payloads(std::vector<payload>(ps.begin(), ps.end() - 1));
  for (std::size_t n = 0; n < chain.size(); ++n)
    ASSERT_FALSE(parse_payloads(payload_type::sa, bytes_view(chain).first(n)).ok()) << n;
}

// If a mutated message parses, its re-encoding must parse to the same value again.
void check_stable(const bytes& d, int& parsed_count) {
  auto m = parse_message(d);
  if (!m) {
    ASSERT_FALSE(m.err().message.empty());
    return;
  }
  ++parsed_count;
  const bytes enc = encode_message(m.value());
  auto again = parse_message(enc);
  ASSERT_TRUE(again.ok()) << again.err().message;
  ASSERT_EQ(again.value(), m.value());
  ASSERT_EQ(encode_message(again.value()), enc);
}

TEST(WireRobustness, DeterministicRandomMutationsNeverCrash) {
  std::mt19937 rng(20240607);
  int parsed = 0;
  const std::vector<bytes> seeds = {sa_init_request_bytes(), encode_message(every_payload())};
  for (int i = 0; i < 6000; ++i) {
    bytes d = seeds[i % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = rng() % d.size();
      switch (rng() % 3) {
        case 0: d[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 1: d[at] = static_cast<std::uint8_t>(rng()); break;
        case 2: d[at] = (rng() % 2) ? 0x00 : 0xff; break;
      }
    }
    // Half of the time, also truncate or extend and keep the header Length consistent.
    if (i % 2 == 1) {
      const std::size_t n = 28 + rng() % (d.size() + 8 - 28);
      d.resize(n, static_cast<std::uint8_t>(rng()));
      d[24] = static_cast<std::uint8_t>(n >> 24);
      d[25] = static_cast<std::uint8_t>(n >> 16);
      d[26] = static_cast<std::uint8_t>(n >> 8);
      d[27] = static_cast<std::uint8_t>(n);
    }
    check_stable(d, parsed);
    if (HasFatalFailure()) return;
  }
  // Some mutations (e.g. in nonce or KE data) keep the message valid.
  EXPECT_GT(parsed, 100);
}

TEST(WireRobustness, EverySingleByteValueAtEveryOffset) {
  const bytes seed = sa_init_request_bytes();
  int parsed = 0;
  for (std::size_t at = 0; at < seed.size(); ++at) {
    for (int v : {0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff}) {
      bytes d = seed;
      d[at] = static_cast<std::uint8_t>(v);
      check_stable(d, parsed);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(parsed, 0);
}

// ------------------------------------------------------------- names, helpers ---

TEST(WireNames, KnownAndUnknownValues) {
  EXPECT_STREQ(name_of(exchange::ike_sa_init), "IKE_SA_INIT");
  EXPECT_STREQ(name_of(exchange::informational), "INFORMATIONAL");
  EXPECT_STREQ(name_of(static_cast<exchange>(99)), "UNKNOWN_EXCHANGE");
  EXPECT_STREQ(name_of(payload_type::skf), "SKF");
  EXPECT_STREQ(name_of(payload_type::idi), "IDi");
  EXPECT_STREQ(name_of(static_cast<payload_type>(250)), "UNKNOWN_PAYLOAD");
  EXPECT_STREQ(notify_name(notify::no_proposal_chosen), "NO_PROPOSAL_CHOSEN");
  EXPECT_STREQ(notify_name(notify::signature_hash_algorithms), "SIGNATURE_HASH_ALGORITHMS");
  EXPECT_STREQ(notify_name(12345), "UNKNOWN_ERROR_NOTIFY");
  EXPECT_STREQ(notify_name(50000), "UNKNOWN_STATUS_NOTIFY");
  EXPECT_STREQ(transform_name(transform_type::encr, encr::aes_gcm_16), "AES_GCM_16");
  EXPECT_STREQ(transform_name(transform_type::prf, prf::hmac_sha2_256), "PRF_HMAC_SHA2_256");
  EXPECT_STREQ(transform_name(transform_type::integ, integ::hmac_sha2_256_128), "AUTH_HMAC_SHA2_256_128");
  EXPECT_STREQ(transform_name(transform_type::ke, ke::curve25519), "CURVE25519");
  EXPECT_STREQ(transform_name(transform_type::esn, esn::yes), "ESN");
  EXPECT_STREQ(transform_name(transform_type::encr, 9999), "UNKNOWN_ENCR");
  EXPECT_STREQ(transform_name(static_cast<transform_type>(77), 1), "UNKNOWN_TRANSFORM_TYPE");
}

TEST(WireAccess, FindHelpers) {
  const message m = every_payload();
  const auto* idi = find_first<id_payload>(m, payload_type::idi);
  const auto* idr = find_first<id_payload>(m.payloads, payload_type::idr);
  ASSERT_NE(idi, nullptr);
  ASSERT_NE(idr, nullptr);
  EXPECT_EQ(idi->data, to_bytes("alice.example.org"));
  EXPECT_EQ(idr->type, id_type::ipv4_addr);
  // Wrong body type for the payload type: not found rather than a bad cast.
  EXPECT_EQ(find_first<ke_payload>(m, payload_type::idi), nullptr);
  EXPECT_EQ(find_first<ke_payload>(m, payload_type::cert), nullptr);
  EXPECT_TRUE(has_payload(m.payloads, payload_type::eap));
  EXPECT_FALSE(has_payload(m.payloads, payload_type::skf));
  EXPECT_EQ(notifies(m.payloads).size(), 2u);
  const auto* rekey = find_notify(m.payloads, notify::rekey_sa);
  ASSERT_NE(rekey, nullptr);
  EXPECT_EQ(rekey->spi, h("01020304"));
  EXPECT_EQ(find_all<ts_payload>(m.payloads, payload_type::tsr).size(), 1u);

  std::vector<payload> ps = {make_notify(notify::cookie, h("01")), make_notify(notify::ts_unacceptable)};
  const auto* err = first_error_notify(ps);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->type, notify::ts_unacceptable);
  const payload crit = make_payload(payload_type::vendor, vendor_payload{h("01")}, true);
  EXPECT_TRUE(crit.critical);
  EXPECT_EQ(crit.type, payload_type::vendor);
}

}  // namespace
}  // namespace aike::wire
