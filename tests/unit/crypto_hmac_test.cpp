// HMAC contexts are cached per thread and digest (engine/crypto/hmac.cpp): these tests look for a
// stale key or digest left in a cached context. Every value is checked against a one-shot
// EVP_Q_mac on a fresh context, or against RFC 4231 / RFC 2202 vectors.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "engine/crypto/hmac.hpp"
#include "engine/crypto/prf.hpp"
#include "engine/wire/constants.hpp"

using namespace aike;
using aike::crypto::hmac;
using aike::crypto::hmac_session;
using aike::crypto::prf;

namespace {

struct digest_case {
  std::uint16_t prf_id;
  const char* name;
  std::size_t size;
};
const digest_case digests[] = {{wire::prf::hmac_sha1, "SHA1", 20},
                               {wire::prf::hmac_sha2_256, "SHA256", 32},
                               {wire::prf::hmac_sha2_384, "SHA384", 48},
                               {wire::prf::hmac_sha2_512, "SHA512", 64}};

// HMAC on a new OpenSSL context, nothing cached.
bytes one_shot(const char* digest, bytes_view key, bytes_view data) {
  static const unsigned char nothing = 0;
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  const unsigned char* k = key.empty() ? &nothing : key.data();
  const unsigned char* d = data.empty() ? &nothing : data.data();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, k, key.size(), d, data.size(), out, sizeof out, &len) ==
      nullptr)
    return {};
  return bytes(out, out + len);
}

// RFC 7296 §2.13 prf+ written out with one_shot.
bytes one_shot_plus(const char* digest, bytes_view key, bytes_view seed, std::size_t length) {
  bytes out, t;
  for (std::uint8_t n = 1; out.size() < length; ++n) {
    bytes in = t;
    append(in, seed);
    in.push_back(n);
    t = one_shot(digest, key, in);
    if (t.empty()) return {};
    append(out, t);
  }
  out.resize(length);
  return out;
}

prf make(std::uint16_t id) {
  auto p = prf::create(id);
  EXPECT_TRUE(p.ok());
  return std::move(p).value();
}

// Keys of every kind: empty, shorter than the output, longer than the SHA-1/256 block (64) and
// than the SHA-384/512 block (128), so some are hashed first.
std::vector<bytes> keys() {
  std::vector<bytes> out{bytes{}, to_bytes("Jefe"), bytes(20, 0x0b), bytes(32, 0x5a), bytes(80, 0xaa),
                         bytes(131, 0xaa)};
  bytes counting(200);
  for (std::size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<std::uint8_t>(i * 7 + 1);
  out.push_back(counting);
  return out;
}

const char* empty_key_sha256 = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";

}  // namespace

