// Engine benchmarks: the crypto steps of one IKEv2 handshake, each alone, and whole handshakes
// between two engines in memory. Figures and how they add up: docs/benchmarks.md.
//   build-release/bench/engine_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "engine/auth/psk.hpp"
#include "engine/auth/signature_auth.hpp"
#include "engine/auth/signed_octets.hpp"
#include "engine/crypto/key_exchange.hpp"
#include "engine/crypto/keymat.hpp"
#include "engine/crypto/random.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

using namespace aike;

namespace {

const char* group_name(std::int64_t g) {
  switch (g) {
    case 14: return "MODP-2048";
    case 15: return "MODP-3072";
    case 16: return "MODP-4096";
    case 18: return "MODP-8192";
    case 19: return "ECP-256";
    case 20: return "ECP-384";
    case 21: return "ECP-521";
    case 31: return "X25519";
    case 32: return "X448";
  }
  return "?";
}

// One side's key exchange work: a fresh key pair (our KE payload) plus the shared secret with the
// peer's public value (g^ir), validation of the peer value included.
void BM_KeyExchange(benchmark::State& st) {
  const auto group = static_cast<std::uint16_t>(st.range(0));
  auto peer = crypto::key_exchange::create(group);
  if (!peer) return st.SkipWithError(peer.err().message.c_str());
  for (auto _ : st) {
    auto ke = crypto::key_exchange::create(group);
    auto secret = (*ke)->shared_secret((*peer)->public_value());
    if (!secret) return st.SkipWithError(secret.err().message.c_str());
    benchmark::DoNotOptimize(secret);
  }
  st.SetLabel(group_name(st.range(0)));
}
BENCHMARK(BM_KeyExchange)
    ->ArgName("group")
    ->Arg(31)->Arg(32)->Arg(19)->Arg(20)->Arg(21)->Arg(14)->Arg(15)->Arg(16)->Arg(18)
    ->Unit(benchmark::kMicrosecond);

// §2.14: SKEYSEED and SK_d..SK_pr from a 32-octet (X25519) secret and two 32-octet nonces, sized
// for the PRF's suite: AES-256-GCM (36-octet SK_e, no SK_a) with SHA-256, AES-256-CBC with
// HMAC-SHA2-384 / -512 keys for the others.
void BM_Skeyseed(benchmark::State& st) {
  const auto id = static_cast<std::uint16_t>(st.range(0));
  auto prf = *crypto::prf::create(id);
  const std::size_t encr = id == wire::prf::hmac_sha2_256 ? 36 : 32;
  const std::size_t integ = id == wire::prf::hmac_sha2_256 ? 0 : prf.output_size();
  const bytes ni = crypto::random_bytes(32), nr = crypto::random_bytes(32), dh = crypto::random_bytes(32);
  for (auto _ : st) {
    auto k = crypto::derive_ike_keys(prf, ni, nr, dh, 0x0102030405060708ULL, 0x1112131415161718ULL, encr, integ);
    benchmark::DoNotOptimize(k);
  }
  st.SetLabel(id == 5 ? "PRF-HMAC-SHA2-256" : id == 6 ? "PRF-HMAC-SHA2-384" : "PRF-HMAC-SHA2-512");
}
BENCHMARK(BM_Skeyseed)->ArgName("prf")->Arg(5)->Arg(6)->Arg(7)->Unit(benchmark::kMicrosecond);

// The §2.15 signed octets (an IKE_SA_INIT of ~300 octets, the peer nonce, prf(SK_p, IDx')):
// every AUTH, PSK or signature, is computed over these.
bytes typical_signed_octets() {
  auto prf = *crypto::prf::create(wire::prf::hmac_sha2_256);
  return auth::signed_octets(crypto::random_bytes(300), crypto::random_bytes(32), prf, crypto::random_bytes(32),
                             *auth::identity::parse("moon.example"));
}

void BM_SignedOctets(benchmark::State& st) {
  auto prf = *crypto::prf::create(wire::prf::hmac_sha2_256);
  const bytes init = crypto::random_bytes(300), nonce = crypto::random_bytes(32), sk_p = crypto::random_bytes(32);
  const auto id = *auth::identity::parse("moon.example");
  for (auto _ : st) benchmark::DoNotOptimize(auth::signed_octets(init, nonce, prf, sk_p, id));
}
BENCHMARK(BM_SignedOctets)->Unit(benchmark::kMicrosecond);

// PSK AUTH (method 2): prf(prf(secret, "Key Pad for IKEv2"), octets), computing ours and checking
// the peer's.
void BM_PskAuthCompute(benchmark::State& st) {
  auto prf = *crypto::prf::create(wire::prf::hmac_sha2_256);
  const bytes octets = typical_signed_octets();
  const bytes secret = to_bytes("a shared secret of ordinary length");
  for (auto _ : st) benchmark::DoNotOptimize(auth::psk_auth(prf, secret, octets));
}
BENCHMARK(BM_PskAuthCompute)->Unit(benchmark::kMicrosecond);

void BM_PskAuthVerify(benchmark::State& st) {
  auto prf = *crypto::prf::create(wire::prf::hmac_sha2_256);
  const bytes octets = typical_signed_octets();
  const bytes secret = to_bytes("a shared secret of ordinary length");
  const bytes mic = auth::psk_auth(prf, secret, octets);
  for (auto _ : st) {
    if (!auth::psk_verify(prf, secret, octets, mic)) return st.SkipWithError("PSK MIC did not verify");
  }
}
BENCHMARK(BM_PskAuthVerify)->Unit(benchmark::kMicrosecond);

enum key_kind { ecdsa_p256 = 0, ed25519 = 1, rsa_2048 = 2 };
const char* key_names[] = {"ECDSA-P256", "Ed25519", "RSA-2048"};

EVP_PKEY* keygen(std::int64_t kind) {
  switch (kind) {
    case ecdsa_p256: return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    case ed25519: return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    default: return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  }
}

auth::private_key make_key(std::int64_t kind) {
  EVP_PKEY* k = keygen(kind);
  auto key = *auth::private_key::from_evp(k);
  EVP_PKEY_free(k);
  return key;
}

// As in a handshake between two aike peers: RFC 7427 (method 14) with the strongest hash both
// support (SHA2-512; Identity for Ed25519), RSASSA-PSS for RSA.
const auth::sign_options sign_opts{true, auth::supported_hash_algorithms(), true};

void BM_AuthSign(benchmark::State& st) {
  const auto key = make_key(st.range(0));
  const bytes octets = typical_signed_octets();
  for (auto _ : st) {
    auto sig = auth::sign(key, octets, sign_opts);
    if (!sig) return st.SkipWithError(sig.err().message.c_str());
    benchmark::DoNotOptimize(sig);
  }
  st.SetLabel(key_names[st.range(0)]);
}
BENCHMARK(BM_AuthSign)->ArgName("key")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

void BM_AuthVerify(benchmark::State& st) {
  const auto key = make_key(st.range(0));
  const bytes octets = typical_signed_octets();
  const auto sig = *auth::sign(key, octets, sign_opts);
  const auto pub = key.public_part();
  for (auto _ : st) {
    if (!auth::verify(pub, sig, octets)) return st.SkipWithError("signature did not verify");
  }
  st.SetLabel(key_names[st.range(0)]);
}
BENCHMARK(BM_AuthVerify)->ArgName("key")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

// A typical PSK IKE_AUTH request (IDi, IDr, AUTH, SA with two ESP proposals, TSi, TSr) sealed
// under `suite` (0: AES-256-GCM-16, 1: AES-256-CBC + HMAC-SHA2-256-128).
struct sealed_auth {
  std::unique_ptr<crypto::sk_cipher> cipher;
  crypto::sk_keys keys;
  std::vector<wire::payload> inner;
  wire::ike_header header;
};

sealed_auth typical_ike_auth(std::int64_t suite) {
  sealed_auth s;
  s.cipher = suite == 0 ? crypto::sk_cipher::create(wire::encr::aes_gcm_16, 256, wire::integ::none).value()
                        : crypto::sk_cipher::create(wire::encr::aes_cbc, 256, wire::integ::hmac_sha2_256_128).value();
  s.keys = {crypto::random_bytes(s.cipher->encr_key_size()), crypto::random_bytes(s.cipher->integ_key_size())};
  using namespace wire;
  s.inner.push_back(make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("moon.example")}));
  s.inner.push_back(make_payload(payload_type::idr, id_payload{id_type::fqdn, to_bytes("sun.example")}));
  s.inner.push_back(make_payload(payload_type::auth, auth_payload{auth_method::psk, crypto::random_bytes(32)}));
  sa_payload sa{*proposal::parse_esp_proposals({"aes256gcm16", "aes128-sha256"})};
  for (auto& p : sa.proposals) p.spi = {0xc0, 0, 0, 1};
  s.inner.push_back(make_payload(payload_type::sa, sa));
  ts_payload tsi{{ts::selector::parse("10.1.0.0/24")->to_wire()}};
  ts_payload tsr{{ts::selector::parse("10.2.0.0/24")->to_wire()}};
  s.inner.push_back(make_payload(payload_type::tsi, tsi));
  s.inner.push_back(make_payload(payload_type::tsr, tsr));
  s.header.spi_i = 0x0102030405060708ULL;
  s.header.spi_r = 0x1112131415161718ULL;
  s.header.exchange_type = exchange::ike_auth;
  s.header.flags = flag::initiator;
  s.header.message_id = 1;
  return s;
}

