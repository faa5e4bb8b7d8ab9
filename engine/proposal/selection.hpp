// Choosing and checking proposals (RFC 7296 §2.7, §3.3).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/common/result.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::proposal {

struct selection_result {
  wire::proposal chosen;
};

// As responder: pick one proposal with exactly one transform of each offered type.
// Our configured proposals are tried in order, and for each the offered ones in order (local
// preference, as strongSwan does); within a type, our order decides too. The result keeps the
// offered proposal number and SPI, and the transforms as the peer wrote them.
// A transform matches when type, id and Key Length agree; a transform with an attribute we do not
// know never matches; an offered proposal with a transform type we do not know (or one not valid
// for the protocol) is unacceptable (§3.3.6). A missing KE, integrity or ESN type counts as NONE /
// "no ESN", so both sides must allow the value. `ke_hint` (the group of the peer's KE payload,
// 0 = none) is preferred over our own order when both sides accept it, which saves an
// INVALID_KE_PAYLOAD round trip.
// Fails with errc::no_proposal_chosen; the message lists both sides.
result<wire::proposal> select(const std::vector<wire::proposal>& offered,
                              const std::vector<wire::proposal>& local, wire::protocol_id protocol,
                              std::uint16_t ke_hint = 0);

// As initiator: the responder's single proposal must carry the number of one we offered, exactly
// one transform of each type that proposal had (integrity may be absent or NONE with an AEAD
// cipher) and nothing we did not offer. Malformed answers fail with errc::invalid_syntax,
// answers that pick something we never offered with errc::no_proposal_chosen.
result<wire::proposal> check_reply(const wire::proposal& reply, const std::vector<wire::proposal>& offered,
                                   wire::protocol_id protocol);

// The algorithms of a selected proposal (the first transform of each type; 0 = absent/NONE).
// encr_key_bits is the Key Length attribute, or 256 for ChaCha20-Poly1305 whose key size is fixed.
struct algorithms {
  std::uint16_t encr = 0, encr_key_bits = 0, prf = 0, integ = 0, ke = 0, esn = 0;
};
algorithms algorithms_of(const wire::proposal& selected);

// The group for our first KE payload: the first KE group of our first proposal that has one (0 if none).
std::uint16_t preferred_ke_group(const std::vector<wire::proposal>& local);
// Whether any of our proposals allows `group` (for INVALID_KE_PAYLOAD handling).
bool accepts_ke_group(const std::vector<wire::proposal>& local, std::uint16_t group);
// The retry offer after INVALID_KE_PAYLOAD: only proposals that allow `group`, with that group
// moved first, renumbered 1..n.
std::vector<wire::proposal> with_ke_group_first(std::vector<wire::proposal> local, std::uint16_t group);

}  // namespace aike::proposal
