// Hooks for known-answer tests of the userspace ESP transform; the data path never calls them.
#pragma once
#include "engine/common/bytes.hpp"
#include "kernel/esp/esp_sa.hpp"

namespace aike::kernel::esp {

// The next packet `sa` seals carries `iv` as its explicit IV instead of the sequence number
// (AES-GCM) or random octets (AES-CBC), so a published packet can be reproduced byte for byte.
// false if `iv` is not the suite's IV size (8 for AES-GCM, 16 for AES-CBC).
bool use_iv_once(outbound_sa& sa, bytes_view iv);

}  // namespace aike::kernel::esp
