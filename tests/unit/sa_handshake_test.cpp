// Two engine IKE SAs talk to each other in one process: IKE_SA_INIT, IKE_AUTH with a CHILD_SA,
// INFORMATIONAL (DELETE both ways, liveness), for PSK, ECDSA, Ed25519, RSA-PSS and raw keys,
// plus the paths that need more than one round (COOKIE, INVALID_KE_PAYLOAD, retransmission).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <deque>
#include <map>

#include "engine/proposal/parser.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/sk_frame.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

auth::identity id(const char* s) { return *auth::identity::parse(s); }

ts::selector sel(const char* s) { return *ts::selector::parse(s); }

std::string pem_of_private(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

std::string pem_of_public(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

EVP_PKEY* keygen(const std::string& kind) {
  if (kind == "ecdsa") return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (kind == "ed25519") return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (kind == "rsa-pss") {  // EVP_PKEY_Q_keygen knows only plain RSA sizes
    EVP_PKEY* k = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
    EVP_PKEY_keygen(ctx, &k);
    EVP_PKEY_CTX_free(ctx);
    return k;
  }
  return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
}

// A certificate for `subject_cn` with subjectAltName DNS:`san`, signed by `issuer_key`
// (self-signed when issuer is null).
std::string make_cert_pem(EVP_PKEY* key, EVP_PKEY* issuer_key, X509* issuer, const std::string& cn,
                          const std::string& san, bool ca) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600 * 24);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("CH"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("aike test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  if (ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_subject_alt_name, ("DNS:" + san).c_str());
  }
  const EVP_MD* md = EVP_PKEY_get_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  X509_sign(x, issuer_key, md);
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  X509_free(x);
  return s;
}

// Two connections that mirror each other: "moon" (10.0.0.1, initiator) and "sun" (10.0.0.2).
std::pair<std::shared_ptr<connection>, std::shared_ptr<connection>> psk_pair(const char* ike = "aes256gcm16-prfsha256-x25519") {
  auto make = [&](const char* me, const char* peer, const char* lts, const char* rts) {
    auto c = std::make_shared<connection>();
    c->name = "site";
    c->ike_proposals = *proposal::parse_ike_proposals({ike});
    c->local.id = id(me);
    c->remote.id = id(peer);
    c->secrets.push_back({{id("moon.example"), id("sun.example")}, to_bytes("correct horse battery staple")});
    child_config ch;
    ch.name = "net";
    ch.local_ts = {sel(lts)};
    ch.remote_ts = {sel(rts)};
    ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16", "aes128-sha256"});
    c->children.push_back(ch);
    return c;
  };
  return {make("moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24"),
          make("sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24")};
}

struct harness : in_memory_pair {
  using in_memory_pair::in_memory_pair;
};

void expect_matching_children(const harness& h) {
  ASSERT_EQ(h.installed_a.size(), 1u);
  ASSERT_EQ(h.installed_b.size(), 1u);
  const auto& ca = h.installed_a[0];
  const auto& cb = h.installed_b[0];
  EXPECT_EQ(ca.spi_in, cb.spi_out);
  EXPECT_EQ(ca.spi_out, cb.spi_in);
  EXPECT_EQ(ca.encr_out, cb.encr_in);
  EXPECT_EQ(ca.encr_in, cb.encr_out);
  EXPECT_EQ(ca.integ_out, cb.integ_in);
  EXPECT_NE(ca.encr_out, ca.encr_in);
  EXPECT_FALSE(ca.encr_out.empty());
  EXPECT_EQ(ca.local_ts, cb.remote_ts);
  EXPECT_EQ(ca.remote_ts, cb.local_ts);
}

void expect_established(harness& h) {
  h.run();
  for (auto& l : h.logs) SCOPED_TRACE(l);
  ASSERT_EQ(h.initiator->state(), ike_state::established) << h.closed_a;
  ASSERT_EQ(h.responder->state(), ike_state::established) << h.closed_b;
  EXPECT_EQ(h.established_a, 1);
  EXPECT_EQ(h.established_b, 1);
  EXPECT_EQ(h.initiator->spi_i(), h.responder->spi_i());
  EXPECT_EQ(h.initiator->spi_r(), h.responder->spi_r());
  EXPECT_EQ(h.initiator->remote_id(), h.responder->local_id());
  EXPECT_EQ(h.responder->remote_id(), h.initiator->local_id());
  expect_matching_children(h);
}

}  // namespace

