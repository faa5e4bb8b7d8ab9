// SK framing (RFC 7296 §3.14): seal_message / open_message round trips, tampering, wrong keys,
// truncation. Most tests use a test-only AES-256-GCM (RFC 5282 layout: 8-octet explicit IV,
// 4-octet salt at the end of the key, 16-octet ICV, AAD = everything before the SK body) written
// directly on EVP, which also records the AAD it was given; WireSkFrameReal repeats the key
// checks with the production ciphers from sk_cipher::create.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::wire {
namespace {

using crypto::sk_keys;

// No `override` below on purpose: sk_cipher is gaining test hooks (seal_with_iv, seal_padded)
// concurrently; declaring every member without it compiles whether or not the base has them.
class test_gcm final : public crypto::sk_cipher {
 public:
  explicit test_gcm(std::size_t block) : block_(block) {}
  std::size_t encr_key_size() const { return 36; }
  std::size_t integ_key_size() const { return 0; }
  std::size_t iv_size() const { return 8; }
  std::size_t icv_size() const { return 16; }
  std::size_t block_size() const { return block_; }
  bool is_aead() const { return true; }

  result<bytes> seal(const sk_keys& keys, bytes_view header, bytes_view plaintext) const {
    bytes iv(8);
    if (RAND_bytes(iv.data(), 8) != 1) return make_error(errc::crypto_failure, "rand");
    return seal_with_iv(keys, header, plaintext, iv);
  }

  result<bytes> seal_with_iv(const sk_keys& keys, bytes_view header, bytes_view plaintext, bytes_view iv) const {
    bytes buf = to_bytes(plaintext);
    const std::size_t padded = (plaintext.size() + 1 + block_ - 1) / block_ * block_;
    const std::size_t pad = padded - plaintext.size() - 1;
    buf.insert(buf.end(), pad, 0);
    buf.push_back(static_cast<std::uint8_t>(pad));
    return seal_padded(keys, header, iv, buf);
  }

  result<bytes> seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv, bytes_view padded) const {
    last_header = to_bytes(header);
    if (keys.encr.size() != 36 || iv.size() != 8) return make_error(errc::invalid_argument, "key or IV size");
    bytes out = to_bytes(iv);
    bytes ct(padded.size());
    bytes tag(16);
    if (!run(true, keys, iv, header, padded, ct, tag)) return make_error(errc::crypto_failure, "gcm");
    append(out, ct);
    append(out, tag);
    return out;
  }

  result<bytes> open(const sk_keys& keys, bytes_view header, bytes_view body) const {
    if (keys.encr.size() != 36) return make_error(errc::invalid_argument, "key size");
    if (body.size() < 8 + 16 + 1) return make_error(errc::invalid_syntax, "SK body too short");
    const bytes_view iv = body.first(8);
    const bytes_view ct = body.subspan(8, body.size() - 24);
    bytes tag = to_bytes(body.last(16));
    bytes pt(ct.size());
    if (!run(false, keys, iv, header, ct, pt, tag))
      return make_error(errc::integrity_check_failed, "ICV does not verify");
    const std::size_t pad = pt.back();
    if (pad + 1 > pt.size()) return make_error(errc::invalid_syntax, "pad length");
    pt.resize(pt.size() - pad - 1);
    return pt;
  }

  mutable bytes last_header;  // what seal() got as AAD, to check the lengths were final

 private:
  static bool run(bool enc, const sk_keys& keys, bytes_view iv, bytes_view aad, bytes_view in, bytes& out,
                  bytes& tag) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    bytes nonce(keys.encr.begin() + 32, keys.encr.end());
    append(nonce, iv);
    int len = 0;
    if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, keys.encr.data(), nonce.data(), enc ? 1 : 0) != 1)
      return false;
    if (EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) return false;
    if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(in.size())) != 1) return false;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1) return false;
    if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &len) != 1) return false;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data()) != 1) return false;
    return true;
  }

  std::size_t block_;
};

bytes filled(std::size_t n, std::uint8_t start) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

sk_keys keys_a() { return sk_keys{filled(36, 0x10), {}}; }
sk_keys keys_b() { return sk_keys{filled(36, 0x90), {}}; }

