// What an IKE SA state machine asks its owner to do. The owner (an actor, or a test) drains
// them after every event: the engine itself never sends, sleeps or touches the kernel.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/common/endpoint.hpp"
#include "engine/sa/child_sa.hpp"

namespace aike::sa {

// child_rekey / child_expire: a CHILD_SA's soft and hard lifetime (the token names the child).
// ike_rekey: the IKE SA's rekey_time; old_ike: retransmission of the DELETE of the IKE SA a rekey
// replaced (or, on the other side, how long that old SA may wait for it); redundant_ike: the same
// for the redundant new IKE SA of a rekey collision (RFC 7296 §2.8.2). ike_reauth: the IKE SA's
// reauth_time (and its retries); ike_expire: its hard life_time.
enum class timer_kind {
  retransmit, dpd, half_open, reassembly, child_rekey, child_expire, ike_rekey, old_ike, redundant_ike,
  ike_reauth, ike_expire
};
const char* to_string(timer_kind k);

enum class log_level { debug, info, warning, error };

struct send_datagram {
  endpoint local;   // port 4500 means: prepend the non-ESP marker (RFC 3948)
  endpoint remote;
  bytes data;       // the IKE message, without marker
};

// Deliver on_timer(kind, token) after `after`; a token that is no longer current is ignored,
// so the owner never needs to cancel anything.
struct arm_timer {
  timer_kind kind;
  std::chrono::milliseconds after;
  std::uint64_t token;
};

// Both directions, keys included. `replaces`: the id of the CHILD_SA this one rekeys (0 = a
// new CHILD_SA); that one is removed later with remove_child{.., rekeyed = true}, so the
// owner installs the new SA before it removes the old (make-before-break).
struct install_child {
  child_sa child;
  std::uint32_t replaces = 0;
};
// Keys wiped. `rekeyed`: the CHILD_SA goes because a rekey replaced it (or it is the redundant
// one of a rekey collision); its traffic continues on the new one, so it is no "down".
struct remove_child {
  child_sa child;
  bool rekeyed = false;
};

// A new CHILD_SA we asked for (IKE_AUTH or CREATE_CHILD_SA) was not created; the IKE SA stays.
// `notify`: the peer's error notify (TS_UNACCEPTABLE, NO_PROPOSAL_CHOSEN, ...), 0 if none.
struct child_create_failed {
  std::string name;
  std::string reason;
  std::uint16_t notify = 0;
};

struct ike_established {};
// The IKE SA was rekeyed (RFC 7296 §2.18): from now on it uses the new SPIs (the owner routes
// the new local SPI to it). The old SPIs stay valid until ike_retired, since the old SA's DELETE
// still goes over them.
struct ike_rekeyed {
  std::uint64_t old_spi_i = 0, old_spi_r = 0, new_spi_i = 0, new_spi_r = 0;
  std::uint64_t old_local_spi = 0, new_local_spi = 0;
};
// The old SA of a rekey is gone: its local SPI no longer belongs to this SA.
struct ike_retired {
  std::uint64_t local_spi = 0;
};
// Another local SPI now belongs to this SA too: the redundant new IKE SA of a rekey collision
// (RFC 7296 §2.8.2), which lives until its DELETE is done, and ends with ike_retired.
struct ike_spi_added {
  std::uint64_t local_spi = 0;
};
// The IKE SA is over; the owner removes it. `peer_dead` is set when retransmissions ran out
// (the owner applies dpd_action); `reason` is one line for the log and the CLI.
struct ike_closed {
  std::string reason;
  bool peer_dead = false;
};

// Reauthentication (RFC 7296 §2.8.3, make-before-break): a CHILD_SA the new IKE SA recreates,
// with the reqid (so the kernel's policies stay valid) and the selectors the old one had.
struct reauth_child {
  std::string name;
  std::uint32_t reqid = 0;
  std::vector<ts::selector> local_ts, remote_ts;
};
// The IKE SA is due for reauthentication (reauth_time, or asked for): the owner starts a new IKE
// SA to the same peer for the same connection, as initiator, with ike_sa_params::reauth set to
// these children; this SA keeps running until that one reports reauth_complete.
struct reauth_due {
  std::vector<reauth_child> children;
};
// This IKE SA reauthenticated the SA `old_id`: it and all its CHILD_SAs are installed, so the
// owner deletes the old SA now (its CHILD_SAs go after the new ones are in).
struct reauth_complete {
  std::uint32_t old_id = 0;
};

// The peer, behind a NAT, now sends from another address or port (its NAT's mapping changed) and
// a message from there passed the integrity check: the SA moved its remote endpoint there (RFC 7296
// §2.23) and sends everything, retransmissions included, to `new_remote` from now on. The owner
// moves the CHILD_SAs' outer destination (ESP in UDP) with it. Only a side that is not behind a
// NAT itself follows its peer like this.
struct remote_moved {
  endpoint old_remote, new_remote;
};

// A datagram was ignored (undecryptable, unexpected message id, malformed); the owner counts
// drops by reason.
struct dropped {
  std::string reason;  // a short category: malformed, integrity, unexpected_message_id, ...
};

struct log_line {
  log_level level;
  std::string text;
};

using action = std::variant<send_datagram, arm_timer, install_child, remove_child, ike_established,
                            ike_closed, dropped, log_line, ike_rekeyed, ike_retired, ike_spi_added, reauth_due,
                            reauth_complete, child_create_failed, remote_moved>;

}  // namespace aike::sa
