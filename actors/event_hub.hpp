// The event hub: where IKE SA actors report what happened (sa_event). It hands every event to the
// updown supervisor and, formatted, to each connected `aikectl monitor`; while a monitor wants log
// lines it taps the logger. SA actors send one message and never learn who listens.
#pragma once
#include <caf/all.hpp>

#include <atomic>
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

// How many `aikectl monitor` clients want SA events. An SA actor builds an event (a dozen strings
// and selector lists) only when the event names an updown script or this count is not zero.
struct event_watchers {
  std::atomic<int> monitors{0};
  bool any() const { return monitors.load(std::memory_order_relaxed) > 0; }
};

struct event_hub_state {
  caf::actor updown;  // may be invalid: no supervisor
  caf::actor logger;
  std::shared_ptr<const log_levels> levels;
  std::shared_ptr<event_watchers> watchers;  // may be null
  std::map<caf::actor_addr, monitor_subscription> subs;
  bool tapped = false;
  static inline const char* name = "event_hub";
};

// Messages: (saevent, sa_event); (subscribe, monitor_subscription) -> bool, answered once counted;
// (log, int level, line) from the
// logger's tap. A subscriber that goes away (its connection closes) is dropped.
caf::behavior event_hub(caf::stateful_actor<event_hub_state>* self, caf::actor updown, caf::actor logger,
                        std::shared_ptr<const log_levels> levels, std::shared_ptr<event_watchers> watchers = {});

// One line describing an event, as `aikectl monitor` prints it (text or a JSON object).
std::string describe(const sa_event& ev, bool json);

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::monitor_subscription)