void BM_SealIkeAuth(benchmark::State& st) {
  auto s = typical_ike_auth(st.range(0));
  std::size_t size = 0;
  for (auto _ : st) {
    auto d = wire::seal_message(s.header, s.inner, *s.cipher, s.keys);
    if (!d) return st.SkipWithError(d.err().message.c_str());
    size = d->size();
    benchmark::DoNotOptimize(d);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * size));
  st.SetLabel(std::string(st.range(0) == 0 ? "AES-256-GCM-16" : "AES-256-CBC+HMAC-SHA2-256") + ", " +
              std::to_string(size) + " octets");
}
BENCHMARK(BM_SealIkeAuth)->ArgName("suite")->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);

// Parse the outer message, verify the ICV, decrypt, parse the inner chain.
void BM_OpenIkeAuth(benchmark::State& st) {
  auto s = typical_ike_auth(st.range(0));
  const bytes datagram = *wire::seal_message(s.header, s.inner, *s.cipher, s.keys);
  for (auto _ : st) {
    auto m = wire::open_message(datagram, *s.cipher, s.keys);
    if (!m) return st.SkipWithError(m.err().message.c_str());
    benchmark::DoNotOptimize(m);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * datagram.size()));
  st.SetLabel(std::string(st.range(0) == 0 ? "AES-256-GCM-16" : "AES-256-CBC+HMAC-SHA2-256") + ", " +
              std::to_string(datagram.size()) + " octets");
}
BENCHMARK(BM_OpenIkeAuth)->ArgName("suite")->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);

