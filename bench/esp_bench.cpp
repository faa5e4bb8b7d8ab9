// Throughput of the userspace ESP transform (kernel/esp): seal and open per packet, one core.
//
//   esp_bench [--benchmark_filter=...] [--benchmark_min_time=0.5]
//
// BM_SealOpen: one outbound SA seals an inner packet of the given size, the matching inbound SA
// (replay window 64) opens it: the whole per-packet crypto of one direction end to end.
// BM_Seal / BM_Open: each half alone (Open with the window off, so one packet can be opened over
// and over). Reported: packets/s ("pkt/s") and inner-packet Gbit/s ("Gbit/s"), both per second of
// CPU time, i.e. per core.
// BM_Hmac*: the two ways to reuse a keyed HMAC context per packet (EVP_MAC_init without a key on
// one context, or EVP_MAC_CTX_dup of a keyed template); kernel/esp uses the re-init.
// BM_RandomIv: random octets from OpenSSL's DRBG, 16 (one AES-CBC IV) or 1024 (kernel/esp's IV pool).
//
// Before the benchmarks it prints the heap allocations per sealed+opened packet, counted by a
// replaced global operator new (C++) and by CRYPTO_set_mem_functions (inside OpenSSL).
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "engine/wire/constants.hpp"
#include "kernel/esp/esp_sa.hpp"

// --- allocation counters -------------------------------------------------------------------------

