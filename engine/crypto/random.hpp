// Cryptographically strong random numbers from OpenSSL's DRBG (RAND_bytes): nonces, SPIs, IVs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::crypto {

// n random octets. If the DRBG fails (no entropy source at all) the result is EMPTY rather than
// predictable: callers that cannot tolerate that use random_fill().
bytes random_bytes(std::size_t n);
// Fills `out`; errc::crypto_failure if the DRBG fails (out is then zeroed).
status random_fill(std::span<std::uint8_t> out);
// Random integers, e.g. for SPIs and message-independent identifiers. 0 if the DRBG fails, which
// is never a valid IKE SPI, so an SPI allocator can detect it.
std::uint64_t random_u64();
std::uint32_t random_u32();
// Random octets for values sent in the clear, such as the IVs of the SK payload: taken from a
// per-thread block of DRBG output refilled 4 KiB at a time, because one RAND_bytes call per
// 8-octet IV cost about 2 µs (3-4 % of the CPU of a bulk terminate). Not for keys or nonces.
status random_fill_public(std::span<std::uint8_t> out);

}  // namespace aike::crypto