TEST(SaHandshake, PskEstablishesIkeAndChild) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  expect_established(h);
  // IKE_SA_INIT request/response, IKE_AUTH request/response.
  EXPECT_EQ(h.wire_log.size(), 4u);
  EXPECT_EQ(h.installed_a[0].local_ts, std::vector<ts::selector>{sel("10.1.0.0/24")});
  EXPECT_FALSE(h.initiator->nat_detected());
  EXPECT_EQ(h.drops, 0);
}

TEST(SaHandshake, EveryIkeProposalOfTheInteropMatrix) {
  for (const char* p : {"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048", "aes256-sha384-ecp384",
                        "chacha20poly1305-prfsha512-curve448", "aes128gcm8-prfsha1-ecp256", "aes192gcm12-prfsha384-ecp521"}) {
    SCOPED_TRACE(p);
    auto [ca, cb] = psk_pair(p);
    harness h(ca, cb);
    h.start();
    expect_established(h);
  }
}

TEST(SaHandshake, WrongPskFailsWithAuthenticationFailed) {
  auto [ca, cb] = psk_pair();
  cb->secrets[0].secret = to_bytes("something else");
  harness h(ca, cb);
  h.start();
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
  EXPECT_EQ(h.responder->state(), ike_state::closed);
  EXPECT_NE(h.closed_b.find("AUTHENTICATION_FAILED"), std::string::npos) << h.closed_b;
  EXPECT_NE(h.closed_a.find("AUTHENTICATION_FAILED"), std::string::npos) << h.closed_a;
  EXPECT_TRUE(h.installed_a.empty());
  EXPECT_TRUE(h.installed_b.empty());
}

TEST(SaHandshake, NoCommonProposal) {
  auto [ca, cb] = psk_pair();
  cb->ike_proposals = *proposal::parse_ike_proposals({"aes128-sha1-modp3072"});
  harness h(ca, cb);
  h.start();
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
  EXPECT_NE(h.closed_a.find("NO_PROPOSAL_CHOSEN"), std::string::npos) << h.closed_a;
}

TEST(SaHandshake, InvalidKePayloadRetriesWithTheAskedGroup) {
  auto [ca, cb] = psk_pair("aes256gcm16-prfsha256-x25519-ecp256");
  cb->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-ecp256"});
  harness h(ca, cb);
  h.start();
  expect_established(h);
  // INIT (x25519) -> INVALID_KE -> INIT (ecp256) -> reply -> AUTH -> reply
  EXPECT_EQ(h.wire_log.size(), 6u);
  EXPECT_NE(h.initiator->proposal_string().find("ecp256"), std::string::npos) << h.initiator->proposal_string();
}

TEST(SaHandshake, CookieRoundTrip) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.require_cookie = true;
  h.start();
  expect_established(h);
  EXPECT_EQ(h.wire_log.size(), 6u);
}

TEST(SaHandshake, TrafficSelectorsAreNarrowedAndBothSubnetsKept) {
  auto [ca, cb] = psk_pair();
  ca->children[0].local_ts = {sel("10.1.0.0/24"), sel("10.1.1.0/24")};
  cb->children[0].remote_ts = {sel("10.1.0.0/16")};
  cb->children[0].local_ts = {sel("10.2.0.0/24")};
  ca->children[0].remote_ts = {sel("10.2.0.0/16")};
  harness h(ca, cb);
  h.start();
  expect_established(h);
  auto expect_local = std::vector<ts::selector>{sel("10.1.0.0/24"), sel("10.1.1.0/24")};
  EXPECT_EQ(h.installed_a[0].local_ts, expect_local);
  EXPECT_EQ(h.installed_a[0].remote_ts, std::vector<ts::selector>{sel("10.2.0.0/24")});
}

