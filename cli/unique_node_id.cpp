// A CAF node id that no other aikectl shares.
//
// CAF 0.17 derives a node id from the host (MAC addresses, root file system) and the process
// id, nothing else. Updown scripts start aikectl tens of thousands of times, so process ids wrap
// (pid_max is 32,768 on many hosts) and containers or PID namespaces hand out the same small ids
// at once. When two connections to aiked carry the same node id, CAF's BASP routes the answer
// for one over the other's connection, and one aikectl waits for an answer that never comes
// (measured: 9 of 1,600 calls lost when every aikectl had the same process id, 0 of 4,000 with
// distinct ids; tests/scripts/ctl_node_ids.sh).
//
// libcaf_core asks for the process id through this exported function, by way of the PLT, so a
// definition in the executable takes its place. It returns random bits, the same for the whole
// life of the process; the node id's host part stays CAF's own.
#include <sys/random.h>
#include <unistd.h>

#include <cstdint>

namespace caf::detail {

unsigned get_process_id() {
  static const unsigned id = [] {
    std::uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) r = static_cast<std::uint32_t>(getpid());
    // Non-zero, like every real process id.
    return r ? static_cast<unsigned>(r) : 1u;
  }();
  return id;
}

}  // namespace caf::detail