ike_header auth_header() {
  ike_header h;
  h.spi_i = 0x0102030405060708ULL;
  h.spi_r = 0x1112131415161718ULL;
  h.exchange_type = exchange::ike_auth;
  h.flags = flag::initiator;
  h.message_id = 1;
  return h;
}

std::vector<payload> auth_inner() {
  proposal p;
  p.protocol = protocol_id::esp;
  p.spi = {0xca, 0xfe, 0x00, 0x01};
  p.transforms = {{transform_type::encr, encr::aes_gcm_16, {{attr_key_length, true, 256, {}}}},
                  {transform_type::esn, esn::no, {}}};
  traffic_selector any4{ts_type::ipv4_addr_range, 0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
  return {make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("alice.example.org")}),
          make_notify(notify::initial_contact),
          make_payload(payload_type::auth, auth_payload{auth_method::psk, filled(32, 0x40)}),
          make_payload(payload_type::sa, sa_payload{{p}}),
          make_payload(payload_type::tsi, ts_payload{{any4}}),
          make_payload(payload_type::tsr, ts_payload{{any4}})};
}

TEST(WireSkFrame, SealOpenRoundTrip) {
  for (std::size_t block : {1, 4, 16}) {
    test_gcm c(block);
    auto sealed = seal_message(auth_header(), auth_inner(), c, keys_a());
    ASSERT_TRUE(sealed.ok()) << sealed.err().message;
    const bytes& d = sealed.value();

    // Outer structure: header, then one SK payload naming IDi as the first inner payload.
    auto outer = parse_message(d);
    ASSERT_TRUE(outer.ok()) << outer.err().message;
    EXPECT_EQ(outer->header.next_payload, payload_type::sk);
    EXPECT_EQ(outer->header.length, d.size());
    ASSERT_EQ(outer->payloads.size(), 1u);
    const auto& sk = std::get<sk_payload>(outer->payloads[0].body);
    EXPECT_EQ(sk.first_inner, payload_type::idi);
    const std::size_t plain = encode_payloads(auth_inner()).size();
    EXPECT_EQ(sk.data.size(), sk_body_size(c, plain));
    EXPECT_EQ(sk.data.size(), 8 + (plain + 1 + block - 1) / block * block + 16);
    // The AAD given to seal() already had the final lengths: it is the datagram's prefix.
    EXPECT_EQ(c.last_header, bytes(d.begin(), d.end() - static_cast<std::ptrdiff_t>(sk.data.size())));
    EXPECT_EQ(c.last_header.size(), 28u + 4u);

    auto opened = open_message(d, c, keys_a());
    ASSERT_TRUE(opened.ok()) << opened.err().message;
    EXPECT_EQ(opened->payloads, auth_inner());
    EXPECT_EQ(opened->header.spi_i, auth_header().spi_i);
    EXPECT_EQ(opened->header.message_id, 1u);
    EXPECT_EQ(opened->header.length, d.size());
    EXPECT_EQ(find_first<id_payload>(opened.value(), payload_type::idi)->data, to_bytes("alice.example.org"));
  }
}

TEST(WireSkFrame, EmptyInnerAndClearPayloads) {
  test_gcm c(4);
  // Liveness check: INFORMATIONAL with an empty SK (Next Payload 0).
  ike_header h = auth_header();
  h.exchange_type = exchange::informational;
  auto empty = seal_message(h, {}, c, keys_a());
  ASSERT_TRUE(empty.ok()) << empty.err().message;
  EXPECT_EQ(empty->size(), 28u + 4u + 8u + 4u + 16u);  // 1 pad-length octet padded to 4
  auto opened = open_message(empty.value(), c, keys_a());
  ASSERT_TRUE(opened.ok()) << opened.err().message;
  EXPECT_TRUE(opened->payloads.empty());
  EXPECT_EQ(opened->header.exchange_type, exchange::informational);

  // Unencrypted payloads before SK stay in front of the opened payloads and are covered by the AAD.
  const std::vector<payload> clear = {make_payload(payload_type::vendor, vendor_payload{to_bytes("clear")})};
  auto withclear = seal_message(auth_header(), clear, auth_inner(), c, keys_a());
  ASSERT_TRUE(withclear.ok()) << withclear.err().message;
  auto both = open_message(withclear.value(), c, keys_a());
  ASSERT_TRUE(both.ok()) << both.err().message;
  ASSERT_EQ(both->payloads.size(), 1 + auth_inner().size());
  EXPECT_EQ(both->payloads[0], clear[0]);
  EXPECT_EQ(c.last_header.size(), 28u + 9u + 4u);
  bytes tampered = withclear.value();
  tampered[28 + 4] ^= 0x01;  // inside the clear Vendor ID
  auto bad = open_message(tampered, c, keys_a());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::integrity_check_failed);
}

