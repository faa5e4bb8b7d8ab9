// One actor per IKE SA. It owns the engine's sa::ike_sa and moves its actions out: datagrams to
// the network, timers as delayed messages to itself, CHILD_SAs to the kernel actor, summaries
// and its end to the registry. It holds no protocol logic of its own.
#pragma once
#include <caf/all.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "actors/child_create_waiters.hpp"
#include "actors/event_hub.hpp"
#include "actors/child_rekey_waiters.hpp"
#include "actors/ike_rekey_waiters.hpp"
#include "actors/logger.hpp"
#include "actors/network/udp_io.hpp"
#include "actors/timer_batch.hpp"
#include "engine/sa/ike_sa.hpp"

namespace aike::actors {

// (connection, child name) -> updown script; (connection, "") -> the connection's own script
// for IKE SA events. Fixed when the SA is made, so a reload does not change it.
using updown_scripts = std::map<std::pair<std::string, std::string>, std::string>;

struct ike_sa_init {
  sa::ike_sa_params params;
  bool initiator = false;
  std::string child;  // initiator: the CHILD_SA to bring up with IKE_AUTH (reauthentication: params.reauth_children's first)
  std::uint64_t child_op = 0;  // the registry's operation waiting for that CHILD_SA (0: none)
  caf::actor registry;
  caf::actor kernel;
  caf::actor events;  // receives (event_atom, sa_event); may be invalid
  updown_scripts updown;
  std::shared_ptr<net::udp_io> io;
  std::shared_ptr<timer_batch> timers;  // null: timers as delayed_send (CAF's clock, e.g. virtual time in tests)
  std::shared_ptr<const event_watchers> watchers;  // null: every event is sent
  log_sink log;
};

struct ike_sa_actor_state {
  std::unique_ptr<sa::ike_sa> sa;
  caf::actor registry, kernel, events;
  updown_scripts updown;
  std::set<std::uint32_t> children_up;  // CHILD_SAs whose child_up event was sent
  bool ike_up_sent = false;
  std::shared_ptr<net::udp_io> io;
  std::shared_ptr<timer_batch> timers;
  std::shared_ptr<const event_watchers> watchers;
  log_sink log;
  std::int64_t established_at = 0;
  int kernel_pending = 0;  // removals not yet confirmed by the kernel actor
  bool closed = false;
  bool peer_dead = false;
  std::string reason;
  child_rekey_waiters rekeys;  // CHILD_SA rekeys a bulk `aikectl rekey` waits for
  child_create_waiters creates;  // new CHILD_SAs an initiate waits for
  ike_rekey_waiters ike_rekeys;  // IKE SA rekeys a bulk `aikectl rekey --ike-sas` waits for
  static inline const char* name = "ike_sa";
};

caf::behavior ike_sa_actor(caf::stateful_actor<ike_sa_actor_state>* self, ike_sa_init init);

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::ike_sa_init)