TEST(SaHandshake, TsUnacceptableKeepsTheIkeSa) {
  auto [ca, cb] = psk_pair();
  cb->children[0].remote_ts = {sel("192.168.0.0/24")};
  harness h(ca, cb);
  h.start();
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::established);
  EXPECT_EQ(h.responder->state(), ike_state::established);
  EXPECT_TRUE(h.installed_a.empty());
  bool logged = false;
  for (auto& l : h.logs) logged |= l.find("TS_UNACCEPTABLE") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST(SaHandshake, LostResponseIsRetransmittedAndAnsweredFromCache) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  // Lose B's IKE_AUTH response (the 4th datagram: indices 0 INIT, 1 INIT resp, 2 AUTH, 3 AUTH resp).
  h.run(3);
  EXPECT_EQ(h.initiator->state(), ike_state::auth_sent);
  EXPECT_EQ(h.responder->state(), ike_state::established);
  h.fire_a(timer_kind::retransmit);
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::established);
  // B answered the retransmitted request with the same bytes and did not set up twice.
  EXPECT_EQ(h.established_b, 1);
  EXPECT_EQ(h.installed_b.size(), 1u);
  ASSERT_GE(h.wire_log.size(), 6u);
  EXPECT_EQ(h.wire_log[3], h.wire_log[5]);
}

TEST(SaHandshake, PeerThatVanishesIsDeclaredDead) {
  auto [ca, cb] = psk_pair();
  ca->retransmit.tries = 2;
  harness h(ca, cb);
  h.start();
  h.to_b.clear();  // nobody answers
  for (int i = 0; i < 2; ++i) {
    h.fire_a(timer_kind::retransmit);
    EXPECT_EQ(h.to_b.size(), 1u);
    h.to_b.clear();
  }
  h.fire_a(timer_kind::retransmit);
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
  EXPECT_TRUE(h.dead_a);
  EXPECT_EQ(ca->retransmit.delay(0).count(), 4000);
  EXPECT_EQ(ca->retransmit.delay(1).count(), 7200);
}

TEST(SaHandshake, DeleteFromInitiatorRemovesBothSides) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  expect_established(h);
  h.initiator->request_delete();
  h.collect_a();
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
  EXPECT_EQ(h.responder->state(), ike_state::closed);
  EXPECT_EQ(h.removed_a.size(), 1u);
  EXPECT_EQ(h.removed_b.size(), 1u);
  EXPECT_EQ(h.closed_b, "deleted by peer");
  EXPECT_EQ(h.closed_a, "deleted");
}

TEST(SaHandshake, DeleteFromResponderRemovesBothSides) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  expect_established(h);
  h.responder->request_delete();
  h.collect_b();
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
  EXPECT_EQ(h.responder->state(), ike_state::closed);
  EXPECT_EQ(h.closed_a, "deleted by peer");
}

TEST(SaHandshake, ChildDeleteBothDirections) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  expect_established(h);
  auto child_a = h.installed_a[0].id;
  ASSERT_TRUE(h.initiator->request_child_delete(child_a));
  h.collect_a();
  h.run();
  EXPECT_EQ(h.removed_a.size(), 1u);
  EXPECT_EQ(h.removed_b.size(), 1u);
  EXPECT_TRUE(h.initiator->children().empty());
  EXPECT_TRUE(h.responder->children().empty());
  EXPECT_EQ(h.initiator->state(), ike_state::established);
  EXPECT_FALSE(h.initiator->request_child_delete(child_a));
}

TEST(SaHandshake, LivenessCheckIsAnswered) {
  auto [ca, cb] = psk_pair();
  ca->dpd_delay = std::chrono::seconds(30);
  harness h(ca, cb);
  h.start();
  expect_established(h);
  auto before = h.wire_log.size();
  h.fire_a(timer_kind::dpd);  // traffic was seen: no check yet
  h.fire_a(timer_kind::dpd);  // idle: a check goes out
  h.run();
  EXPECT_EQ(h.wire_log.size(), before + 2);
  EXPECT_EQ(h.initiator->state(), ike_state::established);
}

TEST(SaHandshake, ForcedEncapMovesToNattPort) {
  auto [ca, cb] = psk_pair();
  ca->force_encap = true;
  harness h(ca, cb);
  h.start();
  expect_established(h);
  EXPECT_TRUE(h.initiator->nat_detected());
  EXPECT_TRUE(h.responder->nat_detected());
  EXPECT_EQ(h.initiator->local().port, 4500);
  EXPECT_EQ(h.initiator->remote().port, 4500);
  EXPECT_TRUE(h.installed_a[0].encap);
  EXPECT_TRUE(h.installed_b[0].encap);
}

