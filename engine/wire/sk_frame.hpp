// Building and opening protected IKEv2 messages: the inner payloads travel in one SK payload
// (RFC 7296 §3.14) sealed by a crypto::sk_cipher.
#pragma once
#include <optional>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::wire {

// Length of the SK payload body (IV || ciphertext || ICV) that `c` produces for `plaintext_len`
// octets of inner payloads: the ciphertext is plaintext || padding || Pad Length, padded to the
// block size with the least padding (what sk_cipher::seal does).
std::size_t sk_body_size(const crypto::sk_cipher& c, std::size_t plaintext_len);

// Encodes `h` (next_payload and length are filled in) followed by one SK payload protecting
// `inner`. The lengths are final before sealing, since they are part of the ICV input.
result<bytes> seal_message(ike_header h, const std::vector<payload>& inner, const crypto::sk_cipher& c,
                           const crypto::sk_keys& keys);
// The same with unencrypted payloads between the header and the SK payload (rare).
result<bytes> seal_message(ike_header h, const std::vector<payload>& clear, const std::vector<payload>& inner,
                           const crypto::sk_cipher& c, const crypto::sk_keys& keys);

// Parses `datagram`, requires it to end in an SK payload, verifies and decrypts it and returns
// the message with the SK payload replaced by the inner payloads (header as received).
// errc::integrity_check_failed when the ICV does not verify; errc::invalid_syntax for any
// malformed outer or inner part; errc::invalid_argument for an SKF fragment (reassemble first).
result<message> open_message(bytes_view datagram, const crypto::sk_cipher& c, const crypto::sk_keys& keys);

// --- RFC 7383 IKE fragmentation ---

// Splits the encoded `inner` payloads into Encrypted Fragment (SKF) messages of at most
// `max_datagram` octets each (the whole IKE message, without IP/UDP headers or the non-ESP
// marker). Each fragment repeats `h` (same Message ID), carries Fragment Number and Total
// Fragments, and is sealed on its own; the AAD/ICV input is everything before the IV, i.e.
// including those two fields (§2.5). errc::invalid_argument if max_datagram leaves no room for
// data or more than 65535 fragments would be needed.
result<std::vector<bytes>> seal_fragments(ike_header h, const std::vector<payload>& inner, std::size_t max_datagram,
                                          const crypto::sk_cipher& c, const crypto::sk_keys& keys);

// Collects the fragments of one message (one Message ID) and returns the message once all
// have arrived. Every fragment is verified before it changes any state (§2.6), so only the peer
// holding the keys can affect reassembly. A fragment whose Total Fragments is larger than the
// one collected so far restarts reassembly (the sender re-fragmented smaller, §2.6.2); a smaller
// one, or a duplicate, is ignored.
// What one incomplete message may hold, so a peer (even one holding the keys) cannot make us
// keep unbounded memory. The time limit is the owner's job (it has the clock): it calls clear()
// when an incomplete message has waited too long (sa::ike_sa arms timer_kind::reassembly).
struct reassembly_limits {
  std::size_t max_fragments = 64;  // a fragment announcing more Total Fragments is refused
  std::size_t max_size = 10000;    // octets of decrypted fragment data of one message (strongSwan's max_packet)
};

class fragment_reassembly {
 public:
  explicit fragment_reassembly(reassembly_limits limits = {}) : limits_(limits) {}
  ~fragment_reassembly() { clear(); }
  fragment_reassembly(const fragment_reassembly&) = delete;
  fragment_reassembly& operator=(const fragment_reassembly&) = delete;

  // Verifies and decrypts one SKF datagram. Returns the complete message (header of fragment 1
  // as received, then the inner payloads) when this was the last missing fragment, std::nullopt
  // while fragments are missing or when the fragment was ignored. Errors:
  // integrity_check_failed (fragment dropped, state kept), invalid_syntax (malformed fragment or
  // reassembled chain; on the latter the state is cleared), invalid_argument (not an SKF
  // message, other Message ID or exchange than the fragments collected, too many fragments),
  // message_too_large (the fragments together exceed max_size; the state is cleared).
  result<std::optional<message>> add(bytes_view datagram, const crypto::sk_cipher& c, const crypto::sk_keys& keys);

  void clear();
  void set_limits(reassembly_limits limits) { limits_ = limits; }
  std::uint16_t total_fragments() const { return total_; }  // 0 when nothing is collected
  std::size_t received() const { return received_; }
  std::size_t held_octets() const { return held_; }  // decrypted data kept for the incomplete message

 private:
  reassembly_limits limits_;
  std::size_t held_ = 0;
  ike_header header_{};  // of the first fragment that arrived; fragment 1's once it is in
  payload_type first_inner_ = payload_type::none;
  std::uint16_t total_ = 0;
  std::size_t received_ = 0;
  std::vector<std::optional<bytes>> parts_;  // decrypted data, index = Fragment Number - 1
};

}  // namespace aike::wire
