#include "engine/sa/child_sa.hpp"

namespace aike::sa {

const char* to_string(child_state s) {
  switch (s) {
    case child_state::creating: return "CREATING";
    case child_state::installed: return "INSTALLED";
    case child_state::rekeying: return "REKEYING";
    case child_state::deleting: return "DELETING";
    case child_state::deleted: return "DELETED";
  }
  return "UNKNOWN";
}

void child_sa::wipe_keys() {
  wipe(encr_in);
  wipe(integ_in);
  wipe(encr_out);
  wipe(integ_out);
}

}  // namespace aike::sa
