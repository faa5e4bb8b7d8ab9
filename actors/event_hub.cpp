#include "actors/event_hub.hpp"

#include <cstdio>
#include <ctime>

#include "actors/control/json_writer.hpp"
#include "actors/messages.hpp"
#include "engine/common/spi_text.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<event_hub_state>*;

std::string stamp(std::int64_t ms) {
  return utc_stamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

bool is_child(sa_event_kind k) {
  return k == sa_event_kind::child_up || k == sa_event_kind::child_down || k == sa_event_kind::child_rekey;
}

std::vector<std::string> strings(const std::vector<ts::selector>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(s.to_string());
  return out;
}

// The logger is tapped only while some monitor wants log lines, and the sinks make lines down to
// the most verbose level any monitor asked for.
void retap(self_ptr self) {
  auto& st = self->state;
  int most = -1;
  for (const auto& [addr, s] : st.subs) most = std::max(most, s.log_level);
  if (st.levels) st.levels->tap_level.store(most, std::memory_order_relaxed);
  bool want = most >= 0;
  if (want == st.tapped || !st.logger) return;
  st.tapped = want;
  self->send(st.logger, tap_atom::value, want ? caf::actor_cast<caf::actor>(self) : caf::actor{});
}

// Keeps the watcher count equal to the subscriptions that want events.
void count_watchers(self_ptr self) {
  auto& st = self->state;
  if (!st.watchers) return;
  int n = 0;
  for (const auto& [addr, s] : st.subs) n += s.events ? 1 : 0;
  st.watchers->monitors.store(n, std::memory_order_relaxed);
}

}  // namespace

std::string describe(const sa_event& ev, bool json) {
  bool child = is_child(ev.kind);
  if (json) {
    json_writer j;
    j.begin_object()
        .field("event", to_string(ev.kind))
        .field("time", stamp(ev.at_ms))
        .field("name", ev.connection)
        .field("id", ev.ike_id)
        .field("local_addr", ev.local.addr.to_string())
        .field("remote_addr", ev.remote.addr.to_string())
        .field("local_id", ev.local_id)
        .field("remote_id", ev.remote_id);
    if (!ev.reason.empty()) j.field("reason", ev.reason);
    if (child) {
      j.key("child")
          .begin_object()
          .field("name", ev.child)
          .field("id", ev.child_id)
          .field("reqid", ev.reqid)
          .field("spi_in", spi_hex(ev.spi_in))
          .field("spi_out", spi_hex(ev.spi_out))
          .field("local_ts", strings(ev.local_ts))
          .field("remote_ts", strings(ev.remote_ts))
          .end_object();
    }
    j.end_object();
    return j.str();
  }
  std::string o = stamp(ev.at_ms) + " " + to_string(ev.kind) + " " + ev.connection + "[" + std::to_string(ev.ike_id) + "]";
  if (child) {
    o += " " + ev.child + "{" + std::to_string(ev.child_id) + "} reqid " + std::to_string(ev.reqid) + " " +
         ts::to_string(ev.local_ts) + " === " + ts::to_string(ev.remote_ts) + " SPIs " + spi_hex(ev.spi_in) + "_i " +
         spi_hex(ev.spi_out) + "_o";
  } else {
    o += " " + ev.local.to_string() + " '" + ev.local_id + "' === " + ev.remote.to_string() + " '" + ev.remote_id + "'";
  }
  if (!ev.reason.empty()) o += " (" + ev.reason + ")";
  return o;
}

caf::behavior event_hub(caf::stateful_actor<event_hub_state>* self, caf::actor updown, caf::actor logger,
                        std::shared_ptr<const log_levels> levels, std::shared_ptr<event_watchers> watchers) {
  auto& st = self->state;
  st.watchers = std::move(watchers);
  st.updown = std::move(updown);
  st.logger = std::move(logger);
  st.levels = std::move(levels);
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.subs.erase(dm.source);
    count_watchers(self);
    retap(self);
  });
  self->attach_functor([lv = st.levels, w = st.watchers] {
    if (lv) lv->tap_level.store(-1, std::memory_order_relaxed);
    if (w) w->monitors.store(0, std::memory_order_relaxed);
  });
  return {
      [self](event_atom, const sa_event& ev) {
        auto& st = self->state;
        // The updown supervisor acts only on events that name a script: the others need no copy.
        if (st.updown && !ev.updown.empty()) self->send(st.updown, event_atom::value, ev);
        std::string text, json;
        for (const auto& [addr, s] : st.subs) {
          if (!s.events) continue;
          auto& line = s.json ? json : text;
          if (line.empty()) line = describe(ev, s.json);
          caf::anon_send(s.client, monitor_atom::value, line);
        }
      },
      [self](log_atom, int lvl, const std::string& line) {
        for (const auto& [addr, s] : self->state.subs) {
          if (lvl > s.log_level) continue;
          if (!s.json) {
            caf::anon_send(s.client, monitor_atom::value, line);
            continue;
          }
          json_writer j;
          j.begin_object().field("event", "log").field("line", line).end_object();
          caf::anon_send(s.client, monitor_atom::value, j.str());
        }
      },
      [self](subscribe_atom, const monitor_subscription& sub) {
        if (!sub.client) return false;
        self->monitor(sub.client);
        self->state.subs[sub.client.address()] = sub;
        count_watchers(self);
        retap(self);
        return true;
      },
  };
}

}  // namespace aike::actors
