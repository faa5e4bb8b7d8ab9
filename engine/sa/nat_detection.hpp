// NAT detection (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port) in NAT_DETECTION_*_IP notifies.
#pragma once
#include <cstdint>

#include "engine/common/bytes.hpp"
#include "engine/common/endpoint.hpp"

namespace aike::sa {

bytes nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r, const endpoint& ep);

}  // namespace aike::sa
