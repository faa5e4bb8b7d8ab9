#include "actors/updown/updown_env.hpp"

#include "engine/common/spi_text.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

namespace aike::actors::updown {
namespace {

ip_address start_of(const ts::selector& s) {
  ip_address a;
  a.v6 = s.v6;
  a.octets = s.start;
  return a;
}

// The selector covers exactly the one address `a`.
bool is_host_of(const ts::selector& s, const ip_address& a) {
  return s.v6 == a.v6 && s.start == s.end && s.start == a.octets;
}

// The local selector an event describes: the first one, or the local address as a host.
ts::selector first_or_host(const std::vector<ts::selector>& list, const ip_address& fallback) {
  if (!list.empty()) return list.front();
  return ts::host(fallback.view());
}

}  // namespace

std::string verb(const sa_event& ev) {
  switch (ev.kind) {
    case sa_event_kind::ike_up: return "up-ike";
    case sa_event_kind::ike_down: return "down-ike";
    case sa_event_kind::child_up:
    case sa_event_kind::child_down: break;
    default: return {};
  }
  auto mine = first_or_host(ev.local_ts, ev.local.addr);
  std::string v = ev.kind == sa_event_kind::child_up ? "up-" : "down-";
  // "host" when the local side of the CHILD_SA is just this host's own address (transport mode
  // or a host-to-subnet tunnel), "client" when it is a subnet behind us.
  v += is_host_of(mine, ev.local.addr) ? "host" : "client";
  if (mine.v6) v += "-v6";
  return v;
}

std::string client_cidr(const ts::selector& s) {
  std::size_t len = s.v6 ? 16 : 4;
  unsigned prefix = 0;
  for (std::size_t i = 0; i < len; ++i) {
    std::uint8_t diff = s.start[i] ^ s.end[i];
    if (diff == 0) {
      prefix += 8;
      continue;
    }
    for (int bit = 7; bit >= 0 && !(diff & (1u << bit)); --bit) ++prefix;
    break;
  }
  ip_address net = start_of(s);
  for (std::size_t i = 0; i < len; ++i) {
    unsigned keep = prefix >= (i + 1) * 8 ? 8 : (prefix > i * 8 ? prefix - i * 8 : 0);
    net.octets[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  return net.to_string() + "/" + std::to_string(prefix);
}

std::string port_text(const ts::selector& s) {
  if (s.start_port == s.end_port) return std::to_string(s.start_port);
  if (s.start_port == 0 && s.end_port == 65535) return "0";
  return std::to_string(s.start_port) + ":" + std::to_string(s.end_port);
}

std::vector<std::string> environment(const sa_event& ev, const std::string& interface) {
  std::vector<std::string> env;
  auto add = [&env](const char* name, const std::string& value) { env.push_back(std::string(name) + "=" + value); };
  env.emplace_back(script_path_env);
  add("PLUTO_VERSION", "1.1");
  add("PLUTO_VERB", verb(ev));
  bool child = ev.kind == sa_event_kind::child_up || ev.kind == sa_event_kind::child_down;
  // strongSwan names the CHILD_SA's configuration here; IKE events name the connection.
  add("PLUTO_CONNECTION", child ? ev.child : ev.connection);
  add("PLUTO_UNIQUEID", std::to_string(ev.ike_id));
  if (child) add("PLUTO_REQID", std::to_string(ev.reqid));
  add("PLUTO_INTERFACE", interface);
  add("PLUTO_ME", ev.local.addr.to_string());
  add("PLUTO_MY_ID", ev.local_id);
  if (child) {
    auto mine = first_or_host(ev.local_ts, ev.local.addr);
    add("PLUTO_MY_CLIENT", client_cidr(mine));
    add("PLUTO_MY_PORT", port_text(mine));
    add("PLUTO_MY_PROTOCOL", std::to_string(mine.protocol));
  }
  add("PLUTO_PEER", ev.remote.addr.to_string());
  add("PLUTO_PEER_ID", ev.remote_id);
  if (child) {
    auto theirs = first_or_host(ev.remote_ts, ev.remote.addr);
    add("PLUTO_PEER_CLIENT", client_cidr(theirs));
    add("PLUTO_PEER_PORT", port_text(theirs));
    add("PLUTO_PEER_PROTOCOL", std::to_string(theirs.protocol));
    add("PLUTO_MY_SPI", spi_hex(ev.spi_in));
    add("PLUTO_PEER_SPI", spi_hex(ev.spi_out));
    add("PLUTO_PROTO", "esp");
    if (ev.encap) add("PLUTO_UDP_ENC", std::to_string(ev.remote.port));
  }
  // aike's own additions (strongSwan scripts ignore them).
  add("AIKE_IKE_NAME", ev.connection);
  if (child) {
    add("AIKE_CHILD_NAME", ev.child);
    add("AIKE_CHILD_ID", std::to_string(ev.child_id));
  }
  if (ev.kind == sa_event_kind::ike_down || ev.kind == sa_event_kind::child_down) add("AIKE_REASON", ev.reason);
  return env;
}

std::string interface_of(const ip_address& addr) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "unknown";
  std::string name = "unknown";
  // The interface holding the address itself; failing that, one whose subnet contains it
  // (127.0.0.2 answers on lo, which holds 127.0.0.1/8).
  for (int pass = 0; pass < 2 && name == "unknown"; ++pass) {
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || !i->ifa_name || (pass == 1 && !i->ifa_netmask)) continue;
      const std::uint8_t* have = nullptr;
      const std::uint8_t* mask = nullptr;
      std::size_t len = 0;
      if (!addr.v6 && i->ifa_addr->sa_family == AF_INET) {
        have = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr);
        if (pass == 1)
          mask = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(i->ifa_netmask)->sin_addr);
        len = 4;
      } else if (addr.v6 && i->ifa_addr->sa_family == AF_INET6) {
        have = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr);
        if (pass == 1)
          mask =
              reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(i->ifa_netmask)->sin6_addr);
        len = 16;
      }
      if (!have) continue;
      bool match = true;
      for (std::size_t k = 0; k < len && match; ++k) {
        std::uint8_t m = mask ? mask[k] : 0xff;
        match = (have[k] & m) == (addr.octets[k] & m);
      }
      if (match) {
        name = i->ifa_name;
        break;
      }
    }
  }
  freeifaddrs(list);
  return name;
}

}  // namespace aike::actors::updown
