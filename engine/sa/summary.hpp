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
};

ike_summary summarize(const ike_sa& sa);

}  // namespace aike::sa
