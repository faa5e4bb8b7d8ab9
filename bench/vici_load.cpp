// vici_load: a small load generator for strongSwan's charon, speaking the vici protocol over its
// UNIX socket. Debian's charon has no load-tester plugin; this drives it from outside instead, for
// bench/daemon_vs_charon.sh (docs/benchmarks.md, "Daemon vs charon").
//
//   vici_load SOCKET initiate CHILD IKE COUNT [WINDOW=128] [MAX_HALF_OPEN=0]
//       sends COUNT `initiate` requests (timeout -1: charon answers at once and sets the SA up in
//       the background), at most WINDOW unanswered at a time on one connection; with
//       MAX_HALF_OPEN > 0, paced so that at most that many of them are not yet up; prints
//       "sent N accepted A refused R"
//   vici_load SOCKET terminate IKE
//       one `terminate` request for every IKE SA of connection IKE, timeout -1; prints the reply
//   vici_load SOCKET wait-up N TIMEOUT_S
//       polls `stats` until N IKE SAs are not half-open (total - half-open >= N); exit 1 on
//       timeout, 3 when nothing is half-open and nothing changed for 10 s (some SAs failed)
//   vici_load SOCKET wait-empty TIMEOUT_S
//       polls `stats` until charon has no IKE SA at all; exit 1 on timeout
//   Both print "done|settled|timeout total T half_open H last_change EPOCH_S".
//   vici_load SOCKET stats
//       prints "total T half_open H"
//   vici_load SOCKET rekey ike|child NAME COUNT TIMEOUT_S [STALL_S=60]
//       subscribes to charon's `ike-rekey` (or `child-rekey`) events, sends one `rekey` request for
//       every IKE SA (or CHILD_SA) named NAME (charon answers once the rekeys are queued, without
//       waiting for them), then counts rekey events until COUNT arrived, TIMEOUT_S passed, or no
//       event came for STALL_S seconds after the answer (rekeys lost: their IKE SAs failed); prints
//       "done|timeout|stalled matches M events E answered_at EPOCH_S last_event EPOCH_S"; exit 1
//       unless done
//
// Wire format (strongSwan's vici README): every packet is a 32-bit big-endian length followed by
// that many octets; the first octet is the packet type, named types carry an 8-bit length and the
// name, and the rest is a message: a sequence of elements (section start/end, key=value, list
// start/item/end), names with an 8-bit length, values with a 16-bit big-endian length.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

enum packet_type : std::uint8_t {
  cmd_request = 0,
  cmd_response = 1,
  cmd_unknown = 2,
  event_register = 3,
  event_unregister = 4,
  event_confirm = 5,
  event_unknown = 6,
  event = 7,
};

enum element_type : std::uint8_t {
  section_start = 1,
  section_end = 2,
  key_value = 3,
  list_start = 4,
  list_item = 5,
  list_end = 6,
};

// Builds the message part of a request.
class message_builder {
 public:
  message_builder& kv(std::string_view key, std::string_view value) {
    out_.push_back(key_value);
    name(key);
    blob(value);
    return *this;
  }
  // A packet of TYPE with NAME and this message, length prefix included.
  std::string packet(std::uint8_t type, std::string_view pname) const {
    std::string body;
    body.push_back(static_cast<char>(type));
    body.push_back(static_cast<char>(pname.size()));
    body.append(pname);
    body.append(out_);
    std::string p;
    auto n = static_cast<std::uint32_t>(body.size());
    p.push_back(static_cast<char>(n >> 24));
    p.push_back(static_cast<char>(n >> 16));
    p.push_back(static_cast<char>(n >> 8));
    p.push_back(static_cast<char>(n));
    return p + body;
  }

 private:
  void name(std::string_view s) {
    if (s.size() > 255) throw std::runtime_error("vici name longer than 255 octets");
    out_.push_back(static_cast<char>(s.size()));
    out_.append(s);
  }
  void blob(std::string_view s) {
    if (s.size() > 65535) throw std::runtime_error("vici value longer than 65535 octets");
    out_.push_back(static_cast<char>(s.size() >> 8));
    out_.push_back(static_cast<char>(s.size() & 0xff));
    out_.append(s);
  }
  std::string out_;
};

// A message flattened to "section.sub.key" -> value (list items joined with ',').
using flat_message = std::map<std::string, std::string>;

