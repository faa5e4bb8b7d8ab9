// The event hub counts the monitors that want SA events (SA actors build events only then), answers
// a subscription once it is counted, and forwards events to those monitors.
#include "actors/event_hub.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "actors/control/control_protocol.hpp"
#include "actors/messages.hpp"

namespace {

using namespace aike::actors;

caf::actor_system_config& sharing(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  return cfg;
}

bool subscribe(caf::actor_system& sys, const caf::actor& hub, const monitor_subscription& sub) {
  caf::scoped_actor self{sys};
  bool answer = false;
  self->request(hub, std::chrono::seconds(10), subscribe_atom::value, sub)
      .receive([&](bool ok) { answer = ok; }, [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
  return answer;
}

// Waits (up to 10 s) until the count is `want`: the hub learns of a monitor's end asynchronously.
bool count_becomes(const event_watchers& w, int want) {
  for (int i = 0; i < 1000; ++i) {
    if (w.monitors.load() == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(EventHub, CountsMonitorsThatWantEventsAndForgetsEndedOnes) {
  caf::actor_system_config cfg;
  caf::actor_system sys{sharing(cfg)};
  auto watchers = std::make_shared<event_watchers>();
  auto hub = sys.spawn(event_hub, caf::actor{}, caf::actor{}, std::shared_ptr<const log_levels>{}, watchers);
  EXPECT_FALSE(watchers->any());

  auto events_client = std::make_unique<caf::scoped_actor>(sys);
  caf::scoped_actor log_client{sys};
  monitor_subscription wants_events;
  wants_events.client = *events_client;
  monitor_subscription only_logs;
  only_logs.client = log_client;
  only_logs.events = false;
  only_logs.log_level = 2;

  ASSERT_TRUE(subscribe(sys, hub, only_logs));
  EXPECT_EQ(watchers->monitors.load(), 0) << "a log-only monitor wants no SA events";
  ASSERT_TRUE(subscribe(sys, hub, wants_events));
  EXPECT_EQ(watchers->monitors.load(), 1) << "counted before the subscription is answered";
  ASSERT_TRUE(subscribe(sys, hub, wants_events));
  EXPECT_EQ(watchers->monitors.load(), 1) << "the same client subscribing again is one monitor";

  // An event reaches the monitor that wants events, formatted as `aikectl monitor` prints it.
  sa_event ev;
  ev.kind = sa_event_kind::ike_up;
  ev.connection = "site";
  ev.ike_id = 7;
  caf::anon_send(hub, event_atom::value, ev);
  std::string line;
  (*events_client)->receive([&](aike::control::monitor_atom, const std::string& l) { line = l; },
                         caf::after(std::chrono::seconds(10)) >> [] { ADD_FAILURE() << "no event line"; });
  EXPECT_NE(line.find("site[7]"), std::string::npos) << line;

  // A subscription without a client is refused and counts nothing.
  EXPECT_FALSE(subscribe(sys, hub, monitor_subscription{}));
  EXPECT_EQ(watchers->monitors.load(), 1);

  // The monitor's actor ends (its connection closed): no one wants events any more.
  wants_events = {};
  events_client.reset();
  EXPECT_TRUE(count_becomes(*watchers, 0));
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
}

}  // namespace
