// An unprotected IKE_SA_INIT answer that carries one notify (COOKIE, INVALID_KE_PAYLOAD,
// NO_PROPOSAL_CHOSEN, INVALID_SYNTAX ...), made from the request's header alone: responders send
// these before (or instead of) keeping any state for the request.
#pragma once
#include <cstdint>

#include "engine/common/bytes.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::sa {

bytes stateless_init_response(const wire::ike_header& request, std::uint16_t notify_type, bytes data = {});

}  // namespace aike::sa
