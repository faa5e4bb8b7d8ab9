// What happened to an IKE SA or CHILD_SA, as the IKE SA actor reports it once the fact is true
// (a CHILD_SA is "up" when the kernel backend confirmed the install, "down" when it confirmed the
// removal). The event hub hands events to the updown supervisor and to `aikectl monitor`.
#pragma once
#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/ts/selector.hpp"

namespace aike::actors {

enum class sa_event_kind { ike_up, ike_down, child_up, child_down, ike_rekey, child_rekey };

inline const char* to_string(sa_event_kind k) {
  switch (k) {
    case sa_event_kind::ike_up: return "ike-up";
    case sa_event_kind::ike_down: return "ike-down";
    case sa_event_kind::child_up: return "child-up";
    case sa_event_kind::child_down: return "child-down";
    case sa_event_kind::ike_rekey: return "ike-rekey";
    case sa_event_kind::child_rekey: return "child-rekey";
  }
  return "?";
}

struct sa_event {
  sa_event_kind kind = sa_event_kind::ike_up;
  std::int64_t at_ms = 0;  // wall clock, milliseconds since the epoch

  // The IKE SA.
  std::string connection;
  std::uint32_t ike_id = 0;
  endpoint local, remote;  // outer addresses and ports
  std::string local_id, remote_id;
  std::string reason;  // why it went down, when it did

  // The CHILD_SA (child_* kinds only).
  std::string child;
  std::uint32_t child_id = 0;
  std::uint32_t reqid = 0;
  std::uint32_t spi_in = 0, spi_out = 0;
  bool tunnel = true;
  bool encap = false;  // ESP in UDP
  std::vector<ts::selector> local_ts, remote_ts;
  std::string updown;  // the script the child's configuration names ("" = none)
};

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::sa_event)
