// ESP (RFC 4303) for the userspace data plane: one object per direction of a CHILD_SA.
// outbound_sa turns an inner IP packet into an ESP packet (SPI, sequence number, IV, encrypted
// payload with padding and trailer, ICV); inbound_sa checks and opens one, with the anti-replay
// window of RFC 4303 §3.4.3 (and ESN, Appendix A). Crypto through OpenSSL EVP only: AES-GCM
// (RFC 4106, 8/12/16-octet ICV) and AES-CBC with HMAC-SHA1-96 / HMAC-SHA2-256-128 / -384-192 /
// -512-256 (RFC 3602, 2404, 4868). No sockets, no TUN: the userspace backend moves the packets.
//
// Threading: one object is used by one thread at a time (the backend's sending thread owns the
// outbound SAs, its receiving thread the inbound ones); the counters are atomics, so any thread
// may read them.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::kernel::esp {

// Why a packet was not sent or not accepted. Every drop is counted by its reason.
enum class drop : std::uint8_t {
  none,
  malformed,        // shorter than header + IV + ICV, or payload not a multiple of the block size
  replay,           // sequence number seen before or left of the window
  auth_failed,      // ICV mismatch (integrity or AEAD tag)
  bad_padding,      // padding octets not 1, 2, 3 ... (RFC 4303 §2.4) or pad length too large
  seq_exhausted,    // outbound: the sequence number would wrap (2^32 without ESN, 2^64 with); rekey
  hard_lifetime,    // a hard byte or packet limit was reached: the SA no longer carries traffic
};
const char* to_string(drop d);

// Counters of one direction of one SA (relaxed atomics; read by any thread).
struct counters {
  std::atomic<std::uint64_t> packets{0};  // accepted (in) / sent (out)
  std::atomic<std::uint64_t> bytes{0};    // inner packet octets of those
  std::atomic<std::uint64_t> replay_drops{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> other_drops{0};  // malformed, bad padding, seq exhausted, hard lifetime
};

// Byte and packet limits; 0 = none. Crossing a soft limit sets soft_expired() once (the backend
// reports it so the SA gets rekeyed); reaching a hard limit makes every later packet a drop.
struct volume_limits {
  std::uint64_t soft_bytes = 0, hard_bytes = 0;
  std::uint64_t soft_packets = 0, hard_packets = 0;
};

// What both directions need: the negotiated ESP proposal (its ENCR, INTEG and ESN transforms
// decide the algorithms) and that direction's keys as IKEv2 derived them (for AES-GCM the
// encryption key ends with the 4-octet salt, RFC 4106 §8.1).
struct sa_params {
  std::uint32_t spi = 0;  // network order is applied when writing; this is the number
  wire::proposal proposal;
  bytes encr_key;
  bytes integ_key;
  volume_limits limits;
  // Where the sequence numbers stand when the SA is made (known-answer tests, the ESN wrap, an SA
  // moved between backends): outbound, the number of the last packet sent (the next one gets
  // this + 1); inbound, the highest number already received. 0 = a fresh SA.
  std::uint64_t initial_sequence = 0;
};

// Outcome of opening an inbound packet.
struct opened {
  drop reason = drop::none;    // none: `inner` holds the decrypted inner packet
  std::uint8_t next_header = 0;  // 4 = IPv4, 41 = IPv6, 59 = dummy packet (RFC 4303 §2.6, dropped by callers)
};

class outbound_sa {
 public:
  // Errors name the transform that is not supported or the key length that does not fit.
  static result<std::unique_ptr<outbound_sa>> create(const sa_params& p);
  virtual ~outbound_sa() = default;

  // Writes the complete ESP packet (starting with the SPI) for `inner` into `out` (resized to
  // fit; the caller reuses the buffer). Returns drop::none or the reason nothing was written.
  virtual drop seal(bytes_view inner, std::uint8_t next_header, bytes& out) = 0;

  virtual std::uint32_t spi() const = 0;
  virtual std::uint64_t last_sequence() const = 0;  // 0 before the first packet
  virtual bool soft_expired() const = 0;
  virtual const esp::counters& counters() const = 0;
};

class inbound_sa {
 public:
  // replay_window: packets, 0 (no replay check) or 32..4096 (rounded up to a multiple of 32);
  // other values are an error naming the range.
  static result<std::unique_ptr<inbound_sa>> create(const sa_params& p, unsigned replay_window);
  virtual ~inbound_sa() = default;

  // `esp` is the whole ESP packet starting with the SPI (already matched to this SA by the
  // caller). The ICV is checked before the replay window is updated (RFC 4303 §3.4.3), so a
  // forged packet cannot move the window.
  virtual opened open(bytes_view esp, bytes& inner) = 0;

  virtual std::uint32_t spi() const = 0;
  virtual std::uint64_t highest_sequence() const = 0;
  virtual bool soft_expired() const = 0;
  virtual const esp::counters& counters() const = 0;
};

// The SPI of an ESP packet (first 4 octets, network order); 0 when shorter than 8 octets.
std::uint32_t spi_of(bytes_view esp);

}  // namespace aike::kernel::esp