TEST(WireSkFrame, EveryTamperedOctetIsRejected) {
  test_gcm c(16);
  auto sealed = seal_message(auth_header(), auth_inner(), c, keys_a());
  ASSERT_TRUE(sealed.ok());
  const bytes& d = sealed.value();
  for (std::size_t i = 0; i < d.size(); ++i) {
    bytes t = d;
    t[i] ^= 0x80;
    auto r = open_message(t, c, keys_a());
    ASSERT_FALSE(r.ok()) << "flip at " << i << " accepted";
    // Octets that keep the outer syntax valid (SPIs, flags, message ID, SK body) must fail the ICV.
    const bool structural = (i >= 16 && i <= 18) || (i >= 24 && i < 28) || (i >= 28 && i < 32);
    if (!structural) {
      EXPECT_EQ(r.err().code, errc::integrity_check_failed) << "flip at " << i << ": " << r.err().message;
    }
  }
}

TEST(WireSkFrame, WrongKeysFail) {
  test_gcm c(1);
  auto sealed = seal_message(auth_header(), auth_inner(), c, keys_a());
  ASSERT_TRUE(sealed.ok());
  auto r = open_message(sealed.value(), c, keys_b());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::integrity_check_failed);
  // A one-bit difference in the salt is enough.
  sk_keys k = keys_a();
  k.encr.back() ^= 1;
  auto r2 = open_message(sealed.value(), c, k);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.err().code, errc::integrity_check_failed);
}

TEST(WireSkFrame, TruncatedFails) {
  test_gcm c(4);
  auto sealed = seal_message(auth_header(), auth_inner(), c, keys_a());
  ASSERT_TRUE(sealed.ok());
  const bytes& d = sealed.value();
  for (std::size_t n = 0; n < d.size(); ++n) {
    ASSERT_FALSE(open_message(bytes_view(d).first(n), c, keys_a()).ok()) << n;
    if (n < 32) continue;
    // With header and SK lengths made consistent, the shortened body must fail the ICV (or size check).
    bytes t(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n));
    t[24] = static_cast<std::uint8_t>(n >> 24);
    t[25] = static_cast<std::uint8_t>(n >> 16);
    t[26] = static_cast<std::uint8_t>(n >> 8);
    t[27] = static_cast<std::uint8_t>(n);
    t[30] = static_cast<std::uint8_t>((n - 28) >> 8);
    t[31] = static_cast<std::uint8_t>(n - 28);
    auto r = open_message(t, c, keys_a());
    ASSERT_FALSE(r.ok()) << n;
  }
}

TEST(WireSkFrame, MessagesThatAreNotProtected) {
  test_gcm c(1);
  message plain{auth_header(), {make_notify(notify::initial_contact)}};
  auto r = open_message(encode_message(plain), c, keys_a());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_syntax);
  auto none = open_message(encode_message(message{auth_header(), {}}), c, keys_a());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.err().code, errc::invalid_syntax);
  message frag{auth_header(), {make_payload(payload_type::skf, skf_payload{payload_type::idi, 1, 2, filled(40, 0)})}};
  auto f = open_message(encode_message(frag), c, keys_a());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.err().code, errc::invalid_argument);
  auto garbage = open_message(filled(10, 0), c, keys_a());
  ASSERT_FALSE(garbage.ok());
}