namespace {
std::atomic<std::uint64_t> cxx_allocs{0}, ossl_allocs{0};
void* ossl_malloc(std::size_t n, const char*, int) {
  ossl_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* ossl_realloc(void* p, std::size_t n, const char*, int) {
  ossl_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void ossl_free(void* p, const char*, int) { std::free(p); }
}  // namespace

// The replaced operator new takes its memory from malloc, so free() is the matching release; GCC
// cannot see that pairing once it inlines these into callers.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  cxx_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace aike;
using namespace aike::kernel::esp;

enum suite_id { gcm256 = 0, cbc128_sha256 = 1 };

sa_params params(int suite) {
  sa_params p;
  p.spi = 0xc0010203;
  wire::transform e;
  e.type = wire::transform_type::encr;
  if (suite == gcm256) {
    e.id = wire::encr::aes_gcm_16;
    e.attributes.push_back({wire::attr_key_length, true, 256, {}});
    p.encr_key = bytes(36, 0x5a);
  } else {
    e.id = wire::encr::aes_cbc;
    e.attributes.push_back({wire::attr_key_length, true, 128, {}});
    p.encr_key = bytes(16, 0x5a);
    p.integ_key = bytes(32, 0xa5);
  }
  p.proposal.protocol = wire::protocol_id::esp;
  p.proposal.transforms.push_back(e);
  if (suite == cbc128_sha256)
    p.proposal.transforms.push_back({wire::transform_type::integ, wire::integ::hmac_sha2_256_128, {}});
  p.proposal.transforms.push_back({wire::transform_type::esn, wire::esn::no, {}});
  return p;
}

template <class T>
T must(result<T> r) {
  if (!r) {
    std::fprintf(stderr, "esp_bench: %s\n", r.err().message.c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void rates(benchmark::State& st, std::size_t size) {
  const double n = static_cast<double>(st.iterations());
  st.counters["pkt/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  st.counters["Gbit/s"] = benchmark::Counter(n * static_cast<double>(size) * 8 / 1e9, benchmark::Counter::kIsRate);
}

bytes inner_of(std::size_t size) {
  bytes b(size, 0x42);
  b[0] = 0x45;
  return b;
}

void BM_SealOpen(benchmark::State& st) {
  const auto p = params(static_cast<int>(st.range(0)));
  const auto size = static_cast<std::size_t>(st.range(1));
  auto out = must(outbound_sa::create(p));
  auto in = must(inbound_sa::create(p, 64));
  const bytes inner = inner_of(size);
  bytes pkt, back;
  pkt.reserve(2048);
  back.reserve(2048);
  for (auto _ : st) {
    if (out->seal(inner, 4, pkt) != drop::none || in->open(pkt, back).reason != drop::none) {
      st.SkipWithError("packet dropped");
      break;
    }
    benchmark::DoNotOptimize(back.data());
  }
  rates(st, size);
}

// The loop of BM_Seal / BM_Open: `step` handles one packet, false if it was dropped.
template <class Step>
void packet_loop(benchmark::State& st, std::size_t size, Step step) {
  for (auto _ : st) {
    if (!step()) {
      st.SkipWithError("packet dropped");
      break;
    }
  }
  rates(st, size);
}

void BM_Seal(benchmark::State& st) {
  const auto p = params(static_cast<int>(st.range(0)));
  const auto size = static_cast<std::size_t>(st.range(1));
  auto out = must(outbound_sa::create(p));
  const bytes inner = inner_of(size);
  bytes pkt;
  pkt.reserve(2048);
  packet_loop(st, size, [&] {
    benchmark::DoNotOptimize(pkt.data());
    return out->seal(inner, 4, pkt) == drop::none;
  });
}

void BM_Open(benchmark::State& st) {
  const auto p = params(static_cast<int>(st.range(0)));
  const auto size = static_cast<std::size_t>(st.range(1));
  auto out = must(outbound_sa::create(p));
  auto in = must(inbound_sa::create(p, 0));
  bytes pkt, back;
  back.reserve(2048);
  if (out->seal(inner_of(size), 4, pkt) != drop::none) st.SkipWithError("seal failed");
  packet_loop(st, size, [&] {
    benchmark::DoNotOptimize(back.data());
    return in->open(pkt, back).reason == drop::none;
  });
}

void suites_and_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"suite", "size"});
  for (int s : {gcm256, cbc128_sha256})
    for (int n : {64, 512, 1400}) b->Args({s, n});
}

BENCHMARK(BM_SealOpen)->Apply(suites_and_sizes);
BENCHMARK(BM_Seal)->Apply(suites_and_sizes);
BENCHMARK(BM_Open)->Apply(suites_and_sizes);

// --- how to reuse a keyed HMAC per packet -----------------------------------------------------

EVP_MAC_CTX* keyed_hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  OSSL_PARAM prm[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA2-256"), 0),
                      OSSL_PARAM_construct_end()};
  const bytes key(32, 0xa5);
  if (!ctx || EVP_MAC_init(ctx, key.data(), key.size(), prm) != 1) std::abort();
  return ctx;
}

// One HMAC-SHA2-256 per iteration over range(0) octets; `mac_once` computes it into `md`.
template <class MacOnce>
void hmac_loop(benchmark::State& st, MacOnce mac_once) {
  const bytes data(static_cast<std::size_t>(st.range(0)), 1);
  unsigned char md[64];
  for (auto _ : st) {
    mac_once(data, md);
    benchmark::DoNotOptimize(md);
  }
  rates(st, data.size());
}

void BM_HmacReinit(benchmark::State& st) {
  EVP_MAC_CTX* ctx = keyed_hmac();
  hmac_loop(st, [ctx](const bytes& data, unsigned char* md) {
    std::size_t len = 0;
    EVP_MAC_init(ctx, nullptr, 0, nullptr);
    EVP_MAC_update(ctx, data.data(), data.size());
    EVP_MAC_final(ctx, md, &len, 64);
  });
  EVP_MAC_CTX_free(ctx);
}

void BM_HmacDupTemplate(benchmark::State& st) {
  EVP_MAC_CTX* tmpl = keyed_hmac();
  hmac_loop(st, [tmpl](const bytes& data, unsigned char* md) {
    std::size_t len = 0;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(tmpl);
    EVP_MAC_update(ctx, data.data(), data.size());
    EVP_MAC_final(ctx, md, &len, 64);
    EVP_MAC_CTX_free(ctx);
  });
  EVP_MAC_CTX_free(tmpl);
}

BENCHMARK(BM_HmacReinit)->Arg(96)->Arg(1448);
BENCHMARK(BM_HmacDupTemplate)->Arg(96)->Arg(1448);

// One DRBG call for `range(0)` octets (16: one IV per call; 1024: the pool kernel/esp draws).
void BM_RandomIv(benchmark::State& st) {
  bytes buf(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();
    benchmark::DoNotOptimize(buf.data());
  }
}
BENCHMARK(BM_RandomIv)->Arg(16)->Arg(1024);

// Allocations per packet of seal + open, after a warm-up (the first packets fill the buffers'
// capacity and let OpenSSL set up its per-thread DRBG).
void report_allocations(bool ossl_counted) {
  for (int suite : {gcm256, cbc128_sha256}) {
    const auto p = params(suite);
    auto out = must(outbound_sa::create(p));
    auto in = must(inbound_sa::create(p, 64));
    const bytes inner = inner_of(1400);
    bytes pkt, back;
    for (int i = 0; i < 100; ++i) {
      out->seal(inner, 4, pkt);
      in->open(pkt, back);
    }
    constexpr int n = 10000;
    const auto c0 = cxx_allocs.load(), o0 = ossl_allocs.load();
    for (int i = 0; i < n; ++i) {
      out->seal(inner, 4, pkt);
      in->open(pkt, back);
    }
    const double cxx = static_cast<double>(cxx_allocs.load() - c0) / n;
    const double ossl = static_cast<double>(ossl_allocs.load() - o0) / n;
    if (ossl_counted)
      std::printf("allocations per seal+open (%s): C++ %.3f, OpenSSL %.3f\n", suite == gcm256 ? "AES-256-GCM-16" : "AES-128-CBC+HMAC-SHA2-256-128", cxx, ossl);
    else
      std::printf("allocations per seal+open (%s): C++ %.3f, OpenSSL not counted\n", suite == gcm256 ? "AES-256-GCM-16" : "AES-128-CBC+HMAC-SHA2-256-128", cxx);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Must come before OpenSSL allocates anything; it refuses (returns 0) afterwards.
  const bool ossl_counted = CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
  report_allocations(ossl_counted);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
