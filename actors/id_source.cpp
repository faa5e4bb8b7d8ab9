#include "actors/id_source.hpp"

#include <atomic>

#include "engine/crypto/random.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::actors {

std::uint32_t next_child_id() {
  static std::atomic<std::uint32_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// Reqids come from the range the XFRM backend recognises as aike's after a crash.
namespace {
std::atomic<std::uint32_t> reqid_first{kernel::default_ownership.reqid_first};
std::atomic<std::uint32_t> reqid_count{kernel::default_ownership.reqid_count};
}  // namespace

void set_reqid_range(std::uint32_t first, std::uint32_t count) {
  reqid_first.store(first, std::memory_order_relaxed);
  reqid_count.store(count == 0 ? 1 : count, std::memory_order_relaxed);
}

std::uint32_t next_reqid() {
  static std::atomic<std::uint32_t> next{1};
  kernel::xfrm_ownership own;
  own.reqid_first = reqid_first.load(std::memory_order_relaxed);
  own.reqid_count = reqid_count.load(std::memory_order_relaxed);
  return own.reqid_at(next.fetch_add(1, std::memory_order_relaxed));
}

// Drawing 28 random bits per SPI repeats one among n live SPIs with probability about
// n^2 / 2^29 (5 % at 5,000 CHILD_SAs), and a repeated inbound SPI routes ESP to the wrong SA. So
// a counter goes through a keyed bijection of the 28-bit values instead: no SPI repeats within
// 2^28 allocations, and the values still look random (RFC 4303 asks nothing more of an SPI).
std::uint32_t next_esp_spi() {
  constexpr std::uint32_t mask = 0x0fffffffu;
  static const std::uint32_t mul1 = crypto::random_u32() | 1u, mul2 = crypto::random_u32() | 1u;
  static const std::uint32_t key = crypto::random_u32() & mask;
  static std::atomic<std::uint32_t> counter{crypto::random_u32()};
  std::uint32_t x = counter.fetch_add(1, std::memory_order_relaxed) & mask;
  // Each step is a bijection on 28 bits: odd multiply mod 2^28, xor with a key, xorshift.
  x = (x * mul1) & mask;
  x ^= key;
  x ^= x >> 13;
  x = (x * mul2) & mask;
  x ^= x >> 11;
  return 0xc0000000u | x;
}

}  // namespace aike::actors
