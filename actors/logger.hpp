// Logging for aiked: one logger actor writes lines (stderr, optional file); every other actor
// holds a `log_sink` that filters by subsystem level before sending, so a line below the
// configured level costs nothing. Levels are fixed when the sink is made (from the config).
#pragma once
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace aike::actors {

enum class level { error = 0, warning = 1, info = 2, debug = 3 };
enum class subsystem { daemon, ike, net, cfg, knl, updown, ctl };
const char* name_of(level l);
const char* name_of(subsystem s);
bool parse_level(const std::string& s, level& out);
bool parse_subsystem(const std::string& s, subsystem& out);

struct log_levels {
  level fallback = level::info;
  std::map<subsystem, level> by_subsystem;
  // The most verbose level a connected `aikectl monitor --log` asked for (-1: none). Lines up to
  // it are made even when the configured level would skip them, and reach only the monitor.
  mutable std::atomic<int> tap_level{-1};
  level of(subsystem s) const;
  bool logged(subsystem s, level l) const { return l <= of(s); }
};

class log_sink {
 public:
  log_sink() = default;
  log_sink(caf::actor logger, std::shared_ptr<const log_levels> levels, subsystem sys, std::string context = {})
      : logger_(std::move(logger)), levels_(std::move(levels)), sys_(sys), context_(std::move(context)) {}
  bool enabled(level l) const {
    return levels_ && (l <= levels_->of(sys_) || static_cast<int>(l) <= levels_->tap_level.load(std::memory_order_relaxed));
  }
  void operator()(level l, const std::string& text) const;
  // The same sink for another subsystem or with a context prefix such as "site[12]".
  log_sink with(subsystem sys, std::string context = {}) const { return {logger_, levels_, sys, std::move(context)}; }

 private:
  caf::actor logger_;
  std::shared_ptr<const log_levels> levels_;
  subsystem sys_ = subsystem::daemon;
  std::string context_;
};

// "2026-11-29T03:27:20.123Z": how log lines and monitor events show time (UTC, milliseconds).
std::string utc_stamp(std::chrono::system_clock::time_point t);

// Where the logger writes: stderr ("2026-11-29T03:27:20.123Z INFO  [ike] site[3]: text"), or
// the systemd journal (priority by level; fields AIKE_SUBSYSTEM, AIKE_CONNECTION, AIKE_SA_ID).
enum class log_target { stderr_, journal };
// systemd connected our stderr to the journal (JOURNAL_STREAM names stderr's device and inode).
bool stderr_is_journal();

// Message: (log, int level, bool write, int subsystem, context, text) — `write` is false for a
// line made only for a monitor. `(tap, actor)` names an actor that gets every line as
// (log, int level, stamped line). A `file`, if given, gets every written line as well.
caf::behavior logger_actor(caf::event_based_actor* self, std::string file, log_target target);

}  // namespace aike::actors
