// Building and opening protected IKEv2 messages: the inner payloads travel in one SK payload
// (RFC 7296 §3.14) sealed by a crypto::sk_cipher.
#pragma once
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

}  // namespace aike::wire