TEST(WireSkFrame, MalformedOrCriticalInnerPayloads) {
  test_gcm c(1);
  // Seal by hand an SK whose plaintext is a truncated chain.
  ike_header h = auth_header();
  h.next_payload = payload_type::sk;
  bytes inner = encode_payloads({make_notify(notify::initial_contact)});
  inner.pop_back();
  inner.pop_back();  // shorter than the Notify's length says
  const std::size_t body = sk_body_size(c, inner.size());
  h.length = static_cast<std::uint32_t>(28 + 4 + body);
  bytes d = encode_header(h);
  put_u8(d, static_cast<std::uint8_t>(payload_type::notify));
  put_u8(d, 0);
  put_u16(d, static_cast<std::uint16_t>(4 + body));
  auto sealed = c.seal(keys_a(), d, inner);
  ASSERT_TRUE(sealed.ok());
  append(d, sealed.value());
  auto r = open_message(d, c, keys_a());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_syntax);
  EXPECT_NE(r.err().message.find("inside SK"), std::string::npos) << r.err().message;

  // An unknown critical payload inside: UNSUPPORTED_CRITICAL_PAYLOAD with its type.
  auto crit = seal_message(auth_header(), {make_payload(static_cast<payload_type>(222), unknown_payload{{1, 2}}, true)},
                           c, keys_a());
  ASSERT_TRUE(crit.ok());
  auto rc = open_message(crit.value(), c, keys_a());
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.err().code, errc::unsupported_critical_payload);
  EXPECT_EQ(rc.err().payload_type, 222);
}

TEST(WireSkFrame, TooLargeForOneSkPayload) {
  test_gcm c(1);
  std::vector<payload> big;
  for (int i = 0; i < 300; ++i) big.push_back(make_payload(payload_type::cert, cert_payload{cert_encoding::x509_signature, bytes(250, 1)}));
  auto r = seal_message(auth_header(), big, c, keys_a());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
}

// ----------------------------------------------------------- RFC 7383 SKF ---

std::vector<payload> big_inner() {
  std::vector<payload> ps = auth_inner();
  ps.insert(ps.begin() + 1, make_payload(payload_type::cert, cert_payload{cert_encoding::x509_signature, filled(2500, 0)}));
  return ps;
}

result<std::optional<message>> feed_all(fragment_reassembly& r, const std::vector<bytes>& frags,
                                        const crypto::sk_cipher& c, const sk_keys& k,
                                        const std::vector<std::size_t>& order) {
  result<std::optional<message>> last = std::optional<message>{};
  for (std::size_t i : order) {
    last = r.add(frags[i], c, k);
    if (!last.ok() || last.value().has_value()) return last;
  }
  return last;
}

TEST(WireSkFragments, SplitAndReassembleInAnyOrder) {
  for (std::size_t block : {1, 16}) {
    test_gcm c(block);
    const std::size_t max = 500;
    auto frags = seal_fragments(auth_header(), big_inner(), max, c, keys_a());
    ASSERT_TRUE(frags.ok()) << frags.err().message;
    const std::size_t n = frags->size();
    ASSERT_GE(n, 6u);
    std::size_t total_plain = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bytes& d = frags.value()[i];
      EXPECT_LE(d.size(), max);
      if (i + 1 < n) {
        EXPECT_GT(d.size(), max - block) << "fragment " << i + 1 << " is not full";
      }
      auto m = parse_message(d);
      ASSERT_TRUE(m.ok()) << m.err().message;
      EXPECT_EQ(m->header.message_id, auth_header().message_id);
      EXPECT_EQ(m->header.next_payload, payload_type::skf);
      ASSERT_EQ(m->payloads.size(), 1u);
      const auto& f = std::get<skf_payload>(m->payloads[0].body);
      EXPECT_EQ(f.fragment_number, i + 1);
      EXPECT_EQ(f.total_fragments, n);
      EXPECT_EQ(f.first_inner, i == 0 ? payload_type::idi : payload_type::none);
      total_plain += f.data.size() - 8 - 16;
    }
    EXPECT_GE(total_plain, encode_payloads(big_inner()).size());
    // The AAD of the last fragment: IKE header, SKF header and the two fragment fields (§2.5).
    const bytes& lastd = frags->back();
    EXPECT_EQ(c.last_header, bytes(lastd.begin(), lastd.begin() + 36));

    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::vector<std::vector<std::size_t>> orders = {order, std::vector<std::size_t>(order.rbegin(), order.rend())};
    std::vector<std::size_t> mixed = order;
    std::swap(mixed[0], mixed[n / 2]);
    std::swap(mixed[1], mixed[n - 1]);
    orders.push_back(mixed);
    for (const auto& o : orders) {
      fragment_reassembly r;
      auto done = feed_all(r, frags.value(), c, keys_a(), o);
      ASSERT_TRUE(done.ok()) << done.err().message;
      ASSERT_TRUE(done->has_value());
      EXPECT_EQ(done->value().payloads, big_inner());
      EXPECT_EQ(done->value().header.spi_i, auth_header().spi_i);
      EXPECT_EQ(r.received(), 0u);  // state cleared after completion
    }
  }
}

