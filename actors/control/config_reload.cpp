#include "actors/control/config_reload.hpp"

#include <vector>

#include "actors/control/json_writer.hpp"
#include "actors/messages.hpp"
#include "config/reload_plan.hpp"

namespace aike::actors {
namespace {

constexpr std::int32_t exit_ok = 0, exit_failed = 1;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void problems_json(json_writer& j, const char* name, const std::vector<config::problem>& list) {
  j.key(name).begin_array();
  for (const auto& p : list)
    j.begin_object()
        .field("file", p.file)
        .field("line", p.line)
        .field("column", p.column)
        .field("key", p.key)
        .field("message", p.message)
        .end_object();
  j.end_array();
}

std::vector<std::string> warning_lines(const std::vector<config::problem>& warnings) {
  std::vector<std::string> out;
  for (const auto& w : warnings) out.push_back(w.to_warning_string());
  return out;
}

// A file with problems: nothing changes, every problem goes back.
void refuse(const log_sink& log, const std::string& path, const config::load_result& loaded, bool json,
            const reload_done& done) {
  std::string summary = "reload of " + path + " refused: " + std::to_string(loaded.problems.size()) +
                        " problem(s) in the configuration; nothing was changed";
  for (const auto& p : loaded.problems) log(level::warning, "reload: " + p.to_string());
  log(level::warning, summary);
  if (json) {
    json_writer j;
    j.begin_object().field("ok", false).field("file", path);
    problems_json(j, "problems", loaded.problems);
    problems_json(j, "warnings", loaded.warnings);
    j.end_object();
    done(exit_failed, j.str() + "\n");
    return;
  }
  std::string text;
  for (const auto& p : loaded.problems) text += p.to_string() + "\n";
  for (const auto& w : warning_lines(loaded.warnings)) text += w + "\n";
  done(exit_failed, text + summary + "\n");
}

// What the caller is told once the registry has the config (and the removed SAs are gone).
struct reload_report {
  std::string path;
  std::size_t connections = 0;
  std::size_t credentials = 0;  // entries of the credential cache after the reload (each stored once)
  config::reload_plan plan;  // its `effective` member is moved out: only the name lists are used
  std::vector<std::string> started, warnings;
};

std::string report_text(const reload_report& r, const bulk_result& gone, bool json) {
  const auto& p = r.plan;
  std::string restart = config::restart_warning(p);
  if (json) {
    json_writer j;
    j.begin_object()
        .field("ok", true)
        .field("file", r.path)
        .field("connections", static_cast<std::uint64_t>(r.connections))
        .field("added", p.added)
        .field("removed", p.removed)
        .field("changed", p.changed)
        .field("unchanged", p.unchanged)
        .field("initiated", r.started)
        .field("sas_matched", static_cast<std::uint64_t>(gone.matched))
        .field("sas_deleted", static_cast<std::uint64_t>(gone.completed))
        .field("not_done", gone.not_done)
        .field("restart_needed", p.restart_needed)
        .field("warnings", r.warnings)
        .field("credentials", static_cast<std::uint64_t>(r.credentials))
        .end_object();
    return j.str() + "\n";
  }
  std::string o = "loaded " + r.path + ": " + std::to_string(r.connections) + " connection(s), " +
                  std::to_string(p.added.size()) + " added, " + std::to_string(p.removed.size()) + " removed, " +
                  std::to_string(p.changed.size()) + " changed, " + std::to_string(p.unchanged.size()) + " unchanged\n";
  if (!p.added.empty()) o += "  added: " + join(p.added) + "\n";
  if (!p.removed.empty())
    o += "  removed: " + join(p.removed) + " (IKE SAs deleted: " + std::to_string(gone.completed) + " / " +
         std::to_string(gone.matched) + ")\n";
  if (!p.changed.empty()) o += "  changed: " + join(p.changed) + " (existing SAs keep the settings they were made with)\n";
  if (!r.started.empty()) o += "  initiating: " + join(r.started) + "\n";
  if (!gone.not_done.empty()) o += "not deleted in time: " + join(gone.not_done) + "\n";
  for (const auto& w : r.warnings) o += w + "\n";
  if (!restart.empty()) o += "warning: " + restart + "\n";
  return o;
}

}  // namespace

void reload_config(caf::event_based_actor* self, reload_owner& owner, std::shared_ptr<const config::config>& current,
                   const caf::actor& registry, const log_sink& log, const std::string& path, std::uint32_t timeout_ms,
                   bool json, reload_done done) {
  auto loaded = config::load_file(path, *owner.creds);
  if (!loaded.cfg) {
    refuse(log, path, loaded, json, done);
    owner.creds->prune();  // what the refused file interned is held by nothing
    return;
  }
  reload_report report;
  report.path = path;
  report.warnings = warning_lines(loaded.warnings);
  report.plan = config::plan_reload(*current, std::move(*loaded.cfg));
  auto next = std::make_shared<const config::config>(std::move(report.plan.effective));
  report.plan.effective = {};
  report.connections = next->connections.size();
  current = next;
  ++owner.reloads;
  // Forget credentials nothing uses any more (the old config's, unless SAs still hold them).
  owner.creds->prune();
  report.credentials = owner.creds->size();

  const auto& p = report.plan;
  for (const auto& w : report.warnings) log(level::warning, "reload: " + w);
  log(level::info, "reloaded " + path + ": " + std::to_string(report.connections) + " connection(s)" +
                       (p.added.empty() ? "" : ", added: " + join(p.added)) +
                       (p.removed.empty() ? "" : ", removed: " + join(p.removed)) +
                       (p.changed.empty() ? "" : ", changed: " + join(p.changed)) + ", " +
                       std::to_string(p.unchanged.size()) + " unchanged");
  if (auto w = config::restart_warning(p); !w.empty()) log(level::warning, "reload: " + w);

  // The registry takes the config before any initiate below (messages from one sender arrive in order).
  // No request timeout here: the registry always answers, at the latest after `timeout_ms` (its
  // own timer), and a CAF request timeout would stay scheduled for its whole duration after the
  // answer came — 10,000 reloads a minute would hold 10,000 of them.
  auto rq = self->request(registry, caf::infinite, cfg_atom::value, next, timeout_ms);
  for (const auto& [conn, child] : p.to_start) {
    // Not waited for (as at start-up); anonymous, so the registry's answer goes nowhere. It still
    // arrives after the config: both are queued from this actor's thread, in this order.
    caf::anon_send(registry, initiate_atom::value, conn, child, initiate_one, std::uint32_t{30000}, false);
    report.started.push_back(conn + "/" + child);
  }
  auto shared = std::make_shared<reload_report>(std::move(report));
  rq.then(
      [shared, json, done, log](bulk_result& gone) {
        if (gone.matched)
          log(level::info, "reload: deleted " + std::to_string(gone.completed) + " / " + std::to_string(gone.matched) +
                               " IKE SA(s) of removed connections");
        done(gone.not_done.empty() ? exit_ok : exit_failed, report_text(*shared, gone, json));
      },
      [done, log](caf::error& e) {
        log(level::error, "reload: the registry did not take the configuration: " + caf::to_string(e));
        done(exit_failed, "the configuration was loaded, but the registry did not confirm it: " + caf::to_string(e) + "\n");
      });
}

}  // namespace aike::actors
