// RFC 7383 IKE fragmentation between two engine IKE SAs: IKE_AUTH with a three-certificate
// chain on both sides goes out as SKF fragments that fit a small fragment_size, survives loss
// (retransmission resends every fragment, the cached response too) and reordering, and an
// incomplete message is dropped after fragment_timeout.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

// One link of a test PKI: its key, its certificate and the PEM text of both.
struct pki_node {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~pki_node() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  std::string key_pem() const {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    return drain(b);
  }
  auth::certificate certificate() const {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert);
    return *auth::certificate::from_pem(drain(b));
  }
  static std::string drain(BIO* b) {
    char* p = nullptr;
    const long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
  }
};

// Issues `node` a certificate from `issuer` (itself when null). `dns` empty: a CA.
void issue(pki_node& node, const pki_node* issuer, const std::string& cn, const std::string& dns, long serial) {
  node.key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  node.cert = X509_new();
  X509* x = node.cert;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, node.key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  const pki_node& signer = issuer ? *issuer : node;
  X509_set_issuer_name(x, X509_get_subject_name(signer.cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer.cert, x, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> ext;
  if (dns.empty())
    ext = {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign,cRLSign"}};
  else
    ext = {{NID_key_usage, "critical,digitalSignature"}, {NID_subject_alt_name, "DNS:" + dns}};
  for (const auto& [nid, value] : ext) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(x, signer.key, EVP_sha256());
}

// root -> intermediate -> moon / sun; both ends send end entity and intermediate, trust the root.
struct chain_fixture {
  pki_node root, inter, moon, sun;
  std::shared_ptr<connection> a, b;

  explicit chain_fixture(std::size_t fragment_size) {
    issue(root, nullptr, "aike test root", "", 1);
    issue(inter, &root, "aike test intermediate", "", 2);
    issue(moon, &inter, "moon", "moon.example", 3);
    issue(sun, &inter, "sun", "sun.example", 4);
    auto store = std::make_shared<auth::trust_store>();
    EXPECT_TRUE(store->add_ca(root.certificate()).ok());
    a = side(moon, "moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24", store, fragment_size);
    b = side(sun, "sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24", store, fragment_size);
  }

  std::shared_ptr<connection> side(const pki_node& me, const char* my_id, const char* peer_id, const char* lts,
                                   const char* rts, std::shared_ptr<auth::trust_store> store, std::size_t fsize) {
    auto c = std::make_shared<connection>();
    c->name = "chain";
    c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
    c->local.kind = c->remote.kind = auth_kind::pubkey;
    c->local.id = *auth::identity::parse(my_id);
    c->remote.id = *auth::identity::parse(peer_id);
    c->local.key = *auth::private_key::from_pem(me.key_pem());
    c->local.certs = {me.certificate(), inter.certificate()};
    c->remote.cas = std::move(store);
    c->fragment_size = fsize;
    child_config ch;
    ch.name = "net";
    ch.local_ts = {*ts::selector::parse(lts)};
    ch.remote_ts = {*ts::selector::parse(rts)};
    ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
    c->children.push_back(ch);
    return c;
  }
};

bool is_fragment(const bytes& d) {
  auto h = wire::parse_header(d);
  return h && h->next_payload == wire::payload_type::skf;
}

// Fragment Number and Total Fragments of an SKF datagram.
std::pair<int, int> fragment_numbers(const bytes& d) {
  auto m = wire::parse_message(d);
  auto* f = m ? wire::find_first<wire::skf_payload>(m->payloads, wire::payload_type::skf) : nullptr;
  return f ? std::pair<int, int>{f->fragment_number, f->total_fragments} : std::pair<int, int>{0, 0};
}

// IKE_SA_INIT both ways; leaves A's IKE_AUTH request (fragments) in to_b.
void through_init(in_memory_pair& h) {
  h.start();
  h.deliver_to_b(h.to_b.front());
  h.to_b.pop_front();
  h.deliver_to_a(h.to_a.front());
  h.to_a.pop_front();
}

std::vector<send_datagram> take(std::deque<send_datagram>& q) {
  std::vector<send_datagram> v(q.begin(), q.end());
  q.clear();
  return v;
}

void expect_up(const in_memory_pair& h) {
  EXPECT_EQ(h.initiator->state(), ike_state::established) << h.closed_a;
  EXPECT_EQ(h.responder->state(), ike_state::established) << h.closed_b;
  ASSERT_EQ(h.installed_a.size(), 1u);
  ASSERT_EQ(h.installed_b.size(), 1u);
  EXPECT_EQ(h.installed_a[0].spi_in, h.installed_b[0].spi_out);
  EXPECT_EQ(h.installed_a[0].spi_out, h.installed_b[0].spi_in);
  EXPECT_EQ(h.established_a, 1);
  EXPECT_EQ(h.established_b, 1);
}

}  // namespace

// Both IKE_AUTH messages carry two certificates and are far larger than fragment_size: each
// goes out as SKF fragments whose IP datagrams (20 IPv4 + 8 UDP octets added) fit it.
TEST(SaFragmentation, CertificateChainFragmentedBothWays) {
  chain_fixture f(400);
  in_memory_pair h(f.a, f.b);
  std::vector<std::size_t> from_a, from_b;  // sizes of the SKF datagrams
  std::size_t whole_a = 0, whole_b = 0;     // protected datagrams that are not fragments
  h.on_wire = [&](const send_datagram& d, bool is_a) {
    auto hd = wire::parse_header(d.data);
    if (!hd || hd->exchange_type == wire::exchange::ike_sa_init) return;
    if (is_fragment(d.data))
      (is_a ? from_a : from_b).push_back(d.data.size());
    else
      ++(is_a ? whole_a : whole_b);
  };
  h.start();
  h.run();
  expect_up(h);
  EXPECT_GE(from_a.size(), 3u);
  EXPECT_GE(from_b.size(), 3u);
  EXPECT_EQ(whole_a, 0u);
  EXPECT_EQ(whole_b, 0u);
  for (auto n : from_a) EXPECT_LE(n + 28, 400u);
  for (auto n : from_b) EXPECT_LE(n + 28, 400u);
  // Fragments are filled up to the limit (within one cipher block), so the limit is used exactly.
  EXPECT_GT(*std::max_element(from_a.begin(), from_a.end()) + 28, 400u - 16);
  bool logged = false;
  for (const auto& l : h.logs) logged |= l.find("IKE_AUTH request of") != std::string::npos;
  EXPECT_TRUE(logged);

  // After IKE_AUTH, small messages (a DELETE) still go out whole.
  from_a.clear();
  h.initiator->request_delete();
  h.collect_a();
  h.run();
  EXPECT_TRUE(from_a.empty());
  EXPECT_EQ(whole_a, 1u);
  EXPECT_EQ(h.responder->state(), ike_state::closed);
}

// Without the peer's IKEV2_FRAGMENTATION_SUPPORTED nothing is fragmented.
TEST(SaFragmentation, NotFragmentedWhenThePeerDidNotAnnounceIt) {
  chain_fixture f(400);
  f.b->fragmentation = false;
  in_memory_pair h(f.a, f.b);
  int fragments = 0;
  h.on_wire = [&](const send_datagram& d, bool) { fragments += is_fragment(d.data); };
  h.start();
  h.run();
  expect_up(h);
  EXPECT_EQ(fragments, 0);
}

// On the NAT-T port the socket puts the 4-octet non-ESP marker before the IKE message: it
// counts against fragment_size too.
TEST(SaFragmentation, NonEspMarkerCountsOnTheNattPort) {
  chain_fixture f(400);
  f.a->force_encap = true;
  in_memory_pair h(f.a, f.b);
  std::vector<std::size_t> sizes;
  h.on_wire = [&](const send_datagram& d, bool) {
    if (!is_fragment(d.data)) return;
    EXPECT_EQ(d.local.port, 4500);
    sizes.push_back(d.data.size());
  };
  h.start();
  h.run();
  expect_up(h);
  ASSERT_FALSE(sizes.empty());
  for (auto n : sizes) EXPECT_LE(n + 20 + 8 + 4, 400u);
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()) + 32, 400u - 16);
}