TEST(WireSkFragments, SmallAndEmptyMessagesGiveOneFragment) {
  test_gcm c(4);
  for (const auto& inner : {std::vector<payload>{}, auth_inner()}) {
    auto frags = seal_fragments(auth_header(), inner, 1280, c, keys_a());
    ASSERT_TRUE(frags.ok()) << frags.err().message;
    ASSERT_EQ(frags->size(), 1u);
    fragment_reassembly r;
    auto done = r.add(frags->front(), c, keys_a());
    ASSERT_TRUE(done.ok()) << done.err().message;
    ASSERT_TRUE(done->has_value());
    EXPECT_EQ(done->value().payloads, inner);
  }
}

TEST(WireSkFragments, TamperedDuplicateAndForeignFragments) {
  test_gcm c(1);
  auto frags = seal_fragments(auth_header(), big_inner(), 600, c, keys_a());
  ASSERT_TRUE(frags.ok());
  const auto& fs = frags.value();
  ASSERT_GE(fs.size(), 3u);
  fragment_reassembly r;
  ASSERT_TRUE(r.add(fs[0], c, keys_a()).ok());
  EXPECT_EQ(r.received(), 1u);
  EXPECT_EQ(r.total_fragments(), fs.size());

  // Tampered: rejected, nothing stored.
  bytes bad = fs[1];
  bad[bad.size() - 3] ^= 1;
  auto rb = r.add(bad, c, keys_a());
  ASSERT_FALSE(rb.ok());
  EXPECT_EQ(rb.err().code, errc::integrity_check_failed);
  // The Fragment Number is authenticated too: renumbering fragment 2 as 3 fails.
  bad = fs[1];
  bad[33] = 3;
  rb = r.add(bad, c, keys_a());
  ASSERT_FALSE(rb.ok());
  EXPECT_EQ(rb.err().code, errc::integrity_check_failed);
  // Wrong keys.
  rb = r.add(fs[1], c, keys_b());
  ASSERT_FALSE(rb.ok());
  EXPECT_EQ(rb.err().code, errc::integrity_check_failed);
  EXPECT_EQ(r.received(), 1u);

  // Duplicate: ignored.
  auto dup = r.add(fs[0], c, keys_a());
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(dup->has_value());
  EXPECT_EQ(r.received(), 1u);

  // Another Message ID while reassembling.
  ike_header other = auth_header();
  other.message_id = 9;
  auto foreign = seal_fragments(other, auth_inner(), 600, c, keys_a());
  ASSERT_TRUE(foreign.ok());
  auto rf = r.add(foreign->front(), c, keys_a());
  ASSERT_FALSE(rf.ok());
  EXPECT_EQ(rf.err().code, errc::invalid_argument);

  // Not a fragment at all.
  auto whole = seal_message(auth_header(), auth_inner(), c, keys_a());
  ASSERT_TRUE(whole.ok());
  auto rw = r.add(whole.value(), c, keys_a());
  ASSERT_FALSE(rw.ok());
  EXPECT_EQ(rw.err().code, errc::invalid_argument);

  // The rest completes the message.
  result<std::optional<message>> last = std::optional<message>{};
  for (std::size_t i = 1; i < fs.size(); ++i) last = r.add(fs[i], c, keys_a());
  ASSERT_TRUE(last.ok()) << last.err().message;
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(last->value().payloads, big_inner());
}

