#include "actors/control/control_actor.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "actors/control/departed_nodes.hpp"
#include "actors/control/json_writer.hpp"
#include "actors/event_hub.hpp"
#include "actors/messages.hpp"
#include "config/reqid_range.hpp"
#include "engine/common/number_text.hpp"
#include "engine/common/spi_text.hpp"
#include "engine/crypto/random.hpp"
#include "engine/proposal/parser.hpp"

namespace aike::actors {
namespace {

using self_ptr = caf::stateful_actor<control_state>*;
using args_map = std::map<std::string, std::string>;

using control::exit_failed;
using control::exit_ok;
using control::exit_refused;
using control::exit_usage;

// Arguments arrive as "key=value" lines (plain strings cross the TCP boundary safely).
args_map parse_args(const std::string& text) {
  args_map m;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string a = text.substr(start, end - start);
    start = end + 1;
    if (a.empty()) continue;
    auto eq = a.find('=');
    if (eq == std::string::npos)
      m[a] = "1";
    else
      m[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return m;
}

bool get_u32(const args_map& a, const std::string& k, std::uint32_t& out) {
  auto it = a.find(k);
  if (it == a.end()) return false;
  try {
    std::size_t pos = 0;
    unsigned long v = std::stoul(it->second, &pos);
    if (pos != it->second.size() || v > 0xffffffffUL) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  } catch (...) {
    return false;
  }
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The kernel backend's view of each CHILD_SA by id (data-plane counters of the userspace backend).
using kernel_view = std::map<std::uint32_t, kernel::installed_child>;

kernel_view by_child_id(std::vector<kernel::installed_child>& v) {
  kernel_view m;
  for (auto& c : v) m.emplace(c.child_id, std::move(c));
  return m;
}

const kernel::installed_child* counters_of(const kernel_view& k, std::uint32_t child_id) {
  auto it = k.find(child_id);
  return it != k.end() && it->second.has_counters ? &it->second : nullptr;
}

std::string sas_json(const std::vector<sa::ike_summary>& sas, const kernel_view& kv) {
  json_writer j;
  j.begin_array();
  for (const auto& s : sas) {
    j.begin_object()
        .field("name", s.name)
        .field("id", s.id)
        .field("state", s.state)
        .field("initiator", s.initiator)
        .field("local_addr", s.local.addr.to_string())
        .field("local_port", static_cast<unsigned>(s.local.port))
        .field("remote_addr", s.remote.addr.to_string())
        .field("remote_port", static_cast<unsigned>(s.remote.port))
        .field("local_id", s.local_id)
        .field("remote_id", s.remote_id)
        .field("local_spi", spi_hex(s.local_spi))
        .field("remote_spi", spi_hex(s.remote_spi))
        .field("proposal", s.proposal)
        .field("nat", s.nat)
        .field("established_s", s.established_at ? now_s() - s.established_at : std::int64_t{0});
    j.key("children").begin_array();
    for (const auto& c : s.children) {
      j.begin_object()
          .field("name", c.name)
          .field("id", c.id)
          .field("state", c.state)
          .field("reqid", c.reqid)
          .field("mode", c.mode)
          .field("spi_in", spi_hex(c.spi_in))
          .field("spi_out", spi_hex(c.spi_out))
          .field("local_ts", c.local_ts)
          .field("remote_ts", c.remote_ts)
          .field("proposal", c.proposal)
          .field("encap", c.encap);
      if (const auto* k = counters_of(kv, c.id))
        j.field("packets_in", k->packets_in)
            .field("bytes_in", k->bytes_in)
            .field("packets_out", k->packets_out)
            .field("bytes_out", k->bytes_out)
            .field("replay_drops", k->replay_drops)
            .field("auth_failures", k->auth_failures)
            .field("other_drops", k->other_drops);
      j.end_object();
    }
    j.end_array();
    // Added field: the old / redundant SAs of rekeys that wait for their DELETE.
    j.key("retiring").begin_array();
    for (const auto& r : s.retiring)
      j.begin_object()
          .field("local_spi", spi_hex(r.local_spi))
          .field("remote_spi", spi_hex(r.remote_spi))
          .field("state", r.state)
          .field("kind", r.kind)
          .end_object();
    j.end_array().end_object();
  }
  j.end_array();
  return j.str() + "\n";
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += sep;
    s += x;
  }
  return s;
}

std::string sas_text(const std::vector<sa::ike_summary>& sas, const kernel_view& kv) {
  std::string o;
  for (const auto& s : sas) {
    o += s.name + ": #" + std::to_string(s.id) + ", " + s.state + ", IKEv2, " + spi_hex(s.initiator ? s.local_spi : s.remote_spi) +
         "_i" + (s.initiator ? "*" : "") + " " + spi_hex(s.initiator ? s.remote_spi : s.local_spi) + "_r" +
         (s.initiator ? "" : "*") + "\n";
    o += "  local  '" + s.local_id + "' @ " + s.local.to_string() + "\n";
    o += "  remote '" + s.remote_id + "' @ " + s.remote.to_string() + (s.nat ? " (NAT-T)" : "") + "\n";
    if (!s.proposal.empty()) o += "  " + s.proposal + "\n";
    if (s.established_at) o += "  established " + std::to_string(now_s() - s.established_at) + "s ago\n";
    for (const auto& r : s.retiring)
      o += "  " + r.kind + " IKE SA " + spi_hex(r.local_spi) + "* " + spi_hex(r.remote_spi) + ", " + r.state + "\n";
    for (const auto& c : s.children) {
      o += "  " + c.name + ": #" + std::to_string(c.id) + ", reqid " + std::to_string(c.reqid) + ", " + c.state + ", " +
           c.mode + (c.encap ? "-in-UDP" : "") + ", ESP:" + c.proposal + "\n";
      const auto* k = counters_of(kv, c.id);
      auto traffic = [](std::uint64_t bytes, std::uint64_t packets) {
        return ", " + std::to_string(bytes) + " bytes, " + std::to_string(packets) + " packets";
      };
      o += "    in  " + spi_hex(c.spi_in) + (k ? traffic(k->bytes_in, k->packets_in) : "") + "\n";
      o += "    out " + spi_hex(c.spi_out) + (k ? traffic(k->bytes_out, k->packets_out) : "") + "\n";
      if (k && (k->replay_drops || k->auth_failures || k->other_drops))
        o += "    dropped: " + std::to_string(k->replay_drops) + " replayed, " + std::to_string(k->auth_failures) +
             " failed authentication, " + std::to_string(k->other_drops) + " other\n";
      o += "    local  " + join(c.local_ts) + "\n    remote " + join(c.remote_ts) + "\n";
    }
  }
  return o;
}

// The SAs of terminate and rekey: exactly one of all, ike, child, ike-id, child-id. Returns
// "" or the usage error.
std::string filter_of(const args_map& args, const std::string& cmd, sa_filter& f) {
  int selectors = 0;
  for (const char* k : {"all", "ike", "child", "ike-id", "child-id"}) {
    auto it = args.find(k);
    if (it == args.end()) continue;
    ++selectors;
    std::string key = k;
    if (key == "all") f.kind = sa_filter::by::all;
    if (key == "ike") f.kind = sa_filter::by::ike_name;
    if (key == "child") f.kind = sa_filter::by::child_name;
    if (key == "ike-id") f.kind = sa_filter::by::ike_id;
    if (key == "child-id") f.kind = sa_filter::by::child_id;
    if (key == "ike" || key == "child") f.name = it->second;
    if ((key == "ike-id" || key == "child-id") && !get_u32(args, key, f.id)) return "--" + key + " needs a number\n";
  }
  if (selectors != 1) return cmd + " needs exactly one of --ike, --ike-id, --child, --child-id, --all\n";
  return {};
}

std::string bulk_text(const char* verb, const bulk_result& r, bool json) {
  if (json) {
    json_writer j;
    j.begin_object()
        .field("matched", static_cast<std::uint64_t>(r.matched))
        .field("completed", static_cast<std::uint64_t>(r.completed))
        .field("failed", static_cast<std::uint64_t>(r.failed))
        .field("not_done", r.not_done)
        .field("errors", r.errors)
        .end_object();
    return j.str() + "\n";
  }
  std::string o;
  for (const auto& e : r.errors) o += e + "\n";
  o += std::string(verb) + " " + grouped(r.completed) + " / " + grouped(r.matched);
  if (r.failed) o += ", " + std::to_string(r.failed) + " failed";
  o += "\n";
  if (!r.not_done.empty()) o += "not finished in time: " + join(r.not_done) + "\n";
  return o;
}

std::int32_t bulk_code(const bulk_result& r) {
  return (r.errors.empty() && r.failed == 0 && r.not_done.empty()) ? exit_ok : exit_failed;
}

std::string conns_json(const config::config& cfg) {
  json_writer j;
  j.begin_array();
  for (const auto& c : cfg.connections) {
    const auto& ike = *c.ike;
    std::vector<std::string> la, ra, props;
    for (const auto& a : ike.local_addrs) la.push_back(a.to_string());
    for (const auto& a : ike.remote_addrs) ra.push_back(a.to_string());
    if (ra.empty()) ra.push_back("%any");
    for (const auto& p : ike.ike_proposals) props.push_back(proposal::to_string(p));
    j.begin_object()
        .field("name", ike.name)
        .field("local_addrs", la)
        .field("remote_addrs", ra)
        .field("proposals", props)
        .field("local_id", ike.local.id.to_string())
        .field("remote_id", ike.remote.id.to_string());
    j.key("children").begin_array();
    for (const auto& ch : ike.children) {
      std::vector<std::string> lt, rt, ep;
      for (const auto& t : ch.local_ts) lt.push_back(t.to_string());
      for (const auto& t : ch.remote_ts) rt.push_back(t.to_string());
      for (const auto& p : ch.esp_proposals) ep.push_back(proposal::to_string(p));
      j.begin_object()
          .field("name", ch.name)
          .field("local_ts", lt)
          .field("remote_ts", rt)
          .field("esp_proposals", ep)
          .field("mode", ch.mode == sa::child_mode::tunnel ? "tunnel" : "transport")
          .end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();
  return j.str() + "\n";
}

std::string conns_text(const config::config& cfg) {
  std::string o;
  for (const auto& c : cfg.connections) {
    const auto& ike = *c.ike;
    std::vector<std::string> la, ra, props;
    for (const auto& a : ike.local_addrs) la.push_back(a.to_string());
    for (const auto& a : ike.remote_addrs) ra.push_back(a.to_string());
    for (const auto& p : ike.ike_proposals) props.push_back(proposal::to_string(p));
    o += ike.name + ": " + (la.empty() ? "%any" : join(la, ",")) + "..." + (ra.empty() ? "%any" : join(ra, ",")) +
         " IKEv2\n";
    o += "  local:  " + ike.local.id.to_string() + " (" + (ike.local.kind == sa::auth_kind::psk ? "psk" : "pubkey") + ")\n";
    o += "  remote: " + ike.remote.id.to_string() + " (" + (ike.remote.kind == sa::auth_kind::psk ? "psk" : "pubkey") +
         ")\n";
    o += "  proposals: " + join(props, ", ") + "\n";
    for (const auto& ch : ike.children) {
      std::vector<std::string> lt, rt;
      for (const auto& t : ch.local_ts) lt.push_back(t.to_string());
      for (const auto& t : ch.remote_ts) rt.push_back(t.to_string());
      o += "  " + ch.name + ": " + (ch.mode == sa::child_mode::tunnel ? "TUNNEL" : "TRANSPORT") + "\n";
      o += "    local:  " + (lt.empty() ? std::string("dynamic") : join(lt)) + "\n";
      o += "    remote: " + (rt.empty() ? std::string("dynamic") : join(rt)) + "\n";
    }
  }
  return o;
}

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

caf::message reply(std::int32_t code, std::string text) { return caf::make_message(code, std::move(text)); }

// aikectl asks for progress lines ("progress" argument) when it prints to a terminal; they go to
// the actor that sent the request. Call it before make_response_promise(), which moves the
// sender into the promise.
caf::actor progress_target(self_ptr self, const args_map& args) {
  if (!args.count("progress")) return {};
  return caf::actor_cast<caf::actor>(self->current_sender());
}

// aikectl load [--file PATH] [--timeout S]; a relative --file was made absolute by aikectl.
// rekey --reauth (--ike NAME / --ike-id N): each IKE SA asked makes a new IKE SA that replaces it
// (make-before-break); answered once asked, list-sas shows the new SA.
caf::result<caf::message> reauth_command(self_ptr self, const caf::actor& registry, const sa_filter& f, bool ike,
                                         bool json) {
  if (!ike) return reply(exit_usage, "rekey --reauth needs --ike or --ike-id\n");
  auto rp = self->make_response_promise();
  self->request(registry, std::chrono::seconds(30), reauth_atom::value, f)
      .then(
          [rp, json](bulk_result& r) mutable {
            if (json)
              rp.deliver(r.matched ? exit_ok : exit_failed, bulk_text("reauthenticating", r, true));
            else if (r.matched == 0)
              rp.deliver(exit_failed, std::string("no matching IKE SA\n"));
            else
              rp.deliver(exit_ok, "reauthenticating " + std::to_string(r.matched) + " IKE SA(s)\n");
          },
          [rp](caf::error& e) mutable { rp.deliver(exit_failed, "reauth failed: " + caf::to_string(e) + "\n"); });
  return caf::result<caf::message>(caf::delegated<caf::message>());
}

caf::result<caf::message> load_command(self_ptr self, const args_map& args, bool json) {
  auto& st = self->state;
  std::uint32_t timeout = 30;
  if (args.count("timeout") && !get_u32(args, "timeout", timeout))
    return reply(exit_usage, "--timeout needs a number of seconds\n");
  auto file = args.find("file");
  std::string path = file != args.end() && !file->second.empty() ? file->second : st.reload.daemon_path;
  auto rp = self->make_response_promise();
  reload_config(self, st.reload, st.cfg, st.registry, st.log, path, timeout * 1000, json,
                [rp](std::int32_t code, std::string text) mutable { rp.deliver(code, std::move(text)); });
  return caf::result<caf::message>(caf::delegated<caf::message>());
}

}  // namespace

std::string new_control_token() { return to_hex(crypto::random_bytes(32)); }

status write_control_token(const std::string& path, const std::string& token) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(errc::invalid_argument, "cannot create " + dir + ": " + std::strerror(errno));
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::invalid_argument, "cannot write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(errc::invalid_argument, "cannot write " + path + ": " + std::strerror(errno));
  return ok_v;
}

namespace {

using sweep_nodes_atom = caf::atom_constant<caf::atom("sweepnode")>;
constexpr auto sweep_every = std::chrono::seconds(10);

// Messages from the daemon itself (signals, timers) come with no sender or a local one.
bool from_this_process(caf::stateful_actor<control_state>* self) {
  const auto& sender = self->current_sender();
  return !sender || sender->node() == self->node();
}

}  // namespace

caf::behavior control_actor(caf::stateful_actor<control_state>* self, caf::actor registry, caf::actor kernel,
                            caf::actor events, caf::actor updown, std::shared_ptr<const config::config> cfg,
                            std::string token, log_sink log, std::shared_ptr<config::credential_cache> creds) {
  auto& st = self->state;
  st.registry = std::move(registry);
  st.events = std::move(events);
  st.kernel = std::move(kernel);
  st.updown = std::move(updown);
  st.cfg = std::move(cfg);
  st.token = std::move(token);
  st.log = std::move(log);
  st.started_at = now_s();
  st.reload.creds = std::move(creds);
  st.reload.daemon_path = st.cfg->path;
  self->delayed_send(self, sweep_every, sweep_nodes_atom::value);
  return {
      [self](ctl_atom, const std::string& token, const std::string& cmd,
             const std::string& raw_args) -> caf::result<caf::message> {
        auto& st = self->state;
        if (token.size() != st.token.size() || CRYPTO_memcmp(token.data(), st.token.data(), token.size()) != 0) {
          st.log(level::warning, "refused control request '" + cmd.substr(0, 32) + "': wrong or missing token");
          return reply(exit_refused, "authentication refused: wrong token (check --token-file)\n");
        }
        auto args = parse_args(raw_args);
        bool json = args.count("json");
        st.log(level::debug, "control: " + cmd);

        if (cmd == "version") return reply(exit_ok, std::string("aiked ") + AIKE_VERSION + "\n");

        if (cmd == "load") return load_command(self, args, json);

        if (cmd == "list-conns") return reply(exit_ok, json ? conns_json(*st.cfg) : conns_text(*st.cfg));

        if (cmd == "list-sas") {
          sa_filter f;
          std::uint32_t id = 0;
          if (args.count("ike")) {
            f.kind = sa_filter::by::ike_name;
            f.name = args["ike"];
          } else if (args.count("ike-id")) {
            if (!get_u32(args, "ike-id", id)) return reply(exit_usage, "--ike-id needs a number\n");
            f.kind = sa_filter::by::ike_id;
            f.id = id;
          }
          auto rp = self->make_response_promise();
          auto kernel = st.kernel;
          self->request(st.registry, std::chrono::seconds(30), list_atom::value, f)
              .then([self, rp, json, kernel](std::vector<sa::ike_summary>& v) mutable {
                // Then the backend's counters; without an answer the SAs are listed without them.
                auto sas = std::make_shared<std::vector<sa::ike_summary>>(std::move(v));
                auto answer = [rp, json, sas](const kernel_view& kv) mutable {
                  rp.deliver(exit_ok, json ? sas_json(*sas, kv) : sas_text(*sas, kv));
                };
                self->request(kernel, std::chrono::seconds(5), list_atom::value)
                    .then([answer](std::vector<kernel::installed_child>& k) mutable { answer(by_child_id(k)); },
                          [answer](caf::error&) mutable { answer({}); });
              },
                    [rp](caf::error& e) mutable {
                      rp.deliver(exit_failed, "list-sas failed: " + caf::to_string(e) + "\n");
                    });
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        if (cmd == "stats") {
          auto rp = self->make_response_promise();
          auto started = st.started_at;
          // The kernel actor's backend name, then the updown supervisor's counts (zeros when it does
          // not answer), then the registry's.
          auto backend = std::make_shared<std::string>();
          const auto own = st.cfg->daemon.xfrm_ownership;  // reloads keep the one in effect
          auto with_updown = [self, rp, json, started, backend, own](std::uint64_t ud_running,
                                                                      std::uint64_t ud_queued) mutable {
          self->request(self->state.registry, std::chrono::seconds(30), stats_atom::value)
              .then([rp, json, started, ud_running, ud_queued, backend, own](registry_stats& s) mutable {
                long rss = rss_bytes();
                std::int64_t up = now_s() - started;
                if (json) {
                  json_writer j;
                  j.begin_object()
                      .field("ike_sas", static_cast<std::uint64_t>(s.ike_sas))
                      .field("ike_sas_established", static_cast<std::uint64_t>(s.ike_sas_established))
                      .field("half_open", static_cast<std::uint64_t>(s.half_open))
                      .field("child_sas", static_cast<std::uint64_t>(s.child_sas))
                      .field("updown_running", ud_running)
                      .field("updown_queued", ud_queued)
                      .field("messages_in", s.messages_in)
                      .field("messages_out", s.messages_out)
                      .field("cookies_sent", s.cookies_sent);
                  j.key("drops").begin_object();
                  for (const auto& [r, n] : s.drops) j.field(r, n);
                  j.end_object();
                  j.key("by_state").begin_object();
                  for (const auto& [k, n] : s.by_state) j.field(k, static_cast<std::uint64_t>(n));
                  j.end_object();
                  j.field("rss_bytes", static_cast<std::int64_t>(rss)).field("uptime_s", up);
                  // The backend and the marks of aiked's kernel objects (aikectl doctor's band).
                  j.key("kernel").begin_object();
                  j.field("backend", *backend)
                      .field("reqid_range", config::format_reqid_range({own.reqid_first, own.reqid_count}))
                      .field("policy_priority_base", static_cast<std::uint64_t>(own.policy_priority_first));
                  j.end_object().end_object();
                  rp.deliver(exit_ok, j.str() + "\n");
                  return;
                }
                std::string o = "uptime: " + std::to_string(up) + "s, resident memory: " + std::to_string(rss / 1024) +
                                " KiB\nIKE SAs: " + std::to_string(s.ike_sas) + " total, " +
                                std::to_string(s.ike_sas_established) + " established, " + std::to_string(s.half_open) +
                                " half-open\nCHILD_SAs: " + std::to_string(s.child_sas) + "\nupdown scripts: " +
                                std::to_string(ud_running) + " running, " + std::to_string(ud_queued) +
                                " queued\nmessages: " +
                                std::to_string(s.messages_in) + " in, " + std::to_string(s.messages_out) + " out\n";
                if (!s.by_state.empty()) {
                  o += "by state:";
                  for (const auto& [k, n] : s.by_state) o += " " + k + "=" + std::to_string(n);
                  o += "\n";
                }
                o += "kernel: " + (backend->empty() ? std::string("?") : *backend) + " backend, reqids " +
                     config::format_reqid_range({own.reqid_first, own.reqid_count}) + ", policy priorities from " +
                     std::to_string(own.policy_priority_first) + "\n";
                if (s.cookies_sent) o += "COOKIEs sent: " + std::to_string(s.cookies_sent) + "\n";
                if (!s.drops.empty()) {
                  o += "dropped:";
                  for (const auto& [r, n] : s.drops) o += " " + r + "=" + std::to_string(n);
                  o += "\n";
                }
                rp.deliver(exit_ok, o);
              },
                    [rp](caf::error& e) mutable { rp.deliver(exit_failed, "stats failed: " + caf::to_string(e) + "\n"); });
          };
          auto ask_updown = [self, with_updown, updown = st.updown]() mutable {
            if (!updown) {
              with_updown(0, 0);
              return;
            }
            self->request(updown, std::chrono::seconds(5), stats_atom::value)
                .then([with_updown](std::uint64_t running, std::uint64_t queued, std::uint64_t, std::uint64_t) mutable {
                  with_updown(running, queued);
                },
                      [with_updown](caf::error&) mutable { with_updown(0, 0); });
          };
          if (!st.kernel) {
            ask_updown();
          } else {
            self->request(st.kernel, std::chrono::seconds(5), stats_atom::value)
                .then([backend, ask_updown](const std::string& name) mutable {
                  *backend = name;
                  ask_updown();
                },
                      [ask_updown](caf::error&) mutable { ask_updown(); });
          }
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        if (cmd == "initiate") {
          std::string conn, child;
          if (args.count("child")) {
            child = args["child"];
            for (const auto& c : st.cfg->connections)
              if (c.ike->find_child(child)) {
                conn = c.ike->name;
                break;
              }
            if (conn.empty()) return reply(exit_failed, "no child named '" + child + "' in any connection\n");
          } else if (args.count("ike")) {
            conn = args["ike"];
            if (!st.cfg->find(conn)) return reply(exit_failed, "no connection named '" + conn + "'\n");
          } else {
            return reply(exit_usage, "initiate needs --ike NAME or --child NAME\n");
          }
          // Without --count: initiate_one (may reuse an IKE SA); --count N: N new IKE SAs, also N = 1.
          std::uint32_t count = initiate_one, timeout = 30;
          if (args.count("count") && (!get_u32(args, "count", count) || count == 0))
            return reply(exit_usage, "--count needs a positive number\n");
          if (args.count("timeout") && !get_u32(args, "timeout", timeout))
            return reply(exit_usage, "--timeout needs a number of seconds\n");
          bool block = !args.count("noblock");
          auto progress = progress_target(self, args);  // before the promise takes the sender over
          auto rp = self->make_response_promise();
          self->request(st.registry, std::chrono::seconds(timeout + 30), initiate_atom::value, conn, child, count,
                        timeout * 1000, block, std::move(progress))
              .then([rp, json, block](bulk_result& r) mutable {
                std::int32_t code = bulk_code(r);
                if (!block && r.errors.empty()) {
                  rp.deliver(code, json ? bulk_text("initiated", r, true)
                                        : "initiating " + std::to_string(r.matched) + " IKE SA(s)\n");
                  return;
                }
                rp.deliver(code, bulk_text("established", r, json));
              },
                    [rp](caf::error& e) mutable { rp.deliver(exit_failed, "initiate failed: " + caf::to_string(e) + "\n"); });
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        if (cmd == "terminate") {
          sa_filter f;
          if (auto why = filter_of(args, "terminate", f); !why.empty()) return reply(exit_usage, why);
          std::uint32_t timeout = 30;
          if (args.count("timeout") && !get_u32(args, "timeout", timeout))
            return reply(exit_usage, "--timeout needs a number of seconds\n");
          bool block = !args.count("noblock");
          bool force = args.count("force");
          auto progress = progress_target(self, args);  // before the promise takes the sender over
          auto rp = self->make_response_promise();
          self->request(st.registry, std::chrono::seconds(timeout + 30), terminate_atom::value, f, force,
                        timeout * 1000, block, std::move(progress))
              .then([rp, json, block](bulk_result& r) mutable {
                if (!block) {
                  rp.deliver(exit_ok, json ? bulk_text("terminating", r, true)
                                           : "terminating " + std::to_string(r.matched) + " SA(s)\n");
                  return;
                }
                std::int32_t code = bulk_code(r);
                if (r.matched == 0) code = exit_failed;
                rp.deliver(code, r.matched == 0 && !json ? std::string("no matching SA\n")
                                                         : bulk_text("terminated", r, json));
              },
                    [rp](caf::error& e) mutable {
                      rp.deliver(exit_failed, "terminate failed: " + caf::to_string(e) + "\n");
                    });
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        if (cmd == "monitor") {
          monitor_subscription sub;
          sub.client = caf::actor_cast<caf::actor>(self->current_sender());
          if (!sub.client) return reply(exit_usage, "monitor needs a client that can receive events\n");
          sub.events = !args.count("no-events");
          sub.json = json;
          if (args.count("log")) {
            level l;
            if (!parse_level(args["log"], l))
              return reply(exit_usage, "--log takes error, warning, info or debug, not '" + args["log"] + "'\n");
            sub.log_level = static_cast<int>(l);
          }
          if (!sub.events && sub.log_level < 0) return reply(exit_usage, "--no-events without --log shows nothing\n");
          if (!st.events) return reply(exit_failed, "this daemon has no event hub\n");
          st.log(level::info, "monitor connected" + std::string(sub.log_level >= 0 ? " (log lines up to " + args["log"] + ")" : ""));
          // Answered once the hub counts the subscription: SA actors build events only while
          // someone wants them, so an event after this answer is never skipped.
          auto rp = self->make_response_promise();
          self->request(st.events, std::chrono::seconds(10), subscribe_atom::value, sub)
              .then([rp](bool) mutable { rp.deliver(exit_ok, std::string()); },
                    [rp](caf::error& e) mutable {
                      rp.deliver(exit_failed, "monitor: the event hub did not answer: " + caf::to_string(e) + "\n");
                    });
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        if (cmd == "rekey") {
          sa_filter f;
          if (auto why = filter_of(args, "rekey", f); !why.empty()) return reply(exit_usage, why);
          // --ike / --ike-id, and --all --ike-sas, rekey IKE SAs; --child / --child-id / --all
          // CHILD_SAs. Blocking (the default), the answer counts the SAs whose rekey really
          // completed (new SA in, old one out).
          const bool child_filter = f.kind == sa_filter::by::child_name || f.kind == sa_filter::by::child_id;
          if (args.count("ike-sas") && child_filter)
            return reply(exit_usage, "--ike-sas goes with --all, --ike or --ike-id, not with --child / --child-id\n");
          const bool ike = !child_filter && (f.kind != sa_filter::by::all || args.count("ike-sas"));
          if (args.count("reauth")) return reauth_command(self, st.registry, f, ike, json);
          const std::string what = ike ? "IKE SA" : "CHILD_SA";
          std::uint32_t timeout = 30;
          if (args.count("timeout") && !get_u32(args, "timeout", timeout))
            return reply(exit_usage, "--timeout needs a number of seconds\n");
          bool block = !args.count("noblock");
          auto progress = progress_target(self, args);  // before the promise takes the sender over
          auto rp = self->make_response_promise();
          auto req = ike ? self->request(st.registry, std::chrono::seconds(timeout + 30), rekey_ike_atom::value, f,
                                         timeout * 1000, block, std::move(progress))
                         : self->request(st.registry, std::chrono::seconds(timeout + 30), rekey_atom::value, f,
                                         timeout * 1000, block, std::move(progress));
          std::move(req).then(
                  [rp, json, block, what](bulk_result& r) mutable {
                    if (r.matched == 0) {
                      rp.deliver(exit_failed, json ? bulk_text("rekeyed", r, true) : "no matching " + what + "\n");
                    } else if (!block) {
                      rp.deliver(exit_ok, json ? bulk_text("rekeying", r, true)
                                               : "rekeying " + std::to_string(r.matched) + " " + what + "(s)\n");
                    } else {
                      rp.deliver(bulk_code(r), bulk_text("rekeyed", r, json));
                    }
                  },
                  [rp](caf::error& e) mutable { rp.deliver(exit_failed, "rekey failed: " + caf::to_string(e) + "\n"); });
          return caf::result<caf::message>(caf::delegated<caf::message>());
        }

        return reply(exit_usage, "unknown command '" + cmd + "'\n");
      },
      // SIGHUP: the same reload as `aikectl load`, of the daemon's own file; the outcome is logged.
      // Only from this process: a message over TCP without a token is no command.
      [self](reload_atom) {
        if (!from_this_process(self)) return;
        auto& st = self->state;
        reload_config(self, st.reload, st.cfg, st.registry, st.log, st.reload.daemon_path, 30000, false,
                      [](std::int32_t, std::string) {});
      },
      // Every sweep_every: forget aikectl processes that have gone (see departed_nodes.hpp).
      [self](sweep_nodes_atom) {
        if (!from_this_process(self)) return;
        sweep_departed_nodes(self->system());
        self->delayed_send(self, sweep_every, sweep_nodes_atom::value);
      },
  };
}

}  // namespace aike::actors
