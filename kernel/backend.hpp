// One interface for the places CHILD_SAs are installed: the kernel's XFRM, aike's own userspace
// ESP data plane, or nowhere (null). Only the kernel actor calls a backend, so an
// implementation needs no locking; a slow call never blocks an IKE SA actor.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/common/result.hpp"
#include "engine/sa/child_sa.hpp"

namespace aike::kernel {

// Soft and hard limits of one SA; 0 = no limit. The soft limit asks for a rekey, the hard one
// ends the SA (the kernel reports both as expire events).
struct sa_lifetime {
  std::uint64_t soft_bytes = 0, hard_bytes = 0;
  std::uint64_t soft_packets = 0, hard_packets = 0;
  std::uint64_t soft_seconds = 0, hard_seconds = 0;  // since the SA was added
};

// Everything needed to install one CHILD_SA (both directions and its policies).
struct child_install {
  std::uint32_t ike_id = 0;
  std::string connection;
  sa::child_sa child;  // SPIs, keys, proposal, selectors, mode, encap, reqid
  endpoint local;      // outer addresses (and ports, for UDP encapsulation)
  endpoint remote;
  sa_lifetime lifetime;             // the same limits for both directions
  unsigned replay_window = 32;      // packets; 0 = no replay protection
  // XFRM marks (mask 0 = none), %unique already resolved: mark_in on the inbound SA and the in/fwd
  // policies, mark_out on the outbound SA and the out policies.
  struct mark {
    std::uint32_t value = 0, mask = 0;
  };
  mark mark_in, mark_out;
};

// A trap (start_action = "trap"): outbound policies for a CHILD_SA's selectors whose template
// finds no SA, so the first packet makes the kernel send an acquire and aiked negotiates the
// CHILD_SA. The reqid identifies the trap in the acquire.
struct trap_install {
  std::string connection, child;
  std::uint32_t reqid = 0;
  ip_address local, remote;  // outer addresses of the tunnel
  std::vector<ts::selector> local_ts, remote_ts;
  sa::child_mode mode = sa::child_mode::tunnel;
  // The child's mark_out when it is a fixed value/mask (mask 0 = none), so the trap and the
  // CHILD_SA's out policy catch the same packets and the CHILD_SA's policy replaces the trap.
  child_install::mark mark_out;
};

// What a backend reports it holds (keys left out).
struct installed_child {
  std::uint32_t ike_id = 0;
  std::uint32_t child_id = 0;
  std::string connection;
  std::string name;
  std::uint32_t reqid = 0;
  std::uint32_t spi_in = 0, spi_out = 0;
  std::vector<ts::selector> local_ts, remote_ts;
  bool encap = false;
  endpoint local, remote;
  std::string kernel_error;  // "" = fully installed; else why the SAs are missing (policies stay)
  // Data-plane counters, from backends that move packets themselves (userspace); the others leave
  // has_counters false (the kernel's own counters are read with `ip xfrm state`).
  bool has_counters = false;
  std::uint64_t packets_in = 0, bytes_in = 0;    // accepted inbound (inner octets)
  std::uint64_t packets_out = 0, bytes_out = 0;  // sent outbound (inner octets)
  std::uint64_t replay_drops = 0, auth_failures = 0;
  std::uint64_t other_drops = 0;  // malformed, bad padding, sequence exhausted, hard lifetime
};

// What a backend lists for a CHILD_SA it was given (keys left out).
installed_child describe(const child_install& c);

class backend {
 public:
  virtual ~backend() = default;
  virtual const char* name() const = 0;
  virtual status install(const child_install& c) = 0;
  // Removes the SAs and policies of one CHILD_SA; removing what is not there is not an error.
  virtual status remove(std::uint32_t child_id) = 0;
  virtual std::vector<installed_child> list() const = 0;
  // Warnings an install() left for the log (e.g. policies shared under another CHILD_SA's reqid).
  virtual std::vector<std::string> take_warnings() { return {}; }
  // Traps: only a kernel backend can catch packets before an SA exists.
  virtual status install_trap(const trap_install& t) {
    return make_error(errc::unsupported, std::string("the ") + name() + " backend cannot install trap policies (" +
                                             "start_action = \"trap\" of " + t.connection + "/" + t.child + ")");
  }
  virtual status remove_trap(std::uint32_t /*reqid*/) { return ok_v; }
  // Inbound SPIs reserved in the kernel ahead of time (XFRM_MSG_ALLOCSPI): only a kernel backend
  // can. reserve_spi makes a larval state to `local` (reqid: one of aike's, unique per call);
  // release_spi removes one that was not used (install() consumes the used ones).
  virtual bool reserves_spis() const { return false; }
  virtual result<std::uint32_t> reserve_spi(const ip_address& /*local*/, std::uint32_t /*reqid*/) {
    return make_error(errc::unsupported, std::string("the ") + name() + " backend does not reserve SPIs");
  }
  virtual void release_spi(const ip_address& /*local*/, std::uint32_t /*spi*/) {}
  // The kernel moved the SAs and policies of a CHILD_SA (by reqid) from one pair of outer addresses
  // to another (XFRM MIGRATE): the backend updates what it keeps about them, so that removing the
  // CHILD_SA later finds them. Returns how many CHILD_SAs it updated.
  virtual std::uint32_t note_migrate(std::uint32_t /*reqid*/, const ip_address& /*old_local*/,
                                     const ip_address& /*old_remote*/, const ip_address& /*new_local*/,
                                     const ip_address& /*new_remote*/) {
    return 0;
  }
  // The peer of an installed CHILD_SA moved (RFC 7296 §2.23, its NAT's mapping changed): `c` is the
  // CHILD_SA as installed (same id, SPIs, keys) with c.remote its new outer endpoint. The backend
  // sends ESP in UDP there from now on. Default: nothing to move (ok).
  virtual status update_remote(const child_install& /*c*/) { return ok_v; }
  // The CHILD_SAs (child ids) whose SAs and policies the kernel knows by `reqid` (the reqid a
  // kernel MIGRATE or expire names). A backend that shares policies between CHILD_SAs under one
  // kernel reqid (XFRM) answers by that; the default: the CHILD_SAs listed with that reqid.
  virtual std::vector<std::uint32_t> children_with_kernel_reqid(std::uint32_t reqid) const {
    std::vector<std::uint32_t> out;
    for (const auto& c : list())
      if (c.reqid == reqid) out.push_back(c.child_id);
    return out;
  }
  // Clean-up a backend put off (e.g. the inbound half of a rekeyed SA kept for packets still in
  // flight). Returns how long until it should be called again; 0 = nothing left to do.
  virtual std::chrono::milliseconds purge_retired() { return std::chrono::milliseconds{0}; }
  // Called once before the first install. A kernel backend removes what an earlier run of aike
  // left behind (a crash leaves SAs and policies), or with flush_on_start everything of anyone.
  // Returns lines for the log; an error means the backend cannot work at all.
  virtual result<std::vector<std::string>> start(bool /*flush_on_start*/) { return std::vector<std::string>{}; }
  // A clean stop: removes everything still installed. Backends also do this when destroyed.
  virtual void stop() {}
};

}  // namespace aike::kernel
