// aikectl: controls aiked by sending actor messages over TCP (CAF middleman). Every request
// carries the token the daemon wrote to its token file.
// Exit codes: 0 done, 1 the operation failed or partly failed, 2 usage error,
// 3 daemon unreachable or authentication refused. import-swanctl runs locally: 0 all converted,
// 1 something not carried over, 2 unreadable input or a syntax error. doctor: 0 nothing found,
// 1 findings (it asks aiked for its SAs, and still runs, saying so, when aiked does not answer).
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "actors/control/control_protocol.hpp"
#include "cli/doctor.hpp"
#include "cli/import_swanctl.hpp"
#include "config/reqid_range.hpp"
#include "engine/common/number_text.hpp"

namespace {

using aike::control::ctl_atom;
using aike::control::monitor_atom;
using aike::control::progress_atom;
constexpr int exit_usage = aike::control::exit_usage, exit_unreachable = aike::control::exit_refused;

struct target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4510;
};

bool parse_uri(const std::string& uri, target& t, std::string& err) {
  std::string rest = uri;
  if (rest.rfind("tcp://", 0) == 0) rest = rest.substr(6);
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      err = "bad --uri '" + uri + "': missing ']'";
      return false;
    }
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    host = colon == std::string::npos ? rest : rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (host.empty()) {
    err = "bad --uri '" + uri + "': no host";
    return false;
  }
  t.host = host;
  if (!port.empty()) {
    try {
      unsigned long p = std::stoul(port);
      if (p == 0 || p > 65535) throw std::out_of_range("port");
      t.port = static_cast<std::uint16_t>(p);
    } catch (...) {
      err = "bad --uri '" + uri + "': port must be 1-65535";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aikectl: control the aike IKEv2 daemon"};
  app.require_subcommand(1);
  std::string uri = "tcp://127.0.0.1:4510";
  std::string token_file = "/run/aike/control.token";
  app.add_option("--uri", uri, "daemon control endpoint, tcp://HOST:PORT")->capture_default_str();
  app.add_option("--token-file", token_file, "file with the daemon's control token")->capture_default_str();
  std::string tls_cert, tls_key, tls_ca;
  app.add_option("--cert", tls_cert, "client certificate (PEM) for a daemon whose control endpoint uses TLS");
  app.add_option("--key", tls_key, "private key (PEM) of --cert");
  app.add_option("--ca", tls_ca, "CA certificate (PEM) that issued the daemon's control certificate");

  std::string cmd;
  std::vector<std::string> args;
  bool json = false;
  auto add_json = [&](CLI::App* sub) { sub->add_flag("--json", json, "print JSON"); };

  auto* version = app.add_subcommand("version", "print the daemon's version");
  std::uint32_t count = 1, timeout = 30;
  auto* load = app.add_subcommand("load", "reload the daemon's configuration (all or nothing)");
  std::string load_file;
  load->add_option("--file", load_file, "configuration file to load instead of the daemon's own (aiked -c)");
  load->add_option("--timeout", timeout, "seconds to wait for the SAs of removed connections to be deleted")
      ->capture_default_str();
  add_json(load);

  auto* list_conns = app.add_subcommand("list-conns", "list the configured connections");
  add_json(list_conns);

  auto* list_sas = app.add_subcommand("list-sas", "list IKE SAs and their CHILD_SAs (never blocks)");
  std::string ike_name, child_name;
  std::uint32_t ike_id = 0, child_id = 0;
  list_sas->add_option("--ike", ike_name, "only SAs of this connection");
  list_sas->add_option("--ike-id", ike_id, "only the IKE SA with this unique id");
  add_json(list_sas);

  auto* stats = app.add_subcommand("stats", "SAs by state, half-open count, messages, drops, memory, uptime");
  add_json(stats);

  auto* initiate = app.add_subcommand("initiate", "bring up an IKE SA (and a CHILD_SA)");
  bool noblock = false, force = false, all = false;
  auto* init_ike = initiate->add_option("--ike", ike_name, "connection to initiate");
  auto* init_child = initiate->add_option("--child", child_name, "CHILD_SA to initiate (with its IKE SA)");
  init_ike->excludes(init_child);
  auto* init_count = initiate->add_option("--count", count, "start N new, independent IKE SAs (N > 1 needs unique = \"never\")")
                         ->check(CLI::Range(1u, 1000000u));
  initiate->add_option("--timeout", timeout, "seconds to wait")->capture_default_str();
  initiate->add_flag("--noblock", noblock, "do not wait for the SAs to come up");
  add_json(initiate);

  auto* terminate = app.add_subcommand("terminate", "delete IKE SAs or CHILD_SAs; reports only what really ended");
  auto* t_ike = terminate->add_option("--ike", ike_name, "all IKE SAs of this connection");
  auto* t_ike_id = terminate->add_option("--ike-id", ike_id, "the IKE SA with this unique id");
  auto* t_child = terminate->add_option("--child", child_name, "all CHILD_SAs with this name");
  auto* t_child_id = terminate->add_option("--child-id", child_id, "the CHILD_SA with this unique id");
  auto* t_all = terminate->add_flag("--all", all, "every IKE SA");
  terminate->add_flag("--force", force, "close without sending DELETE");
  terminate->add_option("--timeout", timeout, "seconds to wait")->capture_default_str();
  terminate->add_flag("--noblock", noblock, "do not wait");
  add_json(terminate);

  // One variable per subcommand: CLI11 resets a variable that two subcommands' flags share.
  bool init_progress = false, term_progress = false;
  initiate->add_flag("--progress", init_progress, "print progress lines even when stderr is not a terminal");
  terminate->add_flag("--progress", term_progress, "print progress lines even when stderr is not a terminal");

  auto* monitor = app.add_subcommand("monitor", "stream events (IKE/CHILD up, down, rekey) and log lines until interrupted");
  std::string log_level;
  bool no_events = false;
  monitor->add_option("--log", log_level, "also stream log lines up to this level: error, warning, info, debug")
      ->check(CLI::IsMember({"error", "warning", "warn", "info", "debug"}));
  monitor->add_flag("--no-events", no_events, "only log lines (needs --log)");
  add_json(monitor);

  auto* rekey = app.add_subcommand("rekey", "rekey IKE SAs or CHILD_SAs, or reauthenticate IKE SAs (--reauth)");
  auto* r_ike = rekey->add_option("--ike", ike_name, "IKE SAs of this connection");
  auto* r_ike_id = rekey->add_option("--ike-id", ike_id, "the IKE SA with this unique id");
  auto* r_child = rekey->add_option("--child", child_name, "CHILD_SAs with this name");
  auto* r_child_id = rekey->add_option("--child-id", child_id, "the CHILD_SA with this unique id");
  auto* r_all = rekey->add_flag("--all", all, "every CHILD_SA (with --ike-sas: every IKE SA)");
  bool rekey_ike_sas = false;
  rekey->add_flag("--ike-sas", rekey_ike_sas,
                  "with --all: rekey the IKE SAs themselves (their CHILD_SAs move to the new IKE SA), not the CHILD_SAs");
  rekey->add_option("--timeout", timeout, "seconds to wait")->capture_default_str();
  bool rekey_progress = false, rekey_noblock = false;
  rekey->add_flag("--noblock", rekey_noblock, "do not wait for the rekeys to complete");
  rekey->add_flag("--progress", rekey_progress, "print progress lines even when stderr is not a terminal");
  bool rekey_reauth = false;
  rekey->add_flag("--reauth", rekey_reauth,
                  "with --ike/--ike-id: reauthenticate instead (a new IKE SA with IKE_SA_INIT and IKE_AUTH takes over "
                  "the CHILD_SAs, then the old IKE SA is deleted)");
  add_json(rekey);

  auto* import = app.add_subcommand("import-swanctl", "convert a swanctl.conf into aiked.toml (local, no daemon)");
  std::string import_file, import_out;
  import->add_option("FILE", import_file, "the swanctl.conf to convert")->required();
  import->add_option("-o,--output", import_out, "write the TOML here (default: standard output)");

  auto* doctor = app.add_subcommand("doctor", "explain XFRM error counters and find broken or stale kernel IPsec state");
  bool doctor_json = false;
  doctor->add_flag("--json", doctor_json, "print JSON");
  std::string doctor_range;
  doctor->add_option("--reqid-range", doctor_range,
                     "START-END: the reqids that are aike's (default: the running aiked's, else 0x0a1e0000-0x0b1dffff)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : exit_usage;
  }

  if (rekey->parsed() && rekey_noblock) noblock = true;
  if (import->parsed()) return aike::cli::import_swanctl(import_file, import_out);

  auto put = [&](const std::string& k, const std::string& v) { args.push_back(k + "=" + v); };
  if (json) args.push_back("json");
  if (version->parsed()) {
    cmd = "version";
  } else if (load->parsed()) {
    cmd = "load";
    // The daemon has its own working directory: send an absolute path.
    if (!load_file.empty()) put("file", std::filesystem::absolute(load_file).lexically_normal().string());
    put("timeout", std::to_string(timeout));
  } else if (list_conns->parsed()) {
    cmd = "list-conns";
  } else if (list_sas->parsed()) {
    cmd = "list-sas";
    if (!ike_name.empty()) put("ike", ike_name);
    if (list_sas->count("--ike-id")) put("ike-id", std::to_string(ike_id));
  } else if (stats->parsed()) {
    cmd = "stats";
  } else if (initiate->parsed()) {
    cmd = "initiate";
    if (!init_ike->count() && !init_child->count()) {
      std::fprintf(stderr, "aikectl initiate: needs --ike NAME or --child NAME\n");
      return exit_usage;
    }
    if (!ike_name.empty()) put("ike", ike_name);
    if (!child_name.empty()) put("child", child_name);
    // Without --count the daemon may put the child on an IKE SA that exists; with it (even 1) it
    // makes new IKE SAs.
    if (init_count->count()) put("count", std::to_string(count));
    put("timeout", std::to_string(timeout));
    if (noblock) args.push_back("noblock");
  } else if (monitor->parsed()) {
    cmd = "monitor";
    if (!log_level.empty()) put("log", log_level);
    if (no_events) {
      if (log_level.empty()) {
        std::fprintf(stderr, "aikectl monitor: --no-events needs --log LEVEL\n");
        return exit_usage;
      }
      args.push_back("no-events");
    }
  } else if (doctor->parsed()) {
    cmd = "list-sas";  // the daemon's view; doctor prints its own report
    args.push_back("json");
  } else if (terminate->parsed() || rekey->parsed()) {
    bool is_term = terminate->parsed();
    cmd = is_term ? "terminate" : "rekey";
    std::size_t n = is_term ? t_ike->count() + t_ike_id->count() + t_child->count() + t_child_id->count() + t_all->count()
                            : r_ike->count() + r_ike_id->count() + r_child->count() + r_child_id->count() + r_all->count();
    if (n != 1) {
      std::fprintf(stderr, "aikectl %s: needs exactly one of --ike, --ike-id, --child, --child-id, --all\n", cmd.c_str());
      return exit_usage;
    }
    if (!ike_name.empty()) put("ike", ike_name);
    if (!child_name.empty()) put("child", child_name);
    if ((is_term ? t_ike_id : r_ike_id)->count()) put("ike-id", std::to_string(ike_id));
    if ((is_term ? t_child_id : r_child_id)->count()) put("child-id", std::to_string(child_id));
    if (all) args.push_back("all");
    if (is_term && force) args.push_back("force");
    if (!is_term && rekey_reauth) {
      if (!r_ike->count() && !r_ike_id->count()) {
        std::fprintf(stderr, "aikectl rekey: --reauth needs --ike NAME or --ike-id N\n");
        return exit_usage;
      }
      args.push_back("reauth");
    }
    if (!is_term && rekey_ike_sas) args.push_back("ike-sas");
    if (noblock) args.push_back("noblock");
    put("timeout", std::to_string(timeout));
  }

  // Progress lines ("terminated 4,812 / 10,000") for blocking bulk operations on a terminal.
  bool tty = isatty(STDERR_FILENO) == 1;
  bool bulk = (cmd == "initiate" || cmd == "terminate" || cmd == "rekey") && !noblock && !json;
  bool progress_flag = cmd == "initiate" ? init_progress : cmd == "rekey" ? rekey_progress : term_progress;
  if (bulk && (tty || progress_flag)) args.push_back("progress");

  target t;
  std::string err;
  if (!parse_uri(uri, t, err)) {
    std::fprintf(stderr, "aikectl: %s\n", err.c_str());
    return exit_usage;
  }
  bool is_doctor = doctor->parsed();
  std::optional<aike::kernel::reqid_span> doctor_reqids;
  if (is_doctor && !doctor_range.empty()) {
    auto r = aike::config::parse_reqid_range(doctor_range);
    if (!r) {
      std::fprintf(stderr, "aikectl doctor: --reqid-range %s: %s\n", doctor_range.c_str(), r.err().message.c_str());
      return exit_usage;
    }
    doctor_reqids = aike::kernel::reqid_span{r->first, r->count};
  }
  auto doctor_alone = [&](const std::string& why) {
    return aike::cli::run_doctor(aike::cli::daemon_unreachable(why), doctor_json, doctor_reqids);
  };
  std::optional<aike::kernel::daemon_view> doctor_view;  // list-sas answered; stats asked next
  std::string token;
  {
    std::ifstream f(token_file);
    if (!f && is_doctor) return doctor_alone("cannot read the token file " + token_file + ": " + std::strerror(errno));
    if (!f) {
      std::fprintf(stderr, "aikectl: cannot read the token file %s (%s); run as a user who can read it, or pass "
                           "--token-file\n", token_file.c_str(), std::strerror(errno));
      return exit_unreachable;
    }
    std::getline(f, token);
  }

  bool tls = !tls_cert.empty() || !tls_key.empty() || !tls_ca.empty();
  if (tls && (tls_cert.empty() || tls_key.empty() || tls_ca.empty())) {
    std::fprintf(stderr, "aikectl: --cert, --key and --ca go together\n");
    return exit_usage;
  }
  caf::actor_system_config cfg;
  // One short request: one scheduler thread that sleeps instead of polling, and no BASP worker
  // threads (see daemon/main.cpp) — starting aikectl is most of what it costs.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{1});
  cfg.set("middleman.workers", size_t{0});
  cfg.load<caf::io::middleman>();
  if (tls) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = tls_cert;
    cfg.openssl_key = tls_key;
    cfg.openssl_cafile = tls_ca;
  }
  caf::actor_system sys{cfg};
  auto daemon = tls ? caf::openssl::remote_actor(sys, t.host, t.port) : sys.middleman().remote_actor(t.host, t.port);
  if (!daemon && is_doctor)
    return doctor_alone("cannot reach aiked at " + t.host + ":" + std::to_string(t.port) + ": " +
                        sys.render(daemon.error()));
  if (!daemon) {
    std::fprintf(stderr, "aikectl: cannot reach aiked at %s:%u (%s); is it running%s?\n", t.host.c_str(),
                 static_cast<unsigned>(t.port), sys.render(daemon.error()).c_str(),
                 tls ? " and do --cert/--key/--ca match its control_ca/control_cert" : "");
    return exit_unreachable;
  }
  std::string joined;
  for (const auto& a : args) joined += a + "\n";
  int code = exit_unreachable;
  caf::scoped_actor self{sys};
  self->monitor(*daemon);
  // A plain send, not request(): the answer still comes back to this actor, and progress or
  // monitor lines can arrive before it.
  self->send(*daemon, ctl_atom::value, token, cmd, joined);
  bool answered = false, done = false, progress_shown = false;
  auto clear_progress = [&] {
    if (progress_shown && tty) std::fputs("\r\033[K", stderr);
    progress_shown = false;
  };
  const char* verb = cmd == "initiate" ? "established" : cmd == "rekey" ? "rekeyed" : "terminated";
  unsigned silence_s = is_doctor ? 10 : timeout + 60;
  auto silence = cmd == "monitor" ? caf::infinite : caf::duration(std::chrono::seconds(silence_s));
  self->receive_while([&] { return !done; })(
      [&](std::int32_t c, const std::string& out) {
        clear_progress();
        answered = true;
        if (is_doctor && !doctor_view) {
          doctor_view = c == 0 ? aike::cli::daemon_view_from_list_sas(out) : aike::cli::daemon_unreachable(out);
          if (doctor_view->reachable) {  // then aiked's band and range (stats --json)
            self->send(*daemon, ctl_atom::value, token, std::string("stats"), std::string("json\n"));
            return;
          }
        } else if (is_doctor) {
          aike::cli::add_ownership_from_stats(*doctor_view, c, out);
        }
        if (is_doctor) {
          code = aike::cli::run_doctor(*doctor_view, doctor_json, doctor_reqids);
          done = true;
          return;
        }
        code = c;
        // Data and success go to stdout; refusals and failures to stderr (JSON always to stdout).
        std::fputs(out.c_str(), (c == 0 || json) ? stdout : stderr);
        std::fflush(stdout);
        done = cmd != "monitor" || c != 0;
      },
      [&](progress_atom, std::uint64_t n, std::uint64_t total) {
        std::string line = std::string(verb) + " " + aike::grouped(n) + " / " + aike::grouped(total);
        if (tty)
          std::fprintf(stderr, "\r\033[K%s", line.c_str());
        else
          std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
        progress_shown = true;
      },
      [&](monitor_atom, const std::string& line) {
        std::fputs(line.c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
      },
      [&](caf::down_msg&) {
        clear_progress();
        if (is_doctor && doctor_view) {  // list-sas answered, stats did not
          doctor_view->ownership_why_not = "the connection closed before it answered stats";
          code = aike::cli::run_doctor(*doctor_view, doctor_json, doctor_reqids);
          done = true;
          return;
        }
        if (is_doctor && !answered) {
          code = doctor_alone("the connection to aiked closed before it answered");
          done = true;
          return;
        }
        std::fprintf(stderr, "aikectl: the connection to aiked closed%s\n", answered ? "" : " before it answered");
        code = exit_unreachable;
        done = true;
      },
      caf::after(silence) >> [&] {
        clear_progress();
        if (is_doctor && doctor_view) {
          doctor_view->ownership_why_not = "no answer to stats within " + std::to_string(silence_s) + " s";
          code = aike::cli::run_doctor(*doctor_view, doctor_json, doctor_reqids);
          done = true;
          return;
        }
        if (is_doctor) {
          code = doctor_alone("no answer from aiked within " + std::to_string(silence_s) + " s");
          done = true;
          return;
        }
        std::fprintf(stderr, "aikectl: no answer from aiked within %u s\n", silence_s);
        code = exit_unreachable;
        done = true;
      });
  std::fflush(stdout);
  // Leave without tearing the connection down politely: nothing is pending, and a clean CAF
  // shutdown can take a while.
  std::_Exit(code);
}
