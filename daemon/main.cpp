// aiked: the IKEv2 daemon. Parses its own flags (no CAF_MAIN), reads the TOML configuration,
// opens the IKE sockets, starts the actors and waits for a signal.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "actors/control/control_actor.hpp"
#include "actors/event_hub.hpp"
#include "actors/exit_quiet_scheduler.hpp"
#include "actors/id_source.hpp"
#include "actors/kernel_actor.hpp"
#include "actors/logger.hpp"
#include "actors/messages.hpp"
#include "actors/registry.hpp"
#include "actors/updown/updown_supervisor.hpp"
#include "config/config.hpp"
#include "daemon/kernel_choice.hpp"
#include "daemon/self_test.hpp"
#include "kernel/xfrm_events.hpp"

namespace {

using namespace aike;

bool is_loopback(const std::string& host) {
  auto a = ip_address::parse(host);
  if (!a) return host == "localhost";
  if (a->v6) {
    std::array<std::uint8_t, 16> one{};
    one[15] = 1;
    return a->octets == one;
  }
  return a->octets[0] == 127;
}

std::shared_ptr<const actors::log_levels> make_levels(const config::log_config& lc) {
  auto l = std::make_shared<actors::log_levels>();
  actors::parse_level(lc.default_level, l->fallback);
  for (const auto& [sub, lvl] : lc.subsystems) {
    actors::subsystem s;
    actors::level v;
    if (actors::parse_subsystem(sub, s) && actors::parse_level(lvl, v)) l->by_subsystem[s] = v;
  }
  return l;
}

int run_daemon(const std::string& config_path) {
  // The daemon's one credential cache: this first load, then every reload, which the control
  // actor runs (it becomes the cache's only user below).
  auto creds = std::make_shared<config::credential_cache>();
  auto loaded = config::load_file(config_path, *creds);
  for (const auto& w : loaded.warnings) std::fprintf(stderr, "aiked: warning: %s\n", w.to_string().c_str());
  if (!loaded.cfg) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "aiked: %s\n", p.to_string().c_str());
    std::fprintf(stderr, "aiked: configuration has %zu problem(s); not starting\n", loaded.problems.size());
    return 1;
  }
  // Reqids come from [kernel] reqid_range (the XFRM backend gets the same marks from the choice).
  actors::set_reqid_range(loaded.cfg->daemon.xfrm_ownership.reqid_first, loaded.cfg->daemon.xfrm_ownership.reqid_count);
  auto choice = daemon::choose_kernel_backend(loaded.cfg->daemon);
  if (!choice) {
    std::fprintf(stderr, "aiked: %s\n", choice.err().message.c_str());
    return 1;
  }
  std::shared_ptr<kernel::backend> backend = choice->backend;
  std::shared_ptr<kernel::userspace_backend> userspace = choice->userspace;
  // The userspace backend carries ESP only in UDP (as kernel-libipsec does): every connection,
  // also those a reload adds, negotiates UDP encapsulation.
  if (userspace) config::force_udp_encapsulation(*loaded.cfg);
  auto cfg = std::make_shared<const config::config>(std::move(*loaded.cfg));
  const auto& d = cfg->daemon;

  // The loader already refuses a non-loopback control address without TLS files; this is the
  // last line of defence, because CAF's middleman itself authenticates nobody.
  bool control_tls = !d.control_cert.empty() && !d.control_key.empty() && !d.control_ca.empty();
  if (!is_loopback(d.control_host) && !control_tls) {
    std::fprintf(stderr,
                 "aiked: control = \"%s:%u\" is not a loopback address; off loopback the control endpoint needs "
                 "TLS with client certificates: set control_cert, control_key and control_ca\n",
                 d.control_host.c_str(), static_cast<unsigned>(d.control_port));
    return 1;
  }

  net::udp_config ucfg;
  ucfg.listen = d.listen;
  ucfg.ike_port = d.ike_port;
  ucfg.natt_port = d.natt_port;
  auto io_opened = net::udp_io::open(ucfg);
  if (!io_opened) {
    std::fprintf(stderr, "aiked: %s\n", io_opened.err().message.c_str());
    return 1;
  }
  std::shared_ptr<net::udp_io> io = std::move(*io_opened);
  // Sealed ESP leaves through the IKE daemon's own NAT-T socket (RFC 3948), from the TUN thread.
  if (userspace)
    userspace->set_sender([io](const endpoint& local, const endpoint& remote, std::span<const bytes_view> esp) {
      return io->send_esp_batch(local, remote, esp);
    });
  // After the IKE sockets are bound (a second aiked in this namespace stops there), before any SA:
  // the backend clears what an earlier, crashed aiked left in the kernel.
  auto kernel_started = backend->start(d.flush_on_start);
  if (!kernel_started) {
    std::fprintf(stderr, "aiked: kernel backend %s: %s\n", backend->name(), kernel_started.err().message.c_str());
    return 1;
  }

  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  caf::actor_system_config sys_cfg;
  // Work sharing, with a clock that an ending IKE SA actor does not wake (exit_quiet_scheduler).
  sys_cfg.load<actors::exit_quiet_scheduler>();
  unsigned workers = d.workers ? d.workers : std::max(1u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(workers));
  sys_cfg.load<caf::io::middleman>();
  // CAF 0.17's BASP worker threads deserialize messages beside the BASP broker; with many
  // aikectl connecting at once, about one request in 1,500 was never answered (measured with
  // 8 parallel clients). Without workers the broker handles every message in order.
  sys_cfg.set("middleman.workers", size_t{0});
  if (control_tls) {
    // Mutual TLS: caf::openssl asks the client for a certificate and verifies it against the CA.
    sys_cfg.load<caf::openssl::manager>();
    sys_cfg.openssl_certificate = d.control_cert;
    sys_cfg.openssl_key = d.control_key;
    sys_cfg.openssl_cafile = d.control_ca;
  }
  caf::actor_system sys{sys_cfg};

  auto levels = make_levels(d.log);
  // Under systemd, stderr is the journal: write there with priorities and fields instead.
  auto target = actors::stderr_is_journal() ? actors::log_target::journal : actors::log_target::stderr_;
  auto logger = sys.spawn(actors::logger_actor, d.log.file, target);
  actors::log_sink log(logger, levels, actors::subsystem::daemon);
  for (const auto& w : io->warnings()) log.with(actors::subsystem::net)(actors::level::warning, w);
  for (const auto& l : *kernel_started) log.with(actors::subsystem::knl)(actors::level::info, l);
  log.with(actors::subsystem::knl)(actors::level::info, choice->why);

  auto kernel = sys.spawn(actors::kernel_actor, backend, log.with(actors::subsystem::knl));
  auto updown = sys.spawn(actors::updown_supervisor, d.updown_max_parallel, d.updown_timeout,
                          log.with(actors::subsystem::updown));
  // SA actors report what happened to the event hub; it feeds the updown supervisor and monitors.
  auto watchers = std::make_shared<actors::event_watchers>();
  auto events = sys.spawn(actors::event_hub, updown, logger, levels, watchers);
  // The SA actors' timers (retransmissions, DPD, rekeys) run on a thread of their own, not CAF's clock.
  auto timers = std::make_shared<actors::timer_batch>();
  auto registry =
      sys.spawn(actors::registry_actor, cfg, io, kernel, log.with(actors::subsystem::ike), events, timers, watchers);
  // ESP goes straight from the UDP thread into the userspace backend, never through an actor.
  net::udp_io::esp_handler on_esp;
  if (userspace) {
    on_esp = [u = userspace.get()](bytes_view esp, const endpoint&, const endpoint&) { u->receive_esp(esp); };
    // Its byte/packet expires take the path of XFRM expire events (soft: rekey, hard: delete).
    // A weak address: the backend may outlive the actor system.
    userspace->set_expire_sink([addr = registry.address()](const kernel::xfrm_event& ev) {
      if (auto r = caf::actor_cast<caf::actor>(addr)) caf::anon_send(r, actors::kevent_atom::value, ev);
    });
  }
  io->start([registry](net::datagram&& dg) { caf::anon_send(registry, actors::dgram_atom::value, std::move(dg)); },
            std::move(on_esp));
  // Kernel events (acquire for traps, soft/hard expire) go to the registry, which finds the SA.
  std::unique_ptr<kernel::xfrm_event_listener> xfrm_events;
  if (std::string(backend->name()) == "xfrm") {
    auto l = kernel::xfrm_event_listener::start(
        [registry](const kernel::xfrm_event& ev) { caf::anon_send(registry, actors::kevent_atom::value, ev); });
    if (l)
      xfrm_events = std::move(*l);
    else
      log.with(actors::subsystem::knl)(actors::level::warning, l.err().message + " (no traps, no expire events)");
  }

  // On a failed start every actor is told to exit, else the actor system would wait for them.
  auto abort_start = [&](std::initializer_list<caf::actor> actors) {
    io->stop();
    for (const auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(logger, caf::exit_reason::user_shutdown);
    return 1;
  };
  std::string token = actors::new_control_token();
  auto control = sys.spawn(actors::control_actor, registry, kernel, events, updown, cfg, token,
                           log.with(actors::subsystem::ctl), std::move(creds));
  auto port = control_tls ? caf::openssl::publish(control, d.control_port, d.control_host.c_str(), true)
                          : caf::io::publish(control, d.control_port, d.control_host.c_str(), true);
  if (!port) {
    std::fprintf(stderr, "aiked: cannot listen for aikectl on %s:%u: %s (is another aiked running?)\n",
                 d.control_host.c_str(), static_cast<unsigned>(d.control_port), sys.render(port.error()).c_str());
    return abort_start({control, events, registry, kernel, updown});
  }
  // caf/openssl/unpublish.hpp does not compile in CAF 0.17.6; a TLS listener closes with the
  // actor system instead, a moment later.
  auto unpublish_control = [&] {
    if (!control_tls) caf::io::unpublish(control, *port);
  };
  if (auto written = actors::write_control_token(d.control_token, token); !written) {
    std::fprintf(stderr, "aiked: %s\n", written.err().message.c_str());
    unpublish_control();
    return abort_start({control, events, registry, kernel, updown});
  }
  log(actors::level::info, std::string("aiked ") + AIKE_VERSION + " started: " + std::to_string(cfg->connections.size()) +
                               " connection(s), IKE on port " + std::to_string(io->bound_port(false)) + "/" +
                               std::to_string(io->bound_port(true)) + ", control on " + d.control_host + ":" +
                               std::to_string(*port) + (control_tls ? " (TLS, client certificates required)" : ""));

  // Type=notify: systemd considers the service started once sockets and control are up.
  sd_notifyf(0, "READY=1\nSTATUS=%zu connection(s), control on %s:%u", cfg->connections.size(), d.control_host.c_str(),
             static_cast<unsigned>(*port));

  caf::anon_send(registry, actors::trap_atom::value);  // start_action = "trap"
  for (const auto& c : cfg->connections)
    for (const auto& ch : c.children)
      if (ch.start == config::start_action::start)
        caf::anon_send(registry, actors::initiate_atom::value, c.ike->name, ch.name, actors::initiate_one,
                       std::uint32_t{30000}, false);

  for (;;) {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig == SIGHUP) {
      // The same reload as `aikectl load`: the control actor reads config_path and logs the outcome.
      log(actors::level::info, "SIGHUP: reloading " + config_path);
      caf::anon_send(control, actors::reload_atom::value);
      continue;
    }
    log(actors::level::info, std::string("shutting down (") + strsignal(sig) + ")");
    sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
    break;
  }
  {
    caf::scoped_actor self{sys};
    self->request(registry, std::chrono::seconds(15), actors::shutdown_atom::value, d.delete_on_stop,
                  std::uint32_t{10000})
        .receive([&](actors::bulk_result& r) {
          log(actors::level::info, "closed " + std::to_string(r.completed) + " of " + std::to_string(r.matched) + " IKE SA(s)");
        },
                 [&](caf::error& e) { log(actors::level::warning, "shutdown: " + sys.render(e)); });
  }
  {
    // The down scripts of the SAs just closed get the time of one updown timeout to finish;
    // what still runs after that is killed when the supervisor exits.
    caf::scoped_actor self{sys};
    auto until = std::chrono::steady_clock::now() + d.updown_timeout;
    for (bool idle = false; !idle && std::chrono::steady_clock::now() < until;) {
      self->request(updown, std::chrono::seconds(5), actors::stats_atom::value)
          .receive([&](std::uint64_t running, std::uint64_t queued, std::uint64_t,
                       std::uint64_t) { idle = running == 0 && queued == 0; },
                   [&](caf::error&) { idle = true; });
      if (!idle) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  io->stop();
  xfrm_events.reset();
  if (userspace) userspace->set_expire_sink({});
  unpublish_control();
  for (auto* a : {&control, &events, &registry, &kernel, &updown}) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(logger, caf::exit_reason::user_shutdown);
  std::remove(d.control_token.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aiked: IKEv2 daemon"};
  std::string config_path = "/etc/aike/aiked.toml";
  bool check = false, self_test = false, version = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check, "validate the configuration, print every problem, exit 1 on any");
  app.add_flag("--self-test", self_test, "negotiate IKE SAs between two in-memory engines and print them");
  app.add_flag("-V,--version", version, "print the version");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::printf("aiked %s\n", AIKE_VERSION);
    return 0;
  }
  if (self_test) return aike::daemon::run_self_test();
  if (check) return aike::config::check_config(config_path, std::cout, std::cerr);
  return run_daemon(config_path);
}
