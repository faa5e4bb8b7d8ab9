// The validated configuration the daemon runs on: daemon settings plus, per connection, the
// engine's immutable sa::connection and the daemon-side policy around it (ports, start and
// DPD actions, lifetimes). Built only by load_file/load_string (config/loader.hpp).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/sa/connection.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::config {

enum class kernel_mode { auto_, xfrm, userspace, null };
enum class dpd_action { clear, restart, trap };
enum class unique_policy { replace, keep, never, no };
enum class start_action { none, start, trap };
// What to do with a CHILD_SA when DPD declares the peer dead or the peer closes it (swanctl's
// child dpd_action / close_action).
enum class child_action { none, clear, trap, restart };

// The spelling the config file uses ("auto", "clear", "replace", ...).
const char* to_string(kernel_mode m);
const char* to_string(dpd_action a);
const char* to_string(unique_policy u);
const char* to_string(start_action a);
const char* to_string(child_action a);

struct log_config {
  std::string default_level = "info";               // error | warning | info | debug
  std::map<std::string, std::string> subsystems;    // ike, net, cfg, knl, updown, ctl -> level
  std::string file;                                 // absolute or relative to the cwd; "" = stderr only
};

struct daemon_config {
  std::vector<ip_address> listen;  // the loader fills 0.0.0.0 and :: when [daemon] listen is absent
  std::uint16_t ike_port = 500, natt_port = 4500;  // 0 = let the kernel choose
  kernel_mode kernel = kernel_mode::auto_;
  std::string control_host = "127.0.0.1";  // an IP address, without brackets
  std::uint16_t control_port = 4510;
  std::string control_token = "/run/aike/control.token";
  std::string control_cert, control_key, control_ca;  // PEM paths (resolved); cert+key required off loopback
  unsigned workers = 0;  // 0 = number of cores
  unsigned half_open_cookie_threshold = 1000;
  bool delete_on_stop = true;
  log_config log;
  sa::retransmit_policy retransmit;
  // RFC 7383 (docs/configuration.md "IKE fragmentation"): the default of connections'
  // fragment_size, and what one incomplete fragmented message from a peer may hold.
  std::size_t fragment_size = 1280;
  wire::reassembly_limits reassembly;
  std::chrono::milliseconds fragment_timeout{30000};
  unsigned updown_max_parallel = 8;
  std::chrono::milliseconds updown_timeout{30000};
  bool flush_on_start = false;  // [kernel] flush_on_start
  // [kernel] settings of the userspace ESP backend (kernel = "userspace", or "auto" without kernel ESP).
  std::string tun_name = "aike0";  // the TUN device aiked creates (1..15 characters)
  unsigned tun_mtu = 1400;         // its MTU: room for the ESP-in-UDP overhead on a 1500-octet path
  unsigned replay_window = 64;     // packets (64..4096): the least anti-replay window of userspace SAs
  // [kernel] reqid_range and policy_priority_base: how the XFRM backend marks (and after a crash
  // recognises) its policies and SAs (kernel/xfrm_ownership.hpp).
  kernel::xfrm_ownership xfrm_ownership;
  // Not read from the file: set by aiked when the userspace backend runs (force_udp_encapsulation),
  // kept across reloads, so every connection, also one added by a reload, uses ESP in UDP.
  bool encap_all = false;
};

struct child_policy {
  std::string name;
  start_action start = start_action::none;
  child_action on_dpd = child_action::none;
  child_action on_close = child_action::none;
  std::string updown;  // resolved path of an executable; "" = none
  // Filled by the loader: life_time defaults to rekey_time + 10%, rand_time to 10% of rekey_time.
  std::chrono::milliseconds rekey_time{3600000}, life_time{0}, rand_time{0};
  // rekey_bytes/life_bytes/rand_bytes and the same in packets (0 = none); the loader fills the
  // defaults (see config/volume_value.hpp).
  sa::volume_lifetime bytes, packets;
  unsigned replay_window = 32;
};

struct connection {
  std::shared_ptr<const sa::connection> ike;  // the engine part (immutable, shared with SAs)
  std::uint16_t local_port = 500;             // the loader defaults it to daemon.ike_port
  dpd_action on_dpd = dpd_action::clear;
  unique_policy unique = unique_policy::no;
  unsigned keyingtries = 1;  // 0 = forever
  // life_time = max(rekey_time, reauth_time) + over_time (default 10% of that maximum);
  // rand_time defaults to 10% of the shorter of rekey_time and reauth_time (of those set). 0 = disabled.
  std::chrono::milliseconds rekey_time{14400000}, reauth_time{0}, life_time{0}, rand_time{0};
  std::vector<child_policy> children;  // same order as ike->children
  bool remote_any = false;             // remote_addrs empty or %any: we can only respond
  bool fragmentation_force = false;    // fragmentation = "force": fragment even before IKE_AUTH
  bool mobike = false;                 // stored only; MOBIKE is not implemented yet
  std::string updown;                  // script for IKE SA up/down (aike's own key); "" = none

  const std::string& name() const { return ike->name; }
  const child_policy* find_child(std::string_view child_name) const;
};

struct config {
  std::string path;
  daemon_config daemon;
  std::vector<connection> connections;  // in the order the file defines them
  std::size_t secrets = 0;              // number of [secrets.*] entries

  const connection* find(std::string_view name) const;
};

// Every connection behaves as with `encap = true` (as strongSwan's kernel-libipsec fakes a NAT):
// the userspace ESP backend carries ESP only in UDP on the NAT-T port. Sets daemon.encap_all.
void force_udp_encapsulation(config& cfg);

}  // namespace aike::config