flat_message parse_message(std::string_view m) {
  flat_message r;
  std::vector<std::string> path;
  std::string list_name;
  std::size_t i = 0;
  auto need = [&](std::size_t n) {
    if (m.size() - i < n) throw std::runtime_error("truncated vici message");
  };
  auto read_name = [&] {
    need(1);
    std::size_t n = static_cast<std::uint8_t>(m[i++]);
    need(n);
    std::string s(m.substr(i, n));
    i += n;
    return s;
  };
  auto read_blob = [&] {
    need(2);
    std::size_t n = (static_cast<std::size_t>(static_cast<std::uint8_t>(m[i])) << 8) | static_cast<std::uint8_t>(m[i + 1]);
    i += 2;
    need(n);
    std::string s(m.substr(i, n));
    i += n;
    return s;
  };
  auto prefix = [&] {
    std::string p;
    for (const auto& s : path) p += s + ".";
    return p;
  };
  while (i < m.size()) {
    auto t = static_cast<std::uint8_t>(m[i++]);
    switch (t) {
      case section_start: path.push_back(read_name()); break;
      case section_end:
        if (path.empty()) throw std::runtime_error("unbalanced vici section end");
        path.pop_back();
        break;
      case key_value: {
        auto k = read_name();
        r[prefix() + k] = read_blob();
        break;
      }
      case list_start: list_name = prefix() + read_name(); r[list_name]; break;
      case list_item: {
        auto& v = r[list_name];
        if (!v.empty()) v += ",";
        v += read_blob();
        break;
      }
      case list_end: list_name.clear(); break;
      default: throw std::runtime_error("unknown vici element type " + std::to_string(t));
    }
  }
  return r;
}

class connection {
 public:
  explicit connection(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof(a.sun_path)) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
      throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { ::close(fd_); }

  int fd() const { return fd_; }

  void send(const std::string& packet) {
    std::size_t off = 0;
    while (off < packet.size()) {
      auto n = ::write(fd_, packet.data() + off, packet.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(std::string("write to vici socket: ") + std::strerror(errno));
      off += static_cast<std::size_t>(n);
    }
  }

  // Reads one packet; returns its type and fills NAME (for named types) and MESSAGE.
  std::uint8_t receive(std::string& name, std::string& message) {
    std::uint8_t len[4];
    read_exact(len, 4);
    std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) | (std::uint32_t{len[2]} << 8) | len[3];
    if (n == 0 || n > 512 * 1024) throw std::runtime_error("bad vici packet length " + std::to_string(n));
    std::string body(n, '\0');
    read_exact(body.data(), n);
    auto type = static_cast<std::uint8_t>(body[0]);
    std::size_t off = 1;
    name.clear();
    if (type == cmd_request || type == event_register || type == event_unregister || type == event) {
      if (body.size() < 2) throw std::runtime_error("truncated vici packet");
      std::size_t nl = static_cast<std::uint8_t>(body[1]);
      if (body.size() < 2 + nl) throw std::runtime_error("truncated vici packet name");
      name = body.substr(2, nl);
      off = 2 + nl;
    }
    message = body.substr(off);
    return type;
  }

