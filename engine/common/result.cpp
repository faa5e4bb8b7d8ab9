#include "engine/common/result.hpp"

namespace aike {

const char* to_string(errc e) {
  switch (e) {
    case errc::invalid_syntax: return "INVALID_SYNTAX";
    case errc::unsupported_critical_payload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case errc::invalid_major_version: return "INVALID_MAJOR_VERSION";
    case errc::invalid_ke_payload: return "INVALID_KE_PAYLOAD";
    case errc::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case errc::ts_unacceptable: return "TS_UNACCEPTABLE";
    case errc::authentication_failed: return "AUTHENTICATION_FAILED";
    case errc::integrity_check_failed: return "INTEGRITY_CHECK_FAILED";
    case errc::unsupported: return "UNSUPPORTED";
    case errc::invalid_argument: return "INVALID_ARGUMENT";
    case errc::crypto_failure: return "CRYPTO_FAILURE";
    case errc::kernel_failure: return "KERNEL_FAILURE";
  }
  return "UNKNOWN";
}

}  // namespace aike
