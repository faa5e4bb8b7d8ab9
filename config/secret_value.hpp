// Pre-shared key values as swanctl writes them: "0s" + base64, "0x" + hex, anything else is
// the text itself.
#pragma once
#include <string_view>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"

namespace aike::config {

// Errors never quote the secret itself (config check output may end up in logs).
result<bytes> decode_secret(std::string_view text);

}  // namespace aike::config