  // True when a packet can be read within MS milliseconds.
  bool readable(int ms) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    return r > 0;
  }

  // One request, waiting for its response (events in between are skipped).
  flat_message call(std::string_view command, const message_builder& args) {
    send(args.packet(cmd_request, command));
    std::string name, msg;
    for (;;) {
      auto t = receive(name, msg);
      if (t == cmd_response) return parse_message(msg);
      if (t == cmd_unknown) throw std::runtime_error("charon does not know the vici command '" + std::string(command) + "'");
      if (t != event) throw std::runtime_error("unexpected vici packet type " + std::to_string(t));
    }
  }

 private:
  void read_exact(void* p, std::size_t n) {
    auto* c = static_cast<char*>(p);
    while (n) {
      auto r = ::read(fd_, c, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw std::runtime_error(r == 0 ? "vici socket closed by charon" : std::string("read: ") + std::strerror(errno));
      c += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  int fd_ = -1;
};

unsigned long to_number(const std::string& s, const char* what) {
  char* end = nullptr;
  errno = 0;
  auto v = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end || errno) throw std::invalid_argument(std::string("not a number for ") + what + ": '" + s + "'");
  return v;
}

struct sa_counts {
  unsigned long total = 0, half_open = 0;
};

sa_counts read_stats(connection& c) {
  auto r = c.call("stats", message_builder{});
  sa_counts s;
  s.total = to_number(r["ikesas.total"], "ikesas.total");
  s.half_open = to_number(r["ikesas.half-open"], "ikesas.half-open");
  return s;
}

// Sends COUNT initiate requests for CHILD of IKE on C, at most WINDOW unanswered at a time.
// Returns the number charon refused; keeps the first refusal's message in FIRST_ERROR.
unsigned long send_initiates(connection& c, const std::string& child, const std::string& ike, unsigned long count,
                             unsigned long window, std::string& first_error) {
  auto req = message_builder{}.kv("child", child).kv("ike", ike).kv("timeout", "-1").kv("init-limits", "no").packet(cmd_request, "initiate");
  unsigned long sent = 0, answered = 0, refused = 0;
  std::string name, msg;
  while (answered < count) {
    while (sent < count && sent - answered < window) {
      c.send(req);
      ++sent;
    }
    auto t = c.receive(name, msg);
    if (t == event) continue;
    if (t == cmd_unknown) throw std::runtime_error("charon does not know the vici command 'initiate'");
    if (t != cmd_response) throw std::runtime_error("unexpected vici packet type " + std::to_string(t));
    ++answered;
    auto r = parse_message(msg);
    // With timeout -1 charon answers before the outcome is known; "yes" means it queued the job.
    if (r["success"] != "yes") {
      ++refused;
      if (first_error.empty()) first_error = r["errmsg"];
    }
  }
  return refused;
}

// MAX_HALF_OPEN 0: all COUNT at once. Otherwise paced: charon's `stats` is polled every 20 ms on a
// second connection and more requests are sent only while fewer than MAX_HALF_OPEN of those sent
// are not yet up (sent - (total - half-open)); gives up if nothing came up for 30 s.
int do_initiate(const std::string& path, const std::string& child, const std::string& ike, unsigned long count,
                unsigned long window, unsigned long max_half_open) {
  connection c(path);
  std::string first_error;
  unsigned long sent = 0, refused = 0;
  if (max_half_open == 0) {
    refused = send_initiates(c, child, ike, count, window, first_error);
    sent = count;
  } else {
    connection st(path);
    using clock = std::chrono::steady_clock;
    auto base = read_stats(st);
    unsigned long base_up = base.total - base.half_open, last_up = base_up;
    auto last_change = clock::now();
    while (sent < count) {
      auto s = read_stats(st);
      unsigned long up = s.total - s.half_open - std::min(base_up, s.total - s.half_open);
      if (up != last_up) {
        last_up = up;
        last_change = clock::now();
      } else if (clock::now() - last_change > std::chrono::seconds(30)) {
        std::fprintf(stderr, "vici_load: no IKE SA came up for 30 s, stopping after %lu requests\n", sent);
        break;
      }
      unsigned long pending = sent > up ? sent - up : 0;
      if (pending < max_half_open) {
        auto k = std::min(max_half_open - pending, count - sent);
        refused += send_initiates(c, child, ike, k, window, first_error);
        sent += k;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::printf("sent %lu accepted %lu refused %lu\n", sent, sent - refused, refused);
  if (refused) std::fprintf(stderr, "vici_load: first refusal: %s\n", first_error.c_str());
  return refused || sent < count ? 1 : 0;
}

int do_terminate(connection& c, const std::string& ike) {
  auto r = c.call("terminate", message_builder{}.kv("ike", ike).kv("timeout", "-1"));
  std::printf("success %s matches %s terminated %s%s%s\n", r["success"].c_str(), r["matches"].c_str(), r["terminated"].c_str(),
              r["errmsg"].empty() ? "" : " errmsg ", r["errmsg"].c_str());
  return r["success"] == "yes" ? 0 : 1;
}

// Polls `stats` every 20 ms until DONE(counts) holds (exit 0), or until SETTLE_S seconds passed
// without any change while nothing is half-open (exit 3: some SAs failed and nothing is under way
// any more), or TIMEOUT_S (exit 1). Prints the counts and, as a wall-clock time (seconds since the
// epoch), when they last changed, so that a caller can time the work that really happened.
template <class Done>
int poll_stats(connection& c, double timeout_s, double settle_s, Done done) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto wall = [] { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); };
  sa_counts s, last{~0ul, ~0ul};
  double last_change_wall = wall();
  auto last_change = clock::now();
  for (;;) {
    s = read_stats(c);
    if (s.total != last.total || s.half_open != last.half_open) {
      last = s;
      last_change = clock::now();
      last_change_wall = wall();
    }
    const char* outcome = nullptr;
    int rc = 0;
    if (done(s)) {
      outcome = "done";
    } else if (s.half_open == 0 && clock::now() - last_change > std::chrono::duration<double>(settle_s)) {
      outcome = "settled";
      rc = 3;
    } else if (clock::now() - start > std::chrono::duration<double>(timeout_s)) {
      outcome = "timeout";
      rc = 1;
    }
    if (outcome) {
      std::printf("%s total %lu half_open %lu last_change %.6f\n", outcome, s.total, s.half_open, last_change_wall);
      return rc;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

double wall_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// One `rekey` request by name (KIND is "ike" or "child"), then counts charon's rekey events of that
// kind until COUNT arrived. The events are subscribed to first, so none is missed.
int do_rekey(connection& c, const std::string& kind, const std::string& name, unsigned long count, double timeout_s,
             double stall_s) {
  const std::string ev = kind + "-rekey";
  c.send(message_builder{}.packet(event_register, ev));
  std::string pname, msg;
  for (;;) {
    auto t = c.receive(pname, msg);
    if (t == event_confirm) break;
    if (t == event_unknown) throw std::runtime_error("charon does not know the vici event '" + ev + "'");
  }
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  c.send(message_builder{}.kv(kind, name).packet(cmd_request, "rekey"));
  unsigned long events = 0;
  std::string matches = "?";
  double answered_at = 0, last_event = 0;
  bool answered = false, stalled = false;
  auto last_seen = clock::now();
  while (events < count || !answered) {
    using ms = std::chrono::milliseconds;
    auto left = std::chrono::duration_cast<ms>(std::chrono::duration<double>(timeout_s) - (clock::now() - start));
    auto quiet_left = std::chrono::duration_cast<ms>(std::chrono::duration<double>(stall_s) - (clock::now() - last_seen));
    if (answered && quiet_left.count() <= 0) {
      stalled = true;
      break;
    }
    if (left.count() <= 0) break;
    auto wait = answered ? std::min(left, quiet_left) : left;
    if (!c.readable(static_cast<int>(std::max<ms::rep>(1, wait.count())))) continue;
    auto t = c.receive(pname, msg);
    if (t == event && pname == ev) {
      ++events;
      last_seen = clock::now();
      last_event = wall_now();
    } else if (t == cmd_response) {
      auto r = parse_message(msg);
      answered = true;
      answered_at = wall_now();
      last_seen = clock::now();  // the stall clock starts once charon took the request
      matches = r["matches"].empty() ? "?" : r["matches"];
      if (r["success"] != "yes") {
        std::fprintf(stderr, "vici_load: rekey %s=%s refused: %s\n", kind.c_str(), name.c_str(), r["errmsg"].c_str());
        return 1;
      }
    } else if (t == cmd_unknown) {
      throw std::runtime_error("charon does not know the vici command 'rekey'");
    }
  }
  bool done = answered && events >= count;
  std::printf("%s matches %s events %lu answered_at %.6f last_event %.6f\n", done ? "done" : stalled ? "stalled" : "timeout", matches.c_str(),
              events, answered_at, last_event);
  return done ? 0 : 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: vici_load SOCKET initiate CHILD IKE COUNT [WINDOW [MAX_HALF_OPEN]]\n"
               "       vici_load SOCKET terminate IKE\n"
               "       vici_load SOCKET wait-up N TIMEOUT_S\n"
               "       vici_load SOCKET wait-empty TIMEOUT_S\n"
               "       vici_load SOCKET stats\n"
               "       vici_load SOCKET rekey ike|child NAME COUNT TIMEOUT_S [STALL_S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    const auto& cmd = a[1];
    if (cmd == "initiate" && a.size() >= 5 && a.size() <= 7) {
      auto count = to_number(a[4], "COUNT");
      auto window = a.size() >= 6 ? to_number(a[5], "WINDOW") : 128;
      auto max_half_open = a.size() == 7 ? to_number(a[6], "MAX_HALF_OPEN") : 0;
      if (window == 0) throw std::invalid_argument("WINDOW must be at least 1");
      return do_initiate(a[0], a[2], a[3], count, window, max_half_open);
    }
    if (cmd == "terminate" && a.size() == 3) {
      connection c(a[0]);
      return do_terminate(c, a[2]);
    }
    if (cmd == "wait-up" && a.size() == 4) {
      auto n = to_number(a[2], "N");
      auto t = static_cast<double>(to_number(a[3], "TIMEOUT_S"));
      connection c(a[0]);
      return poll_stats(c, t, 10, [n](const sa_counts& s) { return s.total - s.half_open >= n; });
    }
    if (cmd == "wait-empty" && a.size() == 3) {
      auto t = static_cast<double>(to_number(a[2], "TIMEOUT_S"));
      connection c(a[0]);
      return poll_stats(c, t, 1e9, [](const sa_counts& s) { return s.total == 0; });
    }
    if (cmd == "rekey" && (a.size() == 6 || a.size() == 7)) {
      if (a[2] != "ike" && a[2] != "child") throw std::invalid_argument("rekey needs ike or child, not '" + a[2] + "'");
      auto n = to_number(a[4], "COUNT");
      auto t = static_cast<double>(to_number(a[5], "TIMEOUT_S"));
      auto stall = a.size() == 7 ? static_cast<double>(to_number(a[6], "STALL_S")) : 60.0;
      connection c(a[0]);
      return do_rekey(c, a[2], a[3], n, t, stall);
    }
    if (cmd == "stats" && a.size() == 2) {
      connection c(a[0]);
      auto s = read_stats(c);
      std::printf("total %lu half_open %lu\n", s.total, s.half_open);
      return 0;
    }
    return usage();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "vici_load: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vici_load: %s\n", e.what());
    return 1;
  }
}
