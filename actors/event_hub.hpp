// The event hub: where IKE SA actors report what happened (sa_event). It hands every event to the
// updown supervisor and, formatted, to each connected `aikectl monitor`; while a monitor wants log
// lines it taps the logger. SA actors send one message and never learn who listens.
#pragma once
#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>

#include "actors/logger.hpp"
#include "actors/sa_event.hpp"

namespace aike::actors {

struct monitor_subscription {
  caf::actor client;   // aikectl's actor (a proxy over TCP); only ever sent to anonymously
  bool events = true;  // ike/child up, down, rekey
  int log_level = -1;  // lines up to this level (-1: none)
  bool json = false;   // one JSON object per line
};

struct event_hub_state {
  caf::actor updown;  // may be invalid: no supervisor
  caf::actor logger;
  std::shared_ptr<const log_levels> levels;
  std::map<caf::actor_addr, monitor_subscription> subs;
  bool tapped = false;
  static inline const char* name = "event_hub";
};

// Messages: (saevent, sa_event); (subscribe, monitor_subscription); (log, int level, line) from the
// logger's tap. A subscriber that goes away (its connection closes) is dropped.
caf::behavior event_hub(caf::stateful_actor<event_hub_state>* self, caf::actor updown, caf::actor logger,
                        std::shared_ptr<const log_levels> levels);

// One line describing an event, as `aikectl monitor` prints it (text or a JSON object).
std::string describe(const sa_event& ev, bool json);

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::monitor_subscription)