TEST(SaHandshake, TamperedMessageIsDroppedNotFatal) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  expect_established(h);
  h.initiator->request_liveness_check();
  h.collect_a();
  ASSERT_EQ(h.to_b.size(), 1u);
  auto d = h.to_b.front();
  d.data[d.data.size() - 1] ^= 1;
  h.deliver_to_b(d);
  EXPECT_EQ(h.drops, 1);
  EXPECT_EQ(h.responder->state(), ike_state::established);
  h.run();  // the real one still works
  EXPECT_TRUE(h.to_a.empty());
}

namespace {

enum class key_mode { certificate, raw };

void pubkey_handshake(const std::string& kind, key_mode mode) {
  SCOPED_TRACE(kind);
  EVP_PKEY* ca_key = keygen("ecdsa");
  EVP_PKEY* ka = keygen(kind);
  EVP_PKEY* kb = keygen(kind);
  auto [ca, cb] = psk_pair();
  ca->local.kind = cb->local.kind = ca->remote.kind = cb->remote.kind = auth_kind::pubkey;
  ca->local.key = *auth::private_key::from_pem(pem_of_private(ka));
  cb->local.key = *auth::private_key::from_pem(pem_of_private(kb));
  if (mode == key_mode::certificate) {
    std::string ca_pem = make_cert_pem(ca_key, ca_key, nullptr, "aike test CA", "", true);
    auto ca_cert = *auth::certificate::from_pem(ca_pem);
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    X509* ca_x509 = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ca->local.certs = {*auth::certificate::from_pem(make_cert_pem(ka, ca_key, ca_x509, "moon", "moon.example", false))};
    cb->local.certs = {*auth::certificate::from_pem(make_cert_pem(kb, ca_key, ca_x509, "sun", "sun.example", false))};
    X509_free(ca_x509);
    auto store = std::make_shared<auth::trust_store>();
    ASSERT_TRUE(store->add_ca(ca_cert).ok());
    ca->remote.cas = store;
    cb->remote.cas = store;
  } else {
    ca->remote.pubkeys = {*auth::public_key::from_pem(pem_of_public(kb))};
    cb->remote.pubkeys = {*auth::public_key::from_pem(pem_of_public(ka))};
  }
  harness h(ca, cb);
  h.start();
  expect_established(h);
  // Signatures used RFC 7427 (both sides announced SIGNATURE_HASH_ALGORITHMS).
  bool saw = false;
  for (auto& l : h.logs) saw |= l.find("established") != std::string::npos;
  EXPECT_TRUE(saw);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(ka);
  EVP_PKEY_free(kb);
}

}  // namespace

TEST(SaHandshake, EcdsaCertificates) { pubkey_handshake("ecdsa", key_mode::certificate); }
TEST(SaHandshake, Ed25519Certificates) { pubkey_handshake("ed25519", key_mode::certificate); }
TEST(SaHandshake, RsaPssCertificates) { pubkey_handshake("rsa-pss", key_mode::certificate); }
TEST(SaHandshake, RawPublicKeys) {
  pubkey_handshake("ed25519", key_mode::raw);
  pubkey_handshake("ecdsa", key_mode::raw);
}

TEST(SaHandshake, CertificateFromUnknownCaIsRejected) {
  EVP_PKEY* ca_key = keygen("ecdsa");
  EVP_PKEY* other_ca = keygen("ecdsa");
  EVP_PKEY* ka = keygen("ecdsa");
  EVP_PKEY* kb = keygen("ecdsa");
  auto [ca, cb] = psk_pair();
  ca->local.kind = cb->local.kind = ca->remote.kind = cb->remote.kind = auth_kind::pubkey;
  ca->local.key = *auth::private_key::from_pem(pem_of_private(ka));
  cb->local.key = *auth::private_key::from_pem(pem_of_private(kb));
  ca->local.certs = {*auth::certificate::from_pem(make_cert_pem(ka, other_ca, nullptr, "moon", "moon.example", false))};
  cb->local.certs = {*auth::certificate::from_pem(make_cert_pem(kb, ca_key, nullptr, "sun", "sun.example", false))};
  auto store = std::make_shared<auth::trust_store>();
  ASSERT_TRUE(store->add_ca(*auth::certificate::from_pem(make_cert_pem(ca_key, ca_key, nullptr, "aike test CA", "", true))).ok());
  ca->remote.cas = store;
  cb->remote.cas = store;
  harness h(ca, cb);
  h.start();
  h.run();
  EXPECT_EQ(h.responder->state(), ike_state::closed);
  EXPECT_NE(h.closed_b.find("not trusted"), std::string::npos) << h.closed_b;
  for (auto* k : {ca_key, other_ca, ka, kb}) EVP_PKEY_free(k);
}

