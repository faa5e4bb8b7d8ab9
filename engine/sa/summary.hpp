// A plain, copyable picture of an IKE SA and its CHILD_SAs (no keys): what list-sas shows.
// The owner of an ike_sa makes one after every change and hands it to whoever lists SAs, so
// listing never has to ask the SA itself.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/sa/ike_sa.hpp"

namespace aike::sa {

struct child_summary {
  std::string name;
  std::uint32_t id = 0;
  std::string state;  // "INSTALLED", ...
  std::uint32_t reqid = 0;
  std::string mode;   // "TUNNEL" | "TRANSPORT"
  std::uint32_t spi_in = 0, spi_out = 0;
  std::vector<std::string> local_ts, remote_ts;
  std::string proposal;
  bool encap = false;
};

// An IKE SA kept in the same ike_sa until its DELETE is done: the old SA of a rekey or the
// redundant SA of a rekey collision. Not an IKE SA of its own in counts (stats `ike_sas`).
struct retiring_summary {
  std::uint64_t local_spi = 0, remote_spi = 0;
  std::string state;  // "DELETING" (our DELETE is out) | "REKEYED" (waiting for the peer's DELETE)
  std::string kind;   // "old" (replaced by a rekey) | "redundant" (the losing SA of a collision)
};

struct ike_summary {
  std::string name;
  std::uint32_t id = 0;
  std::string state;  // "CONNECTING", "ESTABLISHED", ...
  bool initiator = false;
  endpoint local, remote;
  std::string local_id, remote_id;
  std::uint64_t local_spi = 0, remote_spi = 0;
  std::string proposal;
  bool nat = false;
  std::int64_t established_at = 0;  // Unix seconds; 0 = not established (set by the owner)
  std::vector<child_summary> children;
  std::vector<retiring_summary> retiring;
};

ike_summary summarize(const ike_sa& sa);

}  // namespace aike::sa
