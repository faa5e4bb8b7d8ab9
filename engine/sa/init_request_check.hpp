// A first look at a new IKE_SA_INIT request before any state is made for it: a registry uses it
// to drop garbage without spawning an SA (RFC 7296 §2.6 asks responders to keep nothing for
// requests they cannot use).
#pragma once
#include <optional>
#include <string>

#include "engine/wire/payloads.hpp"

namespace aike::sa {

// Why the message cannot start an IKE SA, or nothing when it can: message id 0, a request
// from the original initiator, SPIr zero, and SA, KE and nonce payloads present.
std::optional<std::string> check_init_request(const wire::message& m);

}  // namespace aike::sa
