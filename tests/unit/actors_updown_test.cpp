// The updown supervisor with real shell scripts in a temporary directory: the PLUTO_*
// environment, max_parallel, timeouts, down-after-up ordering, failures, and no children left.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <caf/all.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "actors/messages.hpp"
#include "actors/updown/updown_env.hpp"
#include "actors/updown/updown_supervisor.hpp"

using namespace aike;
using namespace aike::actors;
namespace fs = std::filesystem;

namespace {

ts::selector sel(const char* s) { return ts::selector::parse(s).value(); }

sa_event v4_tunnel_event() {
  sa_event ev;
  ev.kind = sa_event_kind::child_up;
  ev.connection = "site";
  ev.ike_id = 42;
  ev.local = {*ip_address::parse("192.0.2.1"), 4500};
  ev.remote = {*ip_address::parse("198.51.100.2"), 4501};
  ev.local_id = "gw1.example";
  ev.remote_id = "gw2.example";
  ev.child = "net";
  ev.child_id = 5;
  ev.reqid = 7;
  ev.spi_in = 0xc0ffee01;
  ev.spi_out = 0xabcd;
  ev.encap = true;
  ev.local_ts = {sel("10.1.0.0/24"), sel("10.1.9.0/24")};
  ev.remote_ts = {sel("10.2.0.0/16[tcp/80]")};
  return ev;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Stands in for the logger actor: keeps every line for the test to look at. (Spawned with
// arguments: CAF 0.17 dereferences a null argument tuple for an actor function without any,
// which UBSan reports.)
caf::behavior collect_lines(caf::event_based_actor*, std::shared_ptr<std::mutex> mu,
                            std::shared_ptr<std::vector<std::string>> lines) {
  // The logger's message: (log, level, write, subsystem, context, text).
  return {[mu, lines](log_atom, int, bool, int, const std::string& context, const std::string& text) {
    std::lock_guard<std::mutex> lock(*mu);
    lines->push_back(context.empty() ? text : context + ": " + text);
  }};
}

struct stats {
  std::uint64_t running = 0, queued = 0, started = 0, failed = 0;
};

class UpdownTest : public ::testing::Test {
 protected:
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  fs::path dir_;
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> lines_ = std::make_shared<std::vector<std::string>>();
  caf::actor logger_, sup_;

  void SetUp() override {
    char tmpl[] = "/tmp/aike-updown-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    logger_ = sys_.spawn(collect_lines, mu_, lines_);
  }
  void TearDown() override {
    if (sup_) caf::anon_send_exit(sup_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(logger_, caf::exit_reason::user_shutdown);
    sys_.await_all_actors_done();
    // Every script the supervisor started was reaped: the test process has no child left.
    int status = 0;
    EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
    fs::remove_all(dir_);
  }

  void start(unsigned max_parallel, std::chrono::milliseconds timeout) {
    auto levels = std::make_shared<log_levels>();
    levels->fallback = level::debug;
    sup_ = sys_.spawn(updown_supervisor, max_parallel, timeout, log_sink(logger_, levels, subsystem::updown));
  }

  std::string script(const std::string& name, const std::string& body) {
    auto p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\nD='" << dir_.string() << "'\n" << body << "\n";
    ::chmod(p.c_str(), 0755);
    return p.string();
  }

  stats ask() {
    caf::scoped_actor self{sys_};
    stats s;
    self->request(sup_, std::chrono::seconds(10), stats_atom::value)
        .receive([&](std::uint64_t r, std::uint64_t q, std::uint64_t st, std::uint64_t f) { s = {r, q, st, f}; },
                 [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
    return s;
  }

  // Polls until `done` holds; a hang fails after a generous bound (not a timing assertion).
  template <class F>
  void wait_for(F done, const char* what) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "waiting for " << what;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void wait_idle(std::uint64_t started) {
    wait_for(
        [&] {
          auto s = ask();
          return s.started >= started && s.running == 0 && s.queued == 0;
        },
        "the supervisor to finish every script");
  }
  bool logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(*mu_);
    for (const auto& l : *lines_)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  void send(const sa_event& ev) { caf::anon_send(sup_, event_atom::value, ev); }
};

std::map<std::string, std::string> pluto_vars(const std::string& env_dump) {
  std::map<std::string, std::string> out;
  std::istringstream in(env_dump);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto k = line.substr(0, eq);
    if (k.rfind("PLUTO_", 0) == 0 || k.rfind("AIKE_", 0) == 0 || k == "PATH") out[k] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace

TEST(UpdownEnv, VerbsFollowFamilyAndHostness) {
  auto ev = v4_tunnel_event();
  EXPECT_EQ(updown::verb(ev), "up-client");
  ev.kind = sa_event_kind::child_down;
  EXPECT_EQ(updown::verb(ev), "down-client");
  ev.local_ts = {sel("192.0.2.1/32")};  // just our own address: "host"
  EXPECT_EQ(updown::verb(ev), "down-host");
  ev.local_ts = {sel("192.0.2.0/31")};
  EXPECT_EQ(updown::verb(ev), "down-client");
  ev.local = {*ip_address::parse("2001:db8::1"), 500};
  ev.local_ts = {sel("2001:db8::1/128")};
  ev.kind = sa_event_kind::child_up;
  EXPECT_EQ(updown::verb(ev), "up-host-v6");
  ev.local_ts = {sel("fd00:1::/64")};
  EXPECT_EQ(updown::verb(ev), "up-client-v6");
  ev.kind = sa_event_kind::ike_up;
  EXPECT_EQ(updown::verb(ev), "up-ike");
  ev.kind = sa_event_kind::ike_down;
  EXPECT_EQ(updown::verb(ev), "down-ike");
  ev.kind = sa_event_kind::child_rekey;
  EXPECT_EQ(updown::verb(ev), "");
}

TEST(UpdownEnv, FormatsLikeStrongswan) {
  EXPECT_EQ(updown::spi_hex(0xabcd), "0000abcd");
  EXPECT_EQ(updown::client_cidr(sel("10.1.0.0/24")), "10.1.0.0/24");
  EXPECT_EQ(updown::client_cidr(sel("10.1.0.5")), "10.1.0.5/32");
  EXPECT_EQ(updown::client_cidr(sel("10.1.0.1-10.1.0.99")), "10.1.0.0/25");  // the covering prefix
  EXPECT_EQ(updown::client_cidr(sel("fd00:1::/64")), "fd00:1::/64");
  EXPECT_EQ(updown::client_cidr(sel("0.0.0.0/0")), "0.0.0.0/0");
  EXPECT_EQ(updown::port_text(sel("10.0.0.0/8")), "0");
  EXPECT_EQ(updown::port_text(sel("10.0.0.0/8[udp/53]")), "53");
  EXPECT_EQ(updown::port_text(sel("10.0.0.0/8[tcp/500-600]")), "500:600");
  EXPECT_EQ(updown::interface_of(*ip_address::parse("127.0.0.1")), "lo");
  EXPECT_EQ(updown::interface_of(*ip_address::parse("127.0.0.2")), "lo");  // inside lo's 127.0.0.0/8
  EXPECT_EQ(updown::interface_of(*ip_address::parse("2001:db8:ffff::77")), "unknown");  // on no interface
}

TEST_F(UpdownTest, V4TunnelEnvironmentIsExact) {
  start(4, std::chrono::seconds(20));
  auto ev = v4_tunnel_event();
  ev.updown = script("env.sh", "env > \"$D/env.$PLUTO_VERB\"");
  send(ev);
  wait_idle(1);
  auto vars = pluto_vars(slurp(dir_ / "env.up-client"));
  std::map<std::string, std::string> want = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"PLUTO_VERSION", "1.1"},
      {"PLUTO_VERB", "up-client"},
      {"PLUTO_CONNECTION", "net"},
      {"PLUTO_UNIQUEID", "42"},
      {"PLUTO_REQID", "7"},
      // Whatever holds 192.0.2.1 on this machine (checked on its own above).
      {"PLUTO_INTERFACE", updown::interface_of(ev.local.addr)},
      {"PLUTO_ME", "192.0.2.1"},
      {"PLUTO_MY_ID", "gw1.example"},
      {"PLUTO_MY_CLIENT", "10.1.0.0/24"},
      {"PLUTO_MY_PORT", "0"},
      {"PLUTO_MY_PROTOCOL", "0"},
      {"PLUTO_PEER", "198.51.100.2"},
      {"PLUTO_PEER_ID", "gw2.example"},
      {"PLUTO_PEER_CLIENT", "10.2.0.0/16"},
      {"PLUTO_PEER_PORT", "80"},
      {"PLUTO_PEER_PROTOCOL", "6"},
      {"PLUTO_MY_SPI", "c0ffee01"},
      {"PLUTO_PEER_SPI", "0000abcd"},
      {"PLUTO_PROTO", "esp"},
      {"PLUTO_UDP_ENC", "4501"},
      {"AIKE_IKE_NAME", "site"},
      {"AIKE_CHILD_NAME", "net"},
      {"AIKE_CHILD_ID", "5"},
  };
  EXPECT_EQ(vars, want);
  EXPECT_EQ(ask().failed, 0u);
}

TEST_F(UpdownTest, V6AndHostEventsAndIkeEvents) {
  start(4, std::chrono::seconds(20));
  auto path = script("env.sh", "env > \"$D/env.$PLUTO_VERB\"");
  auto v6 = v4_tunnel_event();
  v6.kind = sa_event_kind::child_down;
  v6.child_id = 6;
  v6.encap = false;
  v6.local = {*ip_address::parse("2001:db8::1"), 500};
  v6.remote = {*ip_address::parse("2001:db8::2"), 500};
  v6.local_ts = {sel("fd00:1::/64")};
  v6.remote_ts = {sel("fd00:2::/64")};
  v6.reason = "deleted by peer";
  v6.updown = path;
  send(v6);
  auto host = v4_tunnel_event();
  host.child_id = 7;
  host.local = {*ip_address::parse("127.0.0.1"), 500};
  host.local_ts = {sel("127.0.0.1/32")};
  host.updown = path;
  send(host);
  sa_event ike;
  ike.kind = sa_event_kind::ike_down;
  ike.connection = "site";
  ike.ike_id = 9;
  ike.local = host.local;
  ike.remote = host.remote;
  ike.local_id = "a";
  ike.remote_id = "b";
  ike.reason = "terminated";
  ike.updown = path;
  send(ike);
  wait_idle(3);

  auto a = pluto_vars(slurp(dir_ / "env.down-client-v6"));
  EXPECT_EQ(a["PLUTO_ME"], "2001:db8::1");
  EXPECT_EQ(a["PLUTO_PEER"], "2001:db8::2");
  EXPECT_EQ(a["PLUTO_MY_CLIENT"], "fd00:1::/64");
  EXPECT_EQ(a["PLUTO_PEER_CLIENT"], "fd00:2::/64");
  EXPECT_EQ(a["AIKE_REASON"], "deleted by peer");
  EXPECT_EQ(a.count("PLUTO_UDP_ENC"), 0u);  // not encapsulated

  auto h = pluto_vars(slurp(dir_ / "env.up-host"));
  EXPECT_EQ(h["PLUTO_MY_CLIENT"], "127.0.0.1/32");
  EXPECT_EQ(h["PLUTO_INTERFACE"], "lo");

  auto i = pluto_vars(slurp(dir_ / "env.down-ike"));
  std::map<std::string, std::string> want = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"PLUTO_VERSION", "1.1"},
      {"PLUTO_VERB", "down-ike"},
      {"PLUTO_CONNECTION", "site"},
      {"PLUTO_UNIQUEID", "9"},
      {"PLUTO_INTERFACE", "lo"},
      {"PLUTO_ME", "127.0.0.1"},
      {"PLUTO_MY_ID", "a"},
      {"PLUTO_PEER", "198.51.100.2"},
      {"PLUTO_PEER_ID", "b"},
      {"AIKE_IKE_NAME", "site"},
      {"AIKE_REASON", "terminated"},
  };
  EXPECT_EQ(i, want);
}

TEST_F(UpdownTest, MaxParallelIsRespected) {
  start(3, std::chrono::seconds(30));
  // Each script marks that it entered, counts how many run at once (mkdir is the lock), and
  // waits for the test's "go" file.
  auto path = script("par.sh", R"(
lock() { until mkdir "$D/lock" 2>/dev/null; do sleep 0.01; done; }
lock; n=$(( $(cat "$D/cur" 2>/dev/null || echo 0) + 1 )); echo $n > "$D/cur"
m=$(cat "$D/max" 2>/dev/null || echo 0); [ $n -gt $m ] && echo $n > "$D/max"; rmdir "$D/lock"
touch "$D/entered.$AIKE_CHILD_ID"
while [ ! -e "$D/go" ]; do sleep 0.02; done
lock; echo $(( $(cat "$D/cur") - 1 )) > "$D/cur"; echo "$AIKE_CHILD_ID" >> "$D/done"; rmdir "$D/lock"
)");
  for (std::uint32_t i = 1; i <= 12; ++i) {
    auto ev = v4_tunnel_event();
    ev.child_id = i;
    ev.updown = path;
    send(ev);
  }
  auto entered = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().rfind("entered.", 0) == 0) ++n;
    return n;
  };
  wait_for([&] { return entered() >= 3; }, "three scripts to start");
  auto s = ask();
  EXPECT_EQ(s.running, 3u);
  EXPECT_EQ(s.queued, 9u);
  EXPECT_EQ(entered(), 3u);  // none finishes before "go", so no fourth may have started
  std::ofstream(dir_ / "go") << "";
  wait_idle(12);
  EXPECT_LE(std::stoi(slurp(dir_ / "max")), 3);
  EXPECT_EQ(entered(), 12u);
  EXPECT_EQ(std::stoi(slurp(dir_ / "cur")), 0);
  s = ask();
  EXPECT_EQ(s.started, 12u);
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(UpdownTest, TimeoutKillsTheScriptAndWhatItStarted) {
  start(2, std::chrono::milliseconds(300));
  auto ev = v4_tunnel_event();
  ev.updown = script("slow.sh", "echo \"$$\" > \"$D/pid\"; echo started; sleep 60 & echo $! > \"$D/child\"; wait");
  send(ev);
  // Ignores SIGTERM (and so does its sleep): SIGKILL follows after the grace period.
  auto stubborn = v4_tunnel_event();
  stubborn.child_id = 99;
  stubborn.updown = script("stubborn.sh", "trap '' TERM; sleep 60 & wait; sleep 60");
  send(stubborn);
  wait_idle(2);
  auto s = ask();
  EXPECT_EQ(s.failed, 2u);
  wait_for([&] { return logged("up-client net{5} of site[42]: timed out after 300 ms, killed"); }, "the timeout line");
  wait_for([&] { return logged("up-client net{99} of site[42]: timed out after 300 ms, killed"); },
           "the stubborn timeout line");
  EXPECT_TRUE(logged("up-client net{5} of site[42]: | started"));
  // The script's own child (its process group) got the signal too.
  auto child = std::stoi(slurp(dir_ / "child"));
  wait_for(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string pid, comm, state;
        return !(stat >> pid >> comm >> state) || state == "Z";
      },
      "the script's sleep to end");
}

TEST_F(UpdownTest, DownWaitsForItsUp) {
  start(4, std::chrono::seconds(30));
  auto path = script("order.sh", R"(
echo "$PLUTO_VERB start" >> "$D/order.$AIKE_CHILD_ID"
if [ "$PLUTO_VERB" = up-client ]; then while [ ! -e "$D/go" ]; do sleep 0.02; done; fi
echo "$PLUTO_VERB end" >> "$D/order.$AIKE_CHILD_ID"
)");
  auto up = v4_tunnel_event();
  up.updown = path;
  send(up);
  auto down = up;
  down.kind = sa_event_kind::child_down;
  send(down);
  auto other = up;  // another CHILD_SA is not held up
  other.child_id = 6;
  other.kind = sa_event_kind::child_down;
  send(other);
  // The other CHILD_SA's script ran and ended while the up of CHILD_SA 5 still runs.
  wait_for(
      [&] {
        auto s = ask();
        return s.started >= 2 && s.running == 1;
      },
      "the other CHILD_SA's script");
  EXPECT_NE(slurp(dir_ / "order.6").find("down-client end"), std::string::npos);
  auto s = ask();
  EXPECT_EQ(s.started, 2u);  // not the down of CHILD_SA 5
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.queued, 1u);  // the down of CHILD_SA 5, behind its up
  EXPECT_EQ(slurp(dir_ / "order.5"), "up-client start\n");
  std::ofstream(dir_ / "go") << "";
  wait_idle(3);
  EXPECT_EQ(slurp(dir_ / "order.5"), "up-client start\nup-client end\ndown-client start\ndown-client end\n");
}

