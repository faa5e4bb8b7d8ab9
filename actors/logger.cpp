#include "actors/logger.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "actors/messages.hpp"

namespace aike::actors {

const char* name_of(level l) {
  switch (l) {
    case level::error: return "ERROR";
    case level::warning: return "WARN ";
    case level::info: return "INFO ";
    case level::debug: return "DEBUG";
  }
  return "?";
}

const char* name_of(subsystem s) {
  switch (s) {
    case subsystem::daemon: return "dmn";
    case subsystem::ike: return "ike";
    case subsystem::net: return "net";
    case subsystem::cfg: return "cfg";
    case subsystem::knl: return "knl";
    case subsystem::updown: return "updown";
    case subsystem::ctl: return "ctl";
  }
  return "?";
}

bool parse_level(const std::string& s, level& out) {
  if (s == "error") out = level::error;
  else if (s == "warning" || s == "warn") out = level::warning;
  else if (s == "info") out = level::info;
  else if (s == "debug") out = level::debug;
  else return false;
  return true;
}

bool parse_subsystem(const std::string& s, subsystem& out) {
  static const std::pair<const char*, subsystem> names[] = {
      {"daemon", subsystem::daemon}, {"ike", subsystem::ike}, {"net", subsystem::net},     {"cfg", subsystem::cfg},
      {"knl", subsystem::knl},       {"updown", subsystem::updown}, {"ctl", subsystem::ctl}};
  for (const auto& [n, v] : names)
    if (s == n) {
      out = v;
      return true;
    }
  return false;
}

level log_levels::of(subsystem s) const {
  auto it = by_subsystem.find(s);
  return it == by_subsystem.end() ? fallback : it->second;
}

void log_sink::operator()(level l, const std::string& text) const {
  if (!enabled(l) || !logger_) return;
  caf::anon_send(logger_, log_atom::value, static_cast<int>(l), levels_->logged(sys_, l), static_cast<int>(sys_),
                 context_, text);
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char b[64];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return b;
}

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

namespace {

std::string compose(int lvl, int sub, const std::string& context, const std::string& text) {
  std::string line;
  line.reserve(text.size() + context.size() + 16);
  line += name_of(static_cast<level>(lvl));
  line += " [";
  line += name_of(static_cast<subsystem>(sub));
  line += "] ";
  if (!context.empty()) {
    line += context;
    line += ": ";
  }
  line += text;
  return line;
}

int syslog_priority(int lvl) {
  switch (static_cast<level>(lvl)) {
    case level::error: return LOG_ERR;
    case level::warning: return LOG_WARNING;
    case level::info: return LOG_INFO;
    case level::debug: return LOG_DEBUG;
  }
  return LOG_INFO;
}

// "site[12]" -> connection "site", SA id "12"; anything else is only the connection.
void journal_send(int lvl, int sub, const std::string& context, const std::string& text) {
  std::string conn = context, id;
  auto open = context.rfind('[');
  if (open != std::string::npos && !context.empty() && context.back() == ']') {
    conn = context.substr(0, open);
    id = context.substr(open + 1, context.size() - open - 2);
  }
  std::string msg = context.empty() ? text : context + ": " + text;
  if (conn.empty())
    sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%d", syslog_priority(lvl), "AIKE_SUBSYSTEM=%s",
                    name_of(static_cast<subsystem>(sub)), "SYSLOG_IDENTIFIER=aiked", nullptr);
  else if (id.empty())
    sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%d", syslog_priority(lvl), "AIKE_SUBSYSTEM=%s",
                    name_of(static_cast<subsystem>(sub)), "AIKE_CONNECTION=%s", conn.c_str(), "SYSLOG_IDENTIFIER=aiked",
                    nullptr);
  else
    sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%d", syslog_priority(lvl), "AIKE_SUBSYSTEM=%s",
                    name_of(static_cast<subsystem>(sub)), "AIKE_CONNECTION=%s", conn.c_str(), "AIKE_SA_ID=%s",
                    id.c_str(), "SYSLOG_IDENTIFIER=aiked", nullptr);
}

}  // namespace

caf::behavior logger_actor(caf::event_based_actor* self, std::string file, log_target target) {
  std::FILE* out = nullptr;
  if (!file.empty()) out = std::fopen(file.c_str(), "a");
  self->attach_functor([out] {
    if (out) std::fclose(out);
  });
  auto tap = std::make_shared<caf::actor>();
  return {
      [tap](tap_atom, caf::actor a) { *tap = std::move(a); },
      [out, tap, target](log_atom, int lvl, bool write, int sub, const std::string& context, const std::string& text) {
        if (!*tap && !write) return;
        std::string stamp = utc_stamp(std::chrono::system_clock::now());
        std::string line = compose(lvl, sub, context, text);
        if (*tap) caf::anon_send(*tap, log_atom::value, lvl, stamp + " " + line);
        if (!write) return;
        if (target == log_target::journal)
          journal_send(lvl, sub, context, text);
        else
          std::fprintf(stderr, "%s %s\n", stamp.c_str(), line.c_str());
        if (out) {
          std::fprintf(out, "%s %s\n", stamp.c_str(), line.c_str());
          std::fflush(out);
        }
      },
  };
}

}  // namespace aike::actors
