// The registry: the only place that knows every IKE SA. It routes datagrams by SPI, spawns SA
// actors (for a valid new IKE_SA_INIT, or an initiate), answers COOKIEs once half-open SAs pass
// the threshold, keeps a summary of every SA for listing, and runs bulk operations by sending
// plain messages and counting what comes back. It never waits on an SA.
#pragma once
#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "actors/event_hub.hpp"
#include "actors/logger.hpp"
#include "actors/messages.hpp"
#include "actors/network/udp_io.hpp"
#include "actors/timer_batch.hpp"
#include "config/config.hpp"
#include "engine/sa/cookie.hpp"
#include "engine/sa/summary.hpp"

namespace aike::actors {

struct registry_entry {
  caf::actor handle;
  sa::ike_summary summary;
  std::string connection;
  std::string child;              // the child an initiator brings up (for restarts)
  bool initiator = false;
  bool half_open = true;          // counted in half_open until established
  unsigned attempt = 1;           // initiators: which try of keyingtries this is
  std::pair<std::uint64_t, std::string> init_key;  // responder: (SPIi, remote) of its IKE_SA_INIT
  std::uint32_t reauth_of = 0;    // this SA reauthenticates that one (make-before-break)
};

// A bulk operation in progress: which SAs (or CHILD_SAs) it still waits for.
struct bulk_op {
  // create_child: an initiate that waits for its CHILD_SAs (on a new or an existing IKE SA).
  enum class kind { initiate, terminate_ike, terminate_child, rekey_child, create_child, rekey_ike } what = kind::terminate_ike;
  std::set<std::uint32_t> pending;                          // IKE SA ids
  std::map<std::uint32_t, std::set<std::uint32_t>> children;  // terminate_child, rekey_child: IKE id -> child ids
  bool all = false;       // terminate --all: SAs that appear meanwhile are terminated too
  bool force = false;
  bulk_result result;
  caf::response_promise promise;
  caf::actor progress;  // aikectl's actor for "done / total" lines (invalid: none wanted)
  std::chrono::steady_clock::time_point progress_at{};
  // initiate --count: at most `initiate_window` SAs are being set up at once; the rest wait here,
  // so a large count neither floods the peer's half-open limits nor times out its own SAs.
  std::uint32_t remaining = 0;
  std::shared_ptr<const sa::connection> conn;
  endpoint local, remote;
  std::string child;
  std::vector<std::string> child_names;  // create_child: the CHILD_SAs still waited for
};

// SAs one initiate --count keeps in IKE_SA_INIT/IKE_AUTH at once.
inline constexpr std::size_t initiate_window = 1000;

struct registry_state {
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<net::udp_io> io;
  caf::actor kernel;
  caf::actor events;  // SA actors send their (event_atom, sa_event) here
  std::shared_ptr<timer_batch> timers;  // the SA actors' timers; null: CAF's clock
  std::shared_ptr<const event_watchers> watchers;  // null: SA actors send every event
  log_sink log;
  std::unordered_map<std::uint32_t, registry_entry> sas;
  std::unordered_map<std::uint64_t, std::uint32_t> by_spi;  // our IKE SPI -> id
  std::map<std::pair<std::uint64_t, std::string>, std::uint32_t> by_init;  // half-open responders
  std::size_t half_open = 0;
  std::uint32_t next_id = 1;
  std::uint64_t next_op = 1;
  std::map<std::uint64_t, bulk_op> ops;
  sa::cookie_jar cookies;
  std::uint64_t messages_in = 0;
  std::uint64_t cookies_sent = 0;
  std::map<std::string, std::uint64_t> drops;
  std::uint64_t drops_logged_at = 0;  // total drops when the last drop line was logged
  std::map<std::uint32_t, kernel::trap_install> traps;  // trap reqid -> what was installed
  std::unordered_map<std::uint32_t, std::uint32_t> reauths;  // reauthentications under way: old id -> new id
  static inline const char* name = "registry";
};

caf::behavior registry_actor(caf::stateful_actor<registry_state>* self, std::shared_ptr<const config::config> cfg,
                             std::shared_ptr<net::udp_io> io, caf::actor kernel, log_sink log,
                             caf::actor events = {}, std::shared_ptr<timer_batch> timers = {},
                             std::shared_ptr<const event_watchers> watchers = {});

}  // namespace aike::actors