// RFC 7383: a responder that announced fragmentation reassembles an IKE_AUTH request that
// arrives in SKF fragments (charon fragments above 1280 octets, e.g. with RSA certificates).
TEST(SaHandshake, FragmentedAuthRequestIsReassembled) {
  auto [ca, cb] = psk_pair();
  harness h(ca, cb);
  h.start();
  // IKE_SA_INIT both ways.
  h.deliver_to_b(h.to_b.front());
  h.to_b.pop_front();
  h.deliver_to_a(h.to_a.front());
  h.to_a.pop_front();
  ASSERT_EQ(h.to_b.size(), 1u);
  auto auth = h.to_b.front();
  h.to_b.pop_front();
  // Re-protect A's IKE_AUTH request as fragments with A's keys.
  const auto& k = h.initiator->keys_for_debugging();
  auto alg = proposal::algorithms_of(h.initiator->selected_ike_proposal());
  auto cipher = crypto::sk_cipher::create(alg.encr, alg.encr_key_bits, alg.integ).value();
  crypto::sk_keys out{k.sk_ei, k.sk_ai};
  auto plain = wire::open_message(auth.data, *cipher, out);
  ASSERT_TRUE(plain.ok());
  auto frags = wire::seal_fragments(plain->header, plain->payloads, 120, *cipher, out);
  ASSERT_TRUE(frags.ok()) << frags.err().message;
  ASSERT_GE(frags->size(), 3u);
  // Delivered out of order, one of them twice.
  std::vector<bytes> order(frags->rbegin(), frags->rend());
  order.push_back(frags->front());
  for (const auto& f : order) h.deliver_to_b({auth.local, auth.remote, f});
  EXPECT_EQ(h.responder->state(), ike_state::established);
  h.run();
  EXPECT_EQ(h.initiator->state(), ike_state::established);
  expect_matching_children(h);
}

// Connections sharing an address: the one whose proposals answered IKE_SA_INIT may not be the
// one the peer's identity selects in IKE_AUTH. A connection whose own proposals refuse the
// negotiated algorithms must not be used (else its proposals could be bypassed).
TEST(SaHandshake, IdentityCannotPickAConnectionThatRefusesTheAlgorithms) {
  auto [ca, strong] = psk_pair("aes128-sha256-modp2048");
  strong->name = "strong";
  strong->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha384-ecp384"});
  auto weak = std::make_shared<connection>(*strong);
  weak->name = "weak";
  weak->remote.id = id("somebody.else");
  weak->ike_proposals = *proposal::parse_ike_proposals({"aes128-sha256-modp2048"});
  harness h(ca, weak);
  h.more_responder_connections = {strong};
  h.start();
  h.run();
  EXPECT_EQ(h.responder->state(), ike_state::closed);
  EXPECT_NE(h.closed_b.find("no connection matches"), std::string::npos) << h.closed_b;
  EXPECT_EQ(h.initiator->state(), ike_state::closed);
}

// ESP proposals that name a group (for PFS in later rekeys) still bring up the first CHILD_SA:
// IKE_AUTH carries no KE transforms, as strongSwan expects.
TEST(SaHandshake, EspProposalsWithGroupsWorkInIkeAuth) {
  auto [ca, cb] = psk_pair();
  ca->children[0].esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16-x25519"});
  cb->children[0].esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  harness h(ca, cb);
  h.start();
  expect_established(h);
  for (const auto& t : h.installed_a[0].proposal.transforms) EXPECT_NE(t.type, wire::transform_type::ke);
}
