// The outbound SA lookup of the userspace ESP backend (kernel/outbound_index.hpp): which of N
// CHILD_SAs' selectors cover an inner packet, as the TUN thread asks for every packet.
//
//   outbound_lookup_bench [--benchmark_filter=...] [--benchmark_min_time=0.2]
//
// The table models a gateway with N road-warrior peers: SA i covers 0.0.0.0/0 (local) to one
// virtual IP 100.64.x.y/32 (remote), newest first as the backend orders it. Flows: 4,096
// prepared packets (UDP, random source ports) to the virtual IPs of random peers, used in turn.
//
// BM_Linear:       the former scan, first_match_linear over the rules.
// BM_Index:        outbound_index::find.
// BM_IndexCached:  outbound_flow_cache::find in front of the index, the same 4,096 flows (more
//                  flows than cache slots: mostly misses, so this is the cache's overhead).
// BM_IndexCached16: the cache with 16 flows in turn (a few bulk transfers): mostly hits.
// BM_Miss*:        packets to addresses no SA covers (the linear scan's worst case).
// BM_Build:        building the index for N rules (done on every install/remove).
// Reported: time per lookup and lookups/s ("items_per_second"), per second of CPU time.
#include <benchmark/benchmark.h>

#include <random>

#include "kernel/outbound_index.hpp"

namespace {

using namespace aike;
using kernel::inner_flow;
using kernel::outbound_rule;

std::array<std::uint8_t, 16> v4(std::uint32_t a) {
  return {static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16), static_cast<std::uint8_t>(a >> 8),
          static_cast<std::uint8_t>(a)};
}

constexpr std::uint32_t virtual_ips = 0x64400000;  // 100.64.0.0
std::uint32_t peer_ip(std::size_t i) { return virtual_ips + 1 + static_cast<std::uint32_t>(i); }

std::vector<outbound_rule> gateway_table(std::size_t n) {
  std::vector<outbound_rule> rules;
  for (std::size_t i = n; i-- > 0;) {  // newest (highest) first
    ts::selector any;                  // 0.0.0.0/0
    any.end = v4(0xffffffff);
    ts::selector peer;
    peer.start = peer.end = v4(peer_ip(i));
    rules.push_back({{any}, {peer}});
  }
  return rules;
}

std::vector<inner_flow> flows(std::size_t n_peers, std::size_t count, bool miss) {
  std::mt19937 rng(42);
  std::vector<inner_flow> v(count);
  for (auto& f : v) {
    f.src = v4(0x0a000001);
    std::uint32_t dst = miss ? 0xc6336400 + (rng() & 0xff)  // 198.51.100.x
                             : peer_ip(rng() % n_peers);
    f.dst = v4(dst);
    f.protocol = 17;
    f.src_port = static_cast<std::uint16_t>(1024 + rng() % 60000);
    f.dst_port = 443;
  }
  return v;
}

enum class lookup { linear, index, cached };

// `count` flows (a power of two) to peers (or, with `miss`, to no SA), looked up in turn.
void run(benchmark::State& state, lookup how, std::size_t count, bool miss) {
  auto rules = gateway_table(static_cast<std::size_t>(state.range(0)));
  auto fl = flows(rules.size(), count, miss);
  kernel::outbound_index index(rules);
  kernel::outbound_flow_cache cache;
  std::size_t i = 0, found = 0;
  for (auto _ : state) {
    const inner_flow& f = fl[i];
    std::size_t r = how == lookup::linear  ? kernel::first_match_linear(rules, f)
                    : how == lookup::index ? index.find(f)
                                           : cache.find(index, f);
    found += r != kernel::no_outbound_rule;
    i = (i + 1) & (count - 1);
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Linear(benchmark::State& state) { run(state, lookup::linear, 4096, false); }
void BM_Index(benchmark::State& state) { run(state, lookup::index, 4096, false); }
void BM_IndexCached(benchmark::State& state) { run(state, lookup::cached, 4096, false); }
void BM_IndexCached16(benchmark::State& state) { run(state, lookup::cached, 16, false); }
void BM_MissLinear(benchmark::State& state) { run(state, lookup::linear, 4096, true); }
void BM_MissIndex(benchmark::State& state) { run(state, lookup::index, 4096, true); }

void BM_Build(benchmark::State& state) {
  auto rules = gateway_table(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    kernel::outbound_index index(rules);
    benchmark::DoNotOptimize(index.size());
  }
}

#define TABLE_SIZES ->Arg(1)->Arg(100)->Arg(1000)->Arg(10000)
BENCHMARK(BM_Linear) TABLE_SIZES;
BENCHMARK(BM_Index) TABLE_SIZES;
BENCHMARK(BM_IndexCached) TABLE_SIZES;
BENCHMARK(BM_IndexCached16) TABLE_SIZES;
BENCHMARK(BM_MissLinear) TABLE_SIZES;
BENCHMARK(BM_MissIndex) TABLE_SIZES;
BENCHMARK(BM_Build) TABLE_SIZES->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
