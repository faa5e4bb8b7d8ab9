// The messages actors exchange inside aiked. Atoms name the operation; payload types that never
// leave the process are allowed as "unsafe" (not serializable), and only the control protocol's
// plain strings and integers cross TCP.
#pragma once
#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/control/control_protocol.hpp"
#include "actors/network/udp_io.hpp"
#include "actors/sa_event.hpp"
#include "engine/sa/summary.hpp"
#include "config/config.hpp"
#include "kernel/backend.hpp"
#include "kernel/xfrm_events.hpp"

namespace aike::actors {

// --- datagrams, timers, SA life cycle ---
using dgram_atom = caf::atom_constant<caf::atom("dgram")>;        // (dgram, net::datagram)
using timer_atom = caf::atom_constant<caf::atom("timer")>;        // (timer, int kind, uint64 token)
// to an SA: (initiate, child, uint64 op) creates a CHILD_SA on it (after establishment); the
// registry gets (childmade, op, ike id, child, bool ok, std::string error) once it is installed or failed
using initiate_atom = caf::atom_constant<caf::atom("initiate")>;
// to the registry: (initiate, connection, child, uint32 count, ...). count = initiate_one: one IKE
// SA, or only a CHILD_SA when an IKE SA of the connection to that peer exists (swanctl --initiate);
// count N >= 1 (aikectl initiate --count N): N new, independent IKE SAs.
inline constexpr std::uint32_t initiate_one = 0;
using child_made_atom = caf::atom_constant<caf::atom("childmade")>;
using terminate_atom = caf::atom_constant<caf::atom("terminate")>;  // to an SA: (terminate, bool force)
using child_del_atom = caf::atom_constant<caf::atom("childdel")>;   // to an SA: (childdel, child id)
// to an SA: (rekey, child id); registry: (rekey, filter) -> bulk_result
// to an SA: (rekey, child id, uint64 op) -> the registry gets (rekeyed, op, ike id, child id, bool ok,
// std::string error) when that rekey completed or failed
using rekey_atom = caf::atom_constant<caf::atom("rekey")>;
using rekeyed_atom = caf::atom_constant<caf::atom("rekeyed")>;
// Reauthentication (make-before-break): registry -> SA: (reauth) reauthenticate now;
// SA -> registry: (reauth, old id, sa::reauth_due) start the new IKE SA;
// new SA -> registry: (reauth, old id, new id) it is complete, delete the old one;
// control -> registry: (reauth, filter) -> bulk_result counting the IKE SAs asked.
using reauth_atom = caf::atom_constant<caf::atom("reauth")>;
// to an SA: (rekeyike, uint64 op) rekeys the IKE SA itself -> the registry gets (rekeyed, op, ike id,
// child id 0, ok, error) once the new IKE SA is in use and the old one deleted, or it failed;
// registry: (rekeyike, filter, timeout ms, block[, progress]) -> bulk_result counting IKE SAs
using rekey_ike_atom = caf::atom_constant<caf::atom("rekeyike")>;
using update_atom = caf::atom_constant<caf::atom("saupdate")>;    // SA -> registry: (saupdate, sa::ike_summary)
// SA -> registry after an IKE SA rekey: (ikespi, id, local SPI, bool add) routes (add) or stops
// routing (remove) that IKE SPI to the SA.
using ike_spi_atom = caf::atom_constant<caf::atom("ikespi")>;
using gone_atom = caf::atom_constant<caf::atom("sagone")>;        // SA -> registry: (sagone, id, reason, peer_dead)
using drop_atom = caf::atom_constant<caf::atom("drop")>;          // (drop, reason)
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;    // registry: (timeout, op id)
using event_atom = caf::atom_constant<caf::atom("saevent")>;      // SA -> event hub -> updown, monitor: (saevent, sa_event)

// --- kernel actor ---
using install_atom = caf::atom_constant<caf::atom("install")>;  // (install, kernel::child_install) -> (ok|error string)
using remove_atom = caf::atom_constant<caf::atom("remove")>;    // (remove, child id) -> ok
using purge_atom = caf::atom_constant<caf::atom("purge")>;      // kernel actor to itself: put-off clean-up
using list_atom = caf::atom_constant<caf::atom("list")>;        // registry: (list, filter) -> snapshots; kernel: (list) -> children
// main -> registry: (trap) installs the traps of start_action = "trap" children;
// registry -> kernel: (trap, kernel::trap_install) -> (bool ok, std::string error);
// (trap, remove, uint32 reqid) removes one trap's policies (no reply)
using trap_atom = caf::atom_constant<caf::atom("trap")>;
using kevent_atom = caf::atom_constant<caf::atom("kevent")>;  // XFRM listener -> registry: (kevent, kernel::xfrm_event)
// registry -> kernel: (migrate, reqid, old local, old remote, new local, new remote), no reply;
// registry -> SA: (migrate, new local, new remote) after a kernel MIGRATE moved its tunnel endpoints
// spi_pool -> kernel: (spi, ip_address local) tops up kernel-reserved SPIs for local; kernel to
// itself: (spi) refreshes every address's reservations (actors/spi_pool.hpp)
using spi_atom = caf::atom_constant<caf::atom("spi")>;
using migrate_atom = caf::atom_constant<caf::atom("migrate")>;
// SA -> kernel: (remotemv, kernel::child_install) the CHILD_SA's peer moved to c.remote (RFC 7296
// §2.23, NAT mapping change); no reply, the kernel actor logs the outcome
using remote_moved_atom = caf::atom_constant<caf::atom("remotemv")>;

// --- logging ---
using log_atom = caf::atom_constant<caf::atom("log")>;  // (log, int level, bool write, std::string line)
using tap_atom = caf::atom_constant<caf::atom("tap")>;  // to the logger: (tap, actor) gets every line

// --- control (crosses TCP: only strings and integers) ---
// (see control_protocol.hpp for what crosses TCP)
using control::ctl_atom;
using control::monitor_atom;
using control::progress_atom;
// (stats) -> registry_stats from the registry; -> (uint64 running, uint64 queued, uint64 started,
// uint64 failed) from the updown supervisor.
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;  // to the event hub
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
// Reload: SIGHUP (main -> control): (reload). control -> registry: (cfg, shared_ptr<const
// config::config>, uint32 timeout ms) -> bulk_result counting the SAs of removed connections.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
using cfg_atom = caf::atom_constant<caf::atom("cfg")>;

// Which SAs a bulk operation addresses.
struct sa_filter {
  enum class by { all, ike_name, ike_id, child_name, child_id } kind = by::all;
  std::string name;
  std::uint32_t id = 0;
};

// Registry -> control: the outcome of a bulk operation.
struct bulk_result {
  std::size_t matched = 0;    // SAs the operation addressed
  std::size_t completed = 0;  // SAs that really ended (or came up, for initiate)
  std::size_t failed = 0;
  std::vector<std::string> not_done;  // "site[12]" of those that did not finish in time
  std::vector<std::string> errors;
};

struct registry_stats {
  std::size_t ike_sas = 0, ike_sas_established = 0, half_open = 0, child_sas = 0;
  std::uint64_t messages_in = 0, messages_out = 0, cookies_sent = 0;
  std::map<std::string, std::uint64_t> drops;
  std::map<std::string, std::size_t> by_state;
};

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::net::datagram)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::kernel::child_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::kernel::trap_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::kernel::xfrm_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::ip_address)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::sa::ike_summary)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::sa::reauth_due)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<aike::sa::ike_summary>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::sa_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::bulk_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::registry_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<aike::kernel::installed_child>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const aike::config::config>)
