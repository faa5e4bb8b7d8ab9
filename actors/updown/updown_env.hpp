// The environment an updown script sees: the PLUTO_* variables strongSwan's updown plugin sets
// (so existing scripts keep working), built from one sa_event. Pure functions, apart from
// interface_of(), which asks the system (getifaddrs) which interface holds an address.
#pragma once
#include <string>
#include <vector>

#include "actors/sa_event.hpp"
#include "engine/common/endpoint.hpp"
#include "engine/common/spi_text.hpp"
#include "engine/ts/selector.hpp"

namespace aike::actors::updown {

// The PATH every script starts with (the daemon's own environment is not passed on).
inline constexpr const char* script_path_env = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// "up-client", "down-host-v6", ... for CHILD_SA events; "up-ike" / "down-ike" for IKE SA events;
// "" for events that run no script (rekeys).
std::string verb(const sa_event& ev);

// "10.1.0.0/24": the smallest prefix that covers the selector's address range.
std::string client_cidr(const ts::selector& s);
// The port as strongSwan's scripts expect it: the port when the selector names one, 0 for any
// port, "from:to" for a narrower range.
std::string port_text(const ts::selector& s);
// An SPI as 8 lowercase hex digits, like strongSwan ("c1a2b3d4").
inline std::string spi_hex(std::uint32_t spi) { return aike::spi_hex(spi); }

// Every variable as "NAME=value", PATH first. `interface` is the name of the interface holding
// the local address ("unknown" when none does).
std::vector<std::string> environment(const sa_event& ev, const std::string& interface);

// The interface that holds `addr` (getifaddrs), or "unknown".
std::string interface_of(const ip_address& addr);

}  // namespace aike::actors::updown
