#include "actors/updown/updown_supervisor.hpp"

#include <sys/wait.h>

#include <csignal>
#include <cstring>

#include "actors/messages.hpp"
#include "actors/updown/process_watcher.hpp"
#include "actors/updown/updown_env.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<updown_state>*;

std::string label_of(const sa_event& ev, const std::string& verb) {
  std::string sa = ev.connection + "[" + std::to_string(ev.ike_id) + "]";
  if (ev.kind == sa_event_kind::child_up || ev.kind == sa_event_kind::child_down)
    return verb + " " + ev.child + "{" + std::to_string(ev.child_id) + "} of " + sa;
  return verb + " " + sa;
}

// Moves the next script of the same SA (if any) to the ready queue, or marks the SA idle.
void release(self_ptr self, std::uint64_t sa_key) {
  auto& st = self->state;
  auto h = st.held.find(sa_key);
  if (h == st.held.end()) {
    st.busy.erase(sa_key);
    return;
  }
  st.queue.push_back(std::move(h->second.front()));
  h->second.pop_front();
  --st.held_count;
  if (h->second.empty()) st.held.erase(h);
}

void pump(self_ptr self) {
  auto& st = self->state;
  while (st.running.size() < st.max_parallel && !st.queue.empty()) {
    updown_job job = std::move(st.queue.front());
    st.queue.pop_front();
    auto err = st.watcher->start(job.seq, job.script, job.env, st.timeout);
    if (!err.empty()) {
      ++st.failed;
      st.log(level::error, job.label + ": " + err);
      release(self, job.sa_key);
      continue;
    }
    ++st.started;
    st.log(level::debug, job.label + ": started " + job.script);
    st.running.emplace(job.seq, std::move(job));
  }
}

void finished(self_ptr self, updown::outcome& o) {
  auto& st = self->state;
  auto it = st.running.find(o.seq);
  if (it == st.running.end()) return;
  updown_job job = std::move(it->second);
  st.running.erase(it);
  std::string how;
  bool ok = false;
  if (o.timed_out) {
    how = "timed out after " + std::to_string(st.timeout.count()) + " ms, killed";
  } else if (WIFEXITED(o.status)) {
    ok = WEXITSTATUS(o.status) == 0;
    how = "exit status " + std::to_string(WEXITSTATUS(o.status));
  } else if (WIFSIGNALED(o.status)) {
    how = std::string("killed by signal ") + strsignal(WTERMSIG(o.status));
  } else {
    how = "ended (status unknown)";
  }
  if (!ok) ++st.failed;
  bool has_output = !o.output.empty();
  level lv = ok ? (has_output ? level::info : level::debug) : level::warning;
  st.log(lv, job.label + ": " + how + " (" + std::to_string(o.elapsed_ms) + " ms)" +
                 (has_output ? ", output:" : ""));
  if (has_output && st.log.enabled(lv)) {
    std::size_t pos = 0;
    while (pos < o.output.size()) {
      auto nl = o.output.find('\n', pos);
      if (nl == std::string::npos) nl = o.output.size();
      if (nl > pos) st.log(lv, job.label + ": | " + o.output.substr(pos, nl - pos));
      pos = nl + 1;
    }
    if (o.truncated) st.log(lv, job.label + ": | (output cut after " +
                                    std::to_string(updown::process_watcher::output_limit) + " bytes)");
  }
  release(self, job.sa_key);
  pump(self);
}

}  // namespace

updown_state::updown_state() = default;
updown_state::~updown_state() = default;

caf::behavior updown_supervisor(caf::stateful_actor<updown_state>* self, unsigned max_parallel,
                                std::chrono::milliseconds timeout, log_sink log) {
  auto& st = self->state;
  st.max_parallel = std::max(1u, max_parallel);
  st.timeout = timeout;
  st.log = std::move(log);
  // The watcher holds only a weak reference: it must not keep the actor alive.
  caf::actor_addr addr = self->address();
  st.watcher = std::make_unique<updown::process_watcher>([addr](updown::outcome o) {
    if (auto me = caf::actor_cast<caf::actor>(addr)) caf::anon_send(me, updone_atom::value, std::move(o));
  });
  return {
      [self](event_atom, const sa_event& ev) {
        auto& st = self->state;
        if (ev.updown.empty()) return;
        std::string v = updown::verb(ev);
        if (v.empty()) return;  // rekey events run no script
        bool child = ev.kind == sa_event_kind::child_up || ev.kind == sa_event_kind::child_down;
        updown_job job;
        job.seq = st.next_seq++;
        job.sa_key = child ? (std::uint64_t{1} << 32) | ev.child_id : ev.ike_id;
        job.script = ev.updown;
        job.env = updown::environment(ev, updown::interface_of(ev.local.addr));
        job.label = label_of(ev, v);
        if (st.busy.count(job.sa_key)) {
          st.held[job.sa_key].push_back(std::move(job));
          ++st.held_count;
          return;
        }
        st.busy.insert(job.sa_key);
        st.queue.push_back(std::move(job));
        pump(self);
      },
      [self](updone_atom, updown::outcome& o) { finished(self, o); },
      [self](stats_atom) {
        auto& st = self->state;
        return caf::make_message(static_cast<std::uint64_t>(st.running.size()),
                                 static_cast<std::uint64_t>(st.queue.size() + st.held_count), st.started, st.failed);
      },
  };
}

}  // namespace aike::actors
