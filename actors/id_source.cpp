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
std::uint32_t next_reqid() {
  static std::atomic<std::uint32_t> next{1};
  return kernel::reqid_at(next.fetch_add(1, std::memory_order_relaxed));
}

std::uint32_t next_esp_spi() { return 0xc0000000u | (crypto::random_u32() & 0x0fffffffu); }

}  // namespace aike::actors
