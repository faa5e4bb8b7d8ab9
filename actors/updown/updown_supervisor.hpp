// The updown supervisor: runs the script a CHILD_SA's (or a connection's) configuration names
// when it goes up or down, with strongSwan's PLUTO_* environment (actors/updown/updown_env.hpp).
// Input is only (event_atom, sa_event), so SA actors never wait for a script: at most
// max_parallel scripts run at once, the rest wait in FIFO order; a script of one CHILD_SA (or
// IKE SA) never starts before the previous script of the same SA finished, so its down always
// follows its up. Each script is killed after `timeout` (SIGTERM, SIGKILL 2 s later).
#pragma once
#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/logger.hpp"
#include "actors/sa_event.hpp"

namespace aike::actors {

namespace updown {
class process_watcher;
struct outcome;
}  // namespace updown

using updone_atom = caf::atom_constant<caf::atom("updone")>;  // watcher -> supervisor: (updone, outcome)

struct updown_job {
  std::uint64_t seq = 0;
  std::uint64_t sa_key = 0;  // which CHILD_SA or IKE SA it belongs to (ordering)
  std::string script;
  std::vector<std::string> env;
  std::string label;  // "up-client net{5} of site[3]"
};

struct updown_state {
  unsigned max_parallel = 8;
  std::chrono::milliseconds timeout{30000};
  log_sink log;
  std::deque<updown_job> queue;                                  // ready to start, FIFO
  std::unordered_map<std::uint64_t, std::deque<updown_job>> held;  // behind a script of the same SA
  std::unordered_set<std::uint64_t> busy;                         // SAs with a script queued or running
  std::unordered_map<std::uint64_t, updown_job> running;          // by seq
  std::size_t held_count = 0;
  std::uint64_t next_seq = 1, started = 0, failed = 0;
  std::unique_ptr<updown::process_watcher> watcher;  // destroyed on exit: kills what still runs
  updown_state();
  ~updown_state();
  static inline const char* name = "updown";
};

// (event_atom, sa_event) -> nothing; (stats_atom) -> (uint64 running, uint64 queued,
// uint64 started, uint64 failed).
caf::behavior updown_supervisor(caf::stateful_actor<updown_state>* self, unsigned max_parallel,
                                std::chrono::milliseconds timeout, log_sink log);

}  // namespace aike::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::actors::updown::outcome)
