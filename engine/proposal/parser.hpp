// Proposal strings in strongSwan's keyword syntax -> SA payload proposals (RFC 7296 §3.3).
//
// A string is a '-' separated list of keywords, e.g. "aes256gcm16-prfsha256-x25519" or
// "aes128-sha256-modp2048". Several keywords of one kind are alternatives inside one proposal,
// in preference order. A ',' separates proposals inside one string; a trailing '!' (strongSwan's
// "strict" marker) is accepted and ignored, since we never append defaults. "default" stands
// for a modern built-in list.
//
// Rules checked (RFC 7296 §3.3, RFC 5282 §8): an AEAD cipher takes no integrity algorithm and
// is never mixed with non-AEAD ciphers in one proposal; a non-AEAD cipher needs one; an IKE
// proposal needs a PRF (an integrity keyword implies the matching PRF when no prf keyword is
// given) and a KE group; ESP proposals take no PRF, an optional KE group (PFS) and esn/noesn
// (default noesn).
#pragma once
#include <string>
#include <vector>

#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::proposal {

// Proposal numbers run 1..n over all strings in order; SPIs are left empty for the caller.
result<std::vector<wire::proposal>> parse_ike_proposals(const std::vector<std::string>& specs);
result<std::vector<wire::proposal>> parse_esp_proposals(const std::vector<std::string>& specs);

// The keyword form, grouped encryption-integrity-prf-ke-esn, which parses back to the same
// transforms ("aes128-sha256-prfsha256-modp2048"). A transform without a keyword prints as
// "<type><id>[:<key bits>]", e.g. "encr1234" or "encr12:512".
std::string to_string(const wire::proposal& p);
// "[#1 aes128-..., #2 ...]": for messages that list a whole offer.
std::string to_string(const std::vector<wire::proposal>& ps);

}  // namespace aike::proposal