TEST_F(UpdownTest, FailedExitStatusIsLoggedWithOutput) {
  start(2, std::chrono::seconds(30));
  auto ev = v4_tunnel_event();
  ev.updown = script("fail.sh", "echo to-stdout; echo oops >&2; exit 3");
  send(ev);
  auto missing = v4_tunnel_event();
  missing.child_id = 8;
  missing.updown = (dir_ / "does-not-exist").string();
  send(missing);
  wait_for([&] { return ask().failed == 2; }, "two failures");
  wait_idle(1);
  wait_for([&] { return logged("up-client net{5} of site[42]: exit status 3"); }, "the exit status line");
  wait_for([&] { return logged("up-client net{5} of site[42]: | oops"); }, "stderr in the log");
  EXPECT_TRUE(logged("up-client net{5} of site[42]: | to-stdout"));
  wait_for([&] { return logged("up-client net{8} of site[42]: cannot start"); }, "the spawn error");
}

TEST_F(UpdownTest, EventsWithoutScriptRunNothing) {
  start(2, std::chrono::seconds(30));
  auto ev = v4_tunnel_event();  // updown = ""
  send(ev);
  auto s = ask();
  EXPECT_EQ(s.started, 0u);
  EXPECT_EQ(s.queued, 0u);
}

TEST_F(UpdownTest, ExitKillsWhatStillRuns) {
  start(2, std::chrono::seconds(60));
  auto ev = v4_tunnel_event();
  ev.updown = script("long.sh", "echo $$ > \"$D/pid\"; sleep 60");
  send(ev);
  wait_for([&] { return fs::exists(dir_ / "pid") && !slurp(dir_ / "pid").empty(); }, "the script to start");
  // TearDown exits the supervisor and checks that no child is left (killed and reaped).
}