TEST(WireSkFragments, RefragmentedSmallerRestartsReassembly) {
  test_gcm c(1);
  auto coarse = seal_fragments(auth_header(), big_inner(), 1200, c, keys_a());
  auto fine = seal_fragments(auth_header(), big_inner(), 400, c, keys_a());
  ASSERT_TRUE(coarse.ok());
  ASSERT_TRUE(fine.ok());
  ASSERT_LT(coarse->size(), fine->size());
  fragment_reassembly r;
  ASSERT_TRUE(r.add(coarse.value()[0], c, keys_a()).ok());
  ASSERT_TRUE(r.add(coarse.value()[1], c, keys_a()).ok());
  EXPECT_EQ(r.total_fragments(), coarse->size());
  // A fragment with more Total Fragments replaces the collection.
  ASSERT_TRUE(r.add(fine.value()[0], c, keys_a()).ok());
  EXPECT_EQ(r.total_fragments(), fine->size());
  EXPECT_EQ(r.received(), 1u);
  // Late fragments of the coarser set are ignored.
  auto stale = r.add(coarse.value()[2], c, keys_a());
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_value());
  EXPECT_EQ(r.received(), 1u);
  result<std::optional<message>> last = std::optional<message>{};
  for (std::size_t i = 1; i < fine->size(); ++i) last = r.add(fine.value()[i], c, keys_a());
  ASSERT_TRUE(last.ok()) << last.err().message;
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(last->value().payloads, big_inner());
}

TEST(WireSkFragments, Limits) {
  test_gcm c(16);
  // IKE header 28 + SKF header 8 + IV 8 + ICV 16 = 60 octets: 61 leaves no whole block for data,
  // 76 leaves one block of 16: 15 octets of data and the Pad Length octet.
  auto tiny = seal_fragments(auth_header(), auth_inner(), 61, c, keys_a());
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.err().code, errc::invalid_argument);
  auto smallest = seal_fragments(auth_header(), auth_inner(), 76, c, keys_a());
  ASSERT_TRUE(smallest.ok()) << smallest.err().message;
  EXPECT_EQ(smallest->size(), (encode_payloads(auth_inner()).size() + 14) / 15);
  // More fragments than the reassembly accepts.
  fragment_reassembly r(reassembly_limits{.max_fragments = 4});
  auto rr = r.add(smallest->front(), c, keys_a());
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(rr.err().code, errc::invalid_argument);
  EXPECT_EQ(r.received(), 0u);
}

