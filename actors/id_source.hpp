// Process-wide sources of unique numbers (CHILD_SA ids, reqids, inbound SPIs). Lock-free
// counters: SA actors on any thread may draw from them; nothing else is shared.
#pragma once
#include <cstdint>

namespace aike::actors {

std::uint32_t next_child_id();
// Reqids lie in [first, first + count) (`[kernel] reqid_range`; default kernel/xfrm_ownership.hpp).
// aiked sets the range once at start, before any SA exists; count must be at least 1.
void set_reqid_range(std::uint32_t first, std::uint32_t count);
std::uint32_t next_reqid();
// An inbound ESP SPI: random with the top bits set (0xc0000000-0xcfffffff), like the values
// operators are used to seeing; never 0 and never in the reserved range 1..255; no value
// repeats within 2^28 calls.
std::uint32_t next_esp_spi();

}  // namespace aike::actors