// A complete IKE_SA_INIT + IKE_AUTH with one CHILD_SA between two engines
// (aes256gcm16-prfsha256-x25519): both sides' work, so one iteration is one handshake on one
// core. Authentication: 0 PSK, 1 ECDSA P-256 raw keys, 2 Ed25519 raw keys, 3 RSA-2048 raw keys.
void BM_FullHandshake(benchmark::State& st) {
  auto make = [](const char* me, const char* peer, const char* local_ts, const char* remote_ts) {
    auto c = std::make_shared<sa::connection>();
    c->name = "bench";
    c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
    c->local.id = *auth::identity::parse(me);
    c->remote.id = *auth::identity::parse(peer);
    c->secrets.push_back({{}, to_bytes("benchmark secret")});
    sa::child_config ch;
    ch.name = "net";
    ch.local_ts = {*ts::selector::parse(local_ts)};
    ch.remote_ts = {*ts::selector::parse(remote_ts)};
    ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
    c->children.push_back(ch);
    return c;
  };
  auto a = make("moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24");
  auto b = make("sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24");
  const std::int64_t kind = st.range(0);
  if (kind > 0) {
    const auto ka = make_key(kind - 1), kb = make_key(kind - 1);
    a->local.kind = b->local.kind = a->remote.kind = b->remote.kind = sa::auth_kind::pubkey;
    a->local.key = ka;
    b->local.key = kb;
    a->remote.pubkeys = {kb.public_part()};
    b->remote.pubkeys = {ka.public_part()};
  }
  for (auto _ : st) {
    sa::in_memory_pair pair(a, b);
    pair.start();
    pair.run();
    if (pair.installed_a.size() != 1 || pair.installed_b.size() != 1)
      return st.SkipWithError(("handshake failed: " + pair.closed_a + " / " + pair.closed_b).c_str());
  }
  st.counters["handshakes/s"] = benchmark::Counter(static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.SetLabel(kind == 0 ? "X25519+PSK" : std::string("X25519+") + key_names[kind - 1]);
}
BENCHMARK(BM_FullHandshake)->ArgName("auth")->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