// max_size bounds the decrypted data one incomplete message may hold: the fragment that would
// pass it is refused and everything collected so far is dropped (the peer's retransmission starts
// over). Exactly the message's size is accepted.
TEST(WireSkFragments, TotalSizeLimit) {
  test_gcm c(1);
  auto frags = seal_fragments(auth_header(), big_inner(), 500, c, keys_a());
  ASSERT_TRUE(frags.ok());
  const std::size_t size = encode_payloads(big_inner()).size();
  ASSERT_GT(size, 2500u);

  fragment_reassembly exact(reassembly_limits{.max_fragments = 64, .max_size = size});
  std::vector<std::size_t> order(frags->size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto done = feed_all(exact, frags.value(), c, keys_a(), order);
  ASSERT_TRUE(done.ok()) << done.err().message;
  ASSERT_TRUE(done->has_value());

  fragment_reassembly r(reassembly_limits{.max_fragments = 64, .max_size = 1000});
  std::size_t refused_at = 0;
  for (std::size_t i = 0; i < frags->size(); ++i) {
    auto a = r.add(frags.value()[i], c, keys_a());
    if (!a.ok()) {
      EXPECT_EQ(a.err().code, errc::invalid_argument);
      EXPECT_NE(a.err().message.find("exceed 1000 octets"), std::string::npos) << a.err().message;
      refused_at = i + 1;
      break;
    }
    EXPECT_LE(r.held_octets(), 1000u);
    EXPECT_FALSE(a->has_value());
  }
  EXPECT_EQ(refused_at, 3u);  // about 450 octets per fragment: the third passes 1000
  EXPECT_EQ(r.received(), 0u);
  EXPECT_EQ(r.held_octets(), 0u);
  EXPECT_EQ(r.total_fragments(), 0u);
}

// The production ciphers from sk_cipher::create: the frame's size prediction (sk_body_size)
// must match what seal() produces, and open_message must undo seal_message.
struct real_cipher {
  const char* name;
  std::uint16_t encr_id;
  std::uint16_t key_bits;
  std::uint16_t integ_id;
};

class WireSkFrameReal : public ::testing::TestWithParam<real_cipher> {};

TEST_P(WireSkFrameReal, SealOpenTamperWrongKeys) {
  const real_cipher rc = GetParam();
  auto c = crypto::sk_cipher::create(rc.encr_id, rc.key_bits, rc.integ_id);
  ASSERT_TRUE(c.ok()) << c.err().message;
  const crypto::sk_cipher& cipher = *c.value();
  const sk_keys k{filled(cipher.encr_key_size(), 1), filled(cipher.integ_key_size(), 2)};
  const sk_keys other{filled(cipher.encr_key_size(), 3), filled(cipher.integ_key_size(), 4)};

  for (std::size_t extra = 0; extra < 20; ++extra) {  // several plaintext lengths: all paddings
    std::vector<payload> inner = auth_inner();
    inner.push_back(make_payload(payload_type::vendor, vendor_payload{filled(extra + 1, 0)}));
    auto sealed = seal_message(auth_header(), inner, cipher, k);
    ASSERT_TRUE(sealed.ok()) << sealed.err().message;
    auto outer = parse_message(sealed.value());
    ASSERT_TRUE(outer.ok()) << outer.err().message;
    EXPECT_EQ(std::get<sk_payload>(outer->payloads.back().body).data.size(),
              sk_body_size(cipher, encode_payloads(inner).size()));
    auto opened = open_message(sealed.value(), cipher, k);
    ASSERT_TRUE(opened.ok()) << opened.err().message;
    EXPECT_EQ(opened->payloads, inner);
  }

  auto sealed = seal_message(auth_header(), auth_inner(), cipher, k);
  ASSERT_TRUE(sealed.ok());
  const bytes& d = sealed.value();
  // SPI, Message ID, IV, ciphertext and ICV octets: each flip fails the integrity check.
  for (std::size_t i : {std::size_t{0}, std::size_t{15}, std::size_t{20}, std::size_t{32}, d.size() / 2, d.size() - 1}) {
    bytes t = d;
    t[i] ^= 0x01;
    auto r = open_message(t, cipher, k);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.err().code, errc::integrity_check_failed) << i << ": " << r.err().message;
  }
  auto wrong = open_message(d, cipher, other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.err().code, errc::integrity_check_failed);
  for (std::size_t n = 0; n < d.size(); ++n) ASSERT_FALSE(open_message(bytes_view(d).first(n), cipher, k).ok()) << n;

  // RFC 7383 fragments with the same cipher.
  auto frags = seal_fragments(auth_header(), big_inner(), 576, cipher, k);
  ASSERT_TRUE(frags.ok()) << frags.err().message;
  fragment_reassembly r;
  result<std::optional<message>> last = std::optional<message>{};
  for (const auto& f : frags.value()) {
    EXPECT_LE(f.size(), 576u);
    last = r.add(f, cipher, k);
    ASSERT_TRUE(last.ok()) << last.err().message;
  }
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(last->value().payloads, big_inner());
}

INSTANTIATE_TEST_SUITE_P(
    Ciphers, WireSkFrameReal,
    ::testing::Values(real_cipher{"AesGcm16_256", encr::aes_gcm_16, 256, integ::none},
                      real_cipher{"AesGcm16_128", encr::aes_gcm_16, 128, integ::none},
                      real_cipher{"ChaCha20Poly1305", encr::chacha20_poly1305, 0, integ::none},
                      real_cipher{"AesCbc128HmacSha256", encr::aes_cbc, 128, integ::hmac_sha2_256_128},
                      real_cipher{"AesCbc256HmacSha512", encr::aes_cbc, 256, integ::hmac_sha2_512_256}),
    [](const ::testing::TestParamInfo<real_cipher>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace aike::wire