// Fragments of the request and of the response arrive in reverse order.
TEST(SaFragmentation, FragmentsOutOfOrder) {
  chain_fixture f(400);
  in_memory_pair h(f.a, f.b);
  through_init(h);
  auto request = take(h.to_b);
  ASSERT_GE(request.size(), 3u);
  std::reverse(request.begin(), request.end());
  for (const auto& d : request) h.deliver_to_b(d);
  EXPECT_EQ(h.responder->state(), ike_state::established);
  auto response = take(h.to_a);
  ASSERT_GE(response.size(), 3u);
  std::swap(response.front(), response.back());
  std::swap(response[1], response[response.size() / 2 + 1]);
  for (const auto& d : response) h.deliver_to_a(d);
  expect_up(h);
}

// A lost fragment of the request: the responder waits; A's retransmission sends every
// fragment again (identical bytes) and completes it.
TEST(SaFragmentation, LostRequestFragmentIsRecoveredByRetransmission) {
  chain_fixture f(400);
  in_memory_pair h(f.a, f.b);
  through_init(h);
  auto first = take(h.to_b);
  ASSERT_GE(first.size(), 3u);
  for (std::size_t i = 0; i < first.size(); ++i)
    if (i != 1) h.deliver_to_b(first[i]);
  EXPECT_EQ(h.responder->state(), ike_state::init_done);
  EXPECT_TRUE(h.to_a.empty());
  h.fire_a(timer_kind::retransmit);
  auto again = take(h.to_b);
  ASSERT_EQ(again.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(again[i].data, first[i].data);
  for (const auto& d : again) h.deliver_to_b(d);
  EXPECT_EQ(h.responder->state(), ike_state::established);
  h.run();
  expect_up(h);
}

// A lost fragment of the response: A retransmits its request, B answers from its cache with
// all fragments of the response (once, for the request's fragment 1) and sets nothing up twice.
TEST(SaFragmentation, LostResponseFragmentIsRecoveredFromTheCache) {
  chain_fixture f(400);
  in_memory_pair h(f.a, f.b);
  through_init(h);
  for (const auto& d : take(h.to_b)) h.deliver_to_b(d);
  auto response = take(h.to_a);
  ASSERT_GE(response.size(), 3u);
  for (std::size_t i = 0; i + 1 < response.size(); ++i) h.deliver_to_a(response[i]);  // the last is lost
  EXPECT_EQ(h.initiator->state(), ike_state::auth_sent);
  h.fire_a(timer_kind::retransmit);
  for (const auto& d : take(h.to_b)) h.deliver_to_b(d);
  auto cached = take(h.to_a);
  ASSERT_EQ(cached.size(), response.size());
  for (std::size_t i = 0; i < cached.size(); ++i) EXPECT_EQ(cached[i].data, response[i].data);
  for (const auto& d : cached) h.deliver_to_a(d);
  expect_up(h);
}

// An incomplete message is dropped when fragment_timeout fires: the fragments that were still
// missing do not complete it any more, the retransmission does.
TEST(SaFragmentation, IncompleteMessageIsDroppedAfterTheTimeout) {
  chain_fixture f(400);
  f.b->fragment_timeout = std::chrono::milliseconds(5000);
  in_memory_pair h(f.a, f.b);
  through_init(h);
  auto frags = take(h.to_b);
  ASSERT_GE(frags.size(), 3u);
  h.deliver_to_b(frags[0]);
  h.deliver_to_b(frags[1]);
  ASSERT_TRUE(h.timers_b.contains(timer_kind::reassembly));
  const int drops = h.drops;
  h.responder->on_timer(timer_kind::reassembly, h.timers_b[timer_kind::reassembly]);
  h.collect_b();
  EXPECT_EQ(h.drops, drops + 1);
  for (std::size_t i = 2; i < frags.size(); ++i) h.deliver_to_b(frags[i]);
  EXPECT_EQ(h.responder->state(), ike_state::init_done);  // fragments 1 and 2 were forgotten
  // A stale timer token does nothing; the retransmission completes the message.
  h.fire_a(timer_kind::retransmit);
  h.run();
  expect_up(h);
}

// The reassembly limits come from the connection: a responder that accepts fewer fragments
// than the request needs drops them (counted), and the SA never comes up.
TEST(SaFragmentation, TooManyFragmentsAreRefused) {
  chain_fixture f(400);
  f.b->reassembly.max_fragments = 2;
  in_memory_pair h(f.a, f.b);
  through_init(h);
  auto frags = take(h.to_b);
  ASSERT_GT(frags.size(), 2u);
  EXPECT_EQ(fragment_numbers(frags[0].data).second, static_cast<int>(frags.size()));
  const int drops = h.drops;
  for (const auto& d : frags) h.deliver_to_b(d);
  EXPECT_EQ(h.drops, drops + static_cast<int>(frags.size()));
  EXPECT_EQ(h.responder->state(), ike_state::init_done);
  EXPECT_TRUE(h.to_a.empty());
}