TEST(CryptoHmac, ReferenceIsSane) {
  // RFC 4231 §4.3 (test case 2) through the reference itself, so the comparisons below mean something.
  EXPECT_EQ(to_hex(one_shot("SHA256", to_bytes("Jefe"), to_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(one_shot("SHA256", {}, {})), empty_key_sha256);
}

TEST(CryptoHmac, PrfComputeAlternatingKeysAndDigests) {
  // Every (digest, key) pair in turn, so consecutive calls change key, digest or both.
  const auto ks = keys();
  const bytes data = to_bytes("Ni | Nr | SPIi | SPIr");
  for (int round = 0; round < 3; ++round) {
    for (std::size_t ki = 0; ki < ks.size(); ++ki) {
      for (const auto& d : digests) {
        const bytes& key = ks[(ki + round) % ks.size()];
        EXPECT_EQ(to_hex(make(d.prf_id).compute(key, data)), to_hex(one_shot(d.name, key, data)))
            << d.name << " key of " << key.size() << " octets, round " << round;
      }
    }
  }
}

TEST(CryptoHmac, PrfPlusAlternatingKeysAndDigests) {
  const auto ks = keys();
  const bytes seed = to_bytes("Ni | Nr | SPIi | SPIr");
  for (std::size_t ki = 0; ki < ks.size(); ++ki) {
    for (const auto& d : digests) {
      const prf p = make(d.prf_id);
      const bytes& key = ks[ki];
      const std::size_t length = 3 * d.size + 5;  // four blocks, the last one cut
      auto out = p.plus(key, seed, length);
      ASSERT_TRUE(out.ok()) << d.name;
      EXPECT_EQ(to_hex(*out), to_hex(one_shot_plus(d.name, key, seed, length)))
          << d.name << " key of " << key.size() << " octets";
      // A prf between two prf+ with another key must not disturb either.
      const bytes& other = ks[(ki + 1) % ks.size()];
      EXPECT_EQ(to_hex(p.compute(other, seed)), to_hex(one_shot(d.name, other, seed))) << d.name;
    }
  }
}

TEST(CryptoHmac, RfcVectorsInterleaved) {
  // RFC 4231 §4.2/§4.3 and RFC 2202 §3 test cases 1 and 2, alternating digests and keys.
  const prf s1 = make(wire::prf::hmac_sha1);
  const prf s256 = make(wire::prf::hmac_sha2_256);
  const prf s512 = make(wire::prf::hmac_sha2_512);
  const bytes k1(20, 0x0b), d1 = to_bytes("Hi There");
  const bytes k2 = to_bytes("Jefe"), d2 = to_bytes("what do ya want for nothing?");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(to_hex(s256.compute(k1, d1)), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(to_hex(s1.compute(k2, d2)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    EXPECT_EQ(to_hex(s256.compute(k2, d2)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(to_hex(s1.compute(k1, d1)), "b617318655057264e28bc0b6fb378c8ef146be00");
    EXPECT_EQ(to_hex(s512.compute(k2, d2)),
              "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a"
              "34d4a6b4b636e070a38bce737");
  }
}

TEST(CryptoHmac, EmptyKeyAfterNonEmptyKey) {
  // A null key pointer would make OpenSSL keep the previous key: the empty key must really be empty.
  const prf p = make(wire::prf::hmac_sha2_256);
  EXPECT_EQ(to_hex(p.compute(to_bytes("Jefe"), {})), to_hex(one_shot("SHA256", to_bytes("Jefe"), {})));
  EXPECT_EQ(to_hex(p.compute({}, {})), empty_key_sha256);

  ASSERT_TRUE(p.plus(bytes(131, 0xaa), to_bytes("s"), 100).ok());
  auto plus = p.plus({}, to_bytes("s"), 70);
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(to_hex(*plus), to_hex(one_shot_plus("SHA256", {}, to_bytes("s"), 70)));

  auto keyed = hmac::create("SHA256", to_bytes("Jefe"));
  ASSERT_TRUE(keyed.ok());
  auto empty = hmac::create("SHA256", {});
  ASSERT_TRUE(empty.ok());
  auto e = empty->compute({});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(to_hex(*e), empty_key_sha256);

  hmac_session s;
  ASSERT_TRUE(s.start("SHA256", {}).ok());
  bytes out(s.size());
  ASSERT_TRUE(s.compute({}, out.data()).ok());
  EXPECT_EQ(to_hex(out), empty_key_sha256);
}

TEST(CryptoHmac, EmptyKeyWhileTheCachedContextHoldsAKey) {
  // While a session holds the thread's SHA-256 context keyed with "Jefe", an empty-key hmac or
  // session starts from a copy of that context: the copy must lose "Jefe".
  hmac_session keyed;
  ASSERT_TRUE(keyed.start("SHA256", to_bytes("Jefe")).ok());
  auto h = hmac::create("SHA256", {});
  ASSERT_TRUE(h.ok());
  auto r = h->compute({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_hex(*r), empty_key_sha256);
  EXPECT_EQ(to_hex(make(wire::prf::hmac_sha2_256).compute({}, {})), empty_key_sha256);
  auto plus = make(wire::prf::hmac_sha2_256).plus({}, to_bytes("s"), 40);
  ASSERT_TRUE(plus.ok());
  EXPECT_EQ(to_hex(*plus), to_hex(one_shot_plus("SHA256", {}, to_bytes("s"), 40)));
  bytes out(keyed.size());
  ASSERT_TRUE(keyed.compute({}, out.data()).ok());
  EXPECT_EQ(to_hex(out), to_hex(one_shot("SHA256", to_bytes("Jefe"), {})));
}

TEST(CryptoHmac, KeyedObjectKeepsItsKeyWhileSessionsRun) {
  auto a = hmac::create("SHA384", to_bytes("key A"));
  ASSERT_TRUE(a.ok());
  const bytes msg = to_bytes("SK payload");
  const bytes want = one_shot("SHA384", to_bytes("key A"), msg);
  EXPECT_EQ(to_hex(make(wire::prf::hmac_sha2_384).compute(to_bytes("key B"), msg)),
            to_hex(one_shot("SHA384", to_bytes("key B"), msg)));
  auto r1 = a->compute({msg});
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(to_hex(*r1), to_hex(want));
  // Made while a session holds the thread's SHA-384 context keyed with another key.
  hmac_session open;
  ASSERT_TRUE(open.start("SHA384", to_bytes("key C")).ok());
  auto b = hmac::create("SHA384", to_bytes("key A"));
  ASSERT_TRUE(b.ok());
  auto r2 = b->compute({bytes_view(msg).first(3), bytes_view(msg).subspan(3)});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(to_hex(*r2), to_hex(want));
}

TEST(CryptoHmac, NestedSessionsOnOneThread) {
  // The second session for the same digest gets its own context; both keep their keys.
  hmac_session outer, inner;
  ASSERT_TRUE(outer.start("SHA512", to_bytes("outer")).ok());
  ASSERT_TRUE(inner.start("SHA512", to_bytes("inner")).ok());
  // And prf, which needs a third, while both are open.
  const prf p = make(wire::prf::hmac_sha2_512);
  for (int i = 0; i < 3; ++i) {
    const bytes msg = to_bytes("message " + std::to_string(i));
    bytes o(outer.size()), n(inner.size());
    ASSERT_TRUE(outer.compute({msg}, o.data()).ok());
    ASSERT_TRUE(inner.compute({msg}, n.data()).ok());
    EXPECT_EQ(to_hex(o), to_hex(one_shot("SHA512", to_bytes("outer"), msg)));
    EXPECT_EQ(to_hex(n), to_hex(one_shot("SHA512", to_bytes("inner"), msg)));
    EXPECT_EQ(to_hex(p.compute(to_bytes("third"), msg)), to_hex(one_shot("SHA512", to_bytes("third"), msg)));
  }
}

TEST(CryptoHmac, SessionMisuseIsAnError) {
  hmac_session s;
  std::uint8_t out[64];
  auto c = s.compute({}, out);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.err().code, errc::invalid_argument);
  ASSERT_TRUE(s.start("SHA1", to_bytes("k")).ok());
  auto again = s.start("SHA1", to_bytes("k"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().code, errc::invalid_argument);
  auto bad = hmac_session().start("NO-SUCH-DIGEST", to_bytes("k"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().code, errc::crypto_failure);
  EXPECT_FALSE(hmac::create("NO-SUCH-DIGEST", to_bytes("k")).ok());
}

TEST(CryptoHmac, ThreadsWithDifferentKeys) {
  // Each thread has its own key per digest and alternates prf, prf+ and hmac; all results are
  // compared with one-shot values computed beforehand.
  constexpr int threads = 4;
  constexpr int iterations = 300;
  const bytes seed = to_bytes("seed");
  struct expected {
    bytes key, mac, plus;
  };
  std::vector<std::vector<expected>> want(threads);
  for (int t = 0; t < threads; ++t) {
    for (const auto& d : digests) {
      bytes key(static_cast<std::size_t>(17 + 40 * t), static_cast<std::uint8_t>(0x31 + t));
      want[t].push_back({key, one_shot(d.name, key, seed), one_shot_plus(d.name, key, seed, 2 * d.size + 1)});
    }
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < iterations; ++i) {
        for (std::size_t di = 0; di < std::size(digests); ++di) {
          const auto& d = digests[(di + static_cast<std::size_t>(i)) % std::size(digests)];
          const expected& w = want[t][(di + static_cast<std::size_t>(i)) % std::size(digests)];
          const prf p = prf::create(d.prf_id).value();
          if (p.compute(w.key, seed) != w.mac) ++mismatches;
          auto plus = p.plus(w.key, seed, 2 * d.size + 1);
          if (!plus.ok() || *plus != w.plus) ++mismatches;
          auto h = hmac::create(d.name, w.key);
          auto r = h.ok() ? h->compute({seed}) : result<bytes>(h.err());
          if (!r.ok() || *r != w.mac) ++mismatches;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}
