// IKEv2 message parsing and encoding (RFC 7296 §3, RFC 7383 §2.5 for SKF).
//
// The parser is strict: every length, count and substructure marker is checked against the
// bytes actually present, and any inconsistency is an errc::invalid_syntax error whose message
// names the payload and the problem. Unknown payload types with the critical bit set give
// errc::unsupported_critical_payload (error.payload_type set, §2.5); without it they are kept
// as unknown_payload. Nothing is read outside the input and nothing is allocated beyond its size.
//
// The encoder writes reserved fields as zero and fills every length, count, Next Payload and
// last-substructure field itself, so parse -> encode reproduces canonical input byte for byte.
// Each payload body must fit the 16-bit length fields (at most 65531 octets); larger bodies are
// a caller bug and are not representable on the wire.
#pragma once
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::wire {

// The fixed 28-octet IKE header only: checks the size, the major version (0x2X, else
// errc::invalid_major_version) and that the Length field equals the datagram size.
result<ike_header> parse_header(bytes_view datagram);

// Header plus the whole payload chain. An SK/SKF payload must be the last one; its body is
// kept as it is (still encrypted).
result<message> parse_message(bytes_view datagram);

// A payload chain without IKE header (the plaintext of a decrypted SK payload), starting with
// a payload of type `first`. SK and SKF are not allowed inside.
result<std::vector<payload>> parse_payloads(payload_type first, bytes_view data);

// Whole message: sets header.next_payload and header.length from the payload list.
bytes encode_message(const message& m);

// A chain without IKE header; Next Payload fields come from the list (for SK/SKF from
// first_inner).
bytes encode_payloads(const std::vector<payload>& ps);

// Only the body after the generic payload header (e.g. IDi' for the AUTH computation, §2.15).
bytes encode_payload_body(const payload& p);

// The 28-octet header exactly as given (next_payload and length taken from `h`).
bytes encode_header(const ike_header& h);

}  // namespace aike::wire
