// Receive path for IKE datagrams: udp_io (own thread, recvmmsg) against a CAF 0.17.6 datagram broker.
//
//   udp_io_bench [datagrams=200000] [rounds=5] [window=128] [size=64] [broker-socket=own|caf]
//
// A sender thread blasts `datagrams` UDP datagrams of `size` octets over loopback. Each receive
// path hands every datagram to the same counting actor as an aike::net::datagram:
//   (a) udp_io: the receive-thread callback does one caf::anon_send, as the daemon's network actor will;
//   (b) a caf::io::broker reading a datagram servant: each new_datagram_msg is turned into a
//       datagram (remote from remote_addr/remote_port; the broker cannot tell the local address)
//       and sent on. By default the servant gets a socket made here with the same 1 MiB receive
//       buffer as udp_io's (add_datagram_servant(fd)), so only the read path differs;
//       `caf` uses add_udp_datagram_servant, which leaves the kernel's default buffer.
// The sender keeps at most `window` datagrams in flight (sent but not yet counted by the actor), so
// neither socket buffer overflows and the figure is the sustainable rate, not a loss-ridden burst;
// with a full window it sleeps until half is counted, and a stall of 50 ms writes the in-flight
// datagrams off as lost (reported). CPU is the process's
// user+system time (getrusage) minus the sender thread's own, i.e. what the receive path cost.
// After an unreported warm-up of each, rounds alternate (a), (b), (a), (b)...; the medians of the
// rate and of the CPU per datagram are printed for each.
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/network/udp_io.hpp"

// Local messages only: the datagram never crosses a CAF network boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aike::net::datagram)

namespace {

using clk = std::chrono::steady_clock;

// What the counting actor has seen. The sender sleeps on `cv` when its window is full; the actor
// notifies only once the count reaches `wake_at`, so the data path costs one relaxed load.
struct tally {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> octets{0};
  std::atomic<std::int64_t> last_arrival_ns{0};  // steady clock
  std::atomic<std::uint64_t> wake_at{~std::uint64_t{0}};
  std::mutex m;
  std::condition_variable cv;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now().time_since_epoch()).count();
}

void count_one(tally* t, const aike::net::datagram& d) {
  t->octets.fetch_add(d.data.size(), std::memory_order_relaxed);
  t->last_arrival_ns.store(now_ns(), std::memory_order_relaxed);
  std::uint64_t c = t->count.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (c >= t->wake_at.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(t->m);
    t->cv.notify_one();
  }
}

caf::behavior counting_actor(caf::event_based_actor*, tally* t) {
  return {[t](const aike::net::datagram& d) { count_one(t, d); }};
}

struct round_result {
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  double seconds = 0;
  double receive_cpu = 0;  // seconds
  double rate() const { return seconds > 0 ? delivered / seconds : 0; }
  double cpu_us_per_datagram() const { return delivered ? receive_cpu * 1e6 / delivered : 0; }
};

double cpu_seconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Sends `n` datagrams to 127.0.0.1:port with at most `window` in flight; fills everything but CPU.
// A full window puts the sender to sleep until half of it has been counted, so the sender takes
// little CPU from the receive path (the machine has 2 cores).
round_result blast(std::uint16_t port, std::uint64_t n, std::uint64_t window, std::size_t size, tally& t,
                   double& sender_cpu) {
  round_result r;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<std::uint8_t> payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(0x40 + i);

  // Waits until the count reaches `target`; false after `timeout` without it.
  auto wait_count = [&t](std::uint64_t target, std::chrono::milliseconds timeout) {
    t.wake_at.store(target, std::memory_order_release);
    std::unique_lock<std::mutex> lock(t.m);
    bool ok = t.cv.wait_for(lock, timeout, [&] { return t.count.load(std::memory_order_acquire) >= target; });
    t.wake_at.store(~std::uint64_t{0}, std::memory_order_release);
    return ok;
  };

  std::uint64_t written_off = 0;  // datagrams given up as lost after a stall
  std::int64_t t0 = now_ns();
  for (std::uint64_t sent = 0; sent < n;) {
    std::uint64_t accounted = t.count.load(std::memory_order_acquire) + written_off;
    if (sent >= accounted + window) {
      std::uint64_t target = sent - written_off - window / 2;
      if (!wait_count(target, std::chrono::milliseconds(50)))
        written_off = sent - std::min(sent, t.count.load(std::memory_order_acquire));
      continue;
    }
    if (::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
        static_cast<ssize_t>(payload.size()))
      ++sent;
  }
  wait_count(n - written_off, std::chrono::milliseconds(200));
  std::uint64_t got = t.count.load(std::memory_order_acquire);
  r.delivered = got;
  r.lost = n - std::min(n, got);
  r.seconds = (t.last_arrival_ns.load(std::memory_order_relaxed) - t0) / 1e9;
  sender_cpu = cpu_seconds(RUSAGE_THREAD);
  ::close(fd);
  return r;
}

template <class Setup>
round_result measure(std::uint64_t n, std::uint64_t window, std::size_t size, tally& t, Setup&& port_of_receiver) {
  t.count = 0;
  t.octets = 0;
  t.last_arrival_ns = 0;
  std::uint16_t port = port_of_receiver();
  double sender_cpu = 0;
  double cpu0 = cpu_seconds(RUSAGE_SELF);
  round_result r;
  std::thread sender([&] { r = blast(port, n, window, size, t, sender_cpu); });
  sender.join();
  r.receive_cpu = cpu_seconds(RUSAGE_SELF) - cpu0 - sender_cpu;
  return r;
}

// (a) udp_io on its own thread, one anon_send per datagram.
round_result run_udp_io(caf::actor counter, tally& t, std::uint64_t n, std::uint64_t window, std::size_t size) {
  std::unique_ptr<aike::net::udp_io> io;
  auto r = measure(n, window, size, t, [&]() -> std::uint16_t {
    aike::net::udp_config cfg;
    cfg.listen = {*aike::ip_address::parse("127.0.0.1")};
    cfg.ike_port = 0;
    cfg.natt_port = 0;
    auto opened = aike::net::udp_io::open(cfg);
    if (!opened) {
      std::fprintf(stderr, "udp_io: %s\n", opened.err().message.c_str());
      std::exit(1);
    }
    io = std::move(opened).value();
    io->start([counter](aike::net::datagram&& d) { caf::anon_send(counter, std::move(d)); }, nullptr);
    return io->bound_port(false);
  });
  io->stop();
  return r;
}

// (b) a CAF datagram broker; its port is handed back through a promise once the servant is added.
caf::behavior datagram_broker(caf::io::broker* self, caf::actor counter,
                              std::shared_ptr<std::promise<std::uint16_t>> bound, int own_fd, std::uint16_t own_port) {
  if (own_fd >= 0) {
    self->add_datagram_servant(own_fd);
    bound->set_value(own_port);
  } else if (auto servant = self->add_udp_datagram_servant(0, "127.0.0.1")) {
    bound->set_value(servant->second);
  } else {
    bound->set_value(0);
    self->quit();
    return {};
  }
  return {
      [=](caf::io::new_datagram_msg& msg) {
        aike::net::datagram d;
        d.data.assign(msg.buf.data(), msg.buf.data() + msg.buf.size());
        if (auto a = aike::ip_address::parse(self->remote_addr(msg.handle))) d.remote.addr = *a;
        d.remote.port = self->remote_port(msg.handle);
        self->send(counter, std::move(d));
      },
      [=](caf::io::datagram_servant_closed_msg&) { self->quit(); },
  };
}

// A socket like udp_io's (non-blocking, 1 MiB receive buffer) on 127.0.0.1, ephemeral port.
int make_broker_socket(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rcvbuf = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    std::perror("broker socket");
    std::exit(1);
  }
  port = ntohs(sa.sin_port);
  return fd;
}

round_result run_broker(caf::actor_system& sys, caf::actor counter, tally& t, std::uint64_t n, std::uint64_t window,
                        std::size_t size, bool own_socket) {
  caf::actor broker;
  auto r = measure(n, window, size, t, [&]() -> std::uint16_t {
    std::uint16_t own_port = 0;
    int fd = own_socket ? make_broker_socket(own_port) : -1;
    auto bound = std::make_shared<std::promise<std::uint16_t>>();
    auto port = bound->get_future();
    broker = sys.middleman().spawn_broker(datagram_broker, counter, bound, fd, own_port);
    std::uint16_t p = port.get();
    if (p == 0) {
      std::fprintf(stderr, "broker: add_udp_datagram_servant failed\n");
      std::exit(1);
    }
    return p;
  });
  caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  return r;
}

template <class F>
double median_of(const std::vector<round_result>& v, F field) {
  std::vector<double> x;
  for (const auto& r : v) x.push_back(field(r));
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

void print(const char* name, const std::vector<round_result>& rounds) {
  std::uint64_t lost = 0;
  for (const auto& r : rounds) {
    lost += r.lost;
    std::printf("  %-8s round: %9.0f datagrams/s  %6.3f s  CPU %6.3f s (%5.2f us/datagram)  lost %llu\n", name,
                r.rate(), r.seconds, r.receive_cpu, r.cpu_us_per_datagram(), static_cast<unsigned long long>(r.lost));
  }
  std::printf("%-8s median: %9.0f datagrams/s, receive CPU %.2f us/datagram; %llu lost in all rounds\n", name,
              median_of(rounds, [](const round_result& r) { return r.rate(); }),
              median_of(rounds, [](const round_result& r) { return r.cpu_us_per_datagram(); }),
              static_cast<unsigned long long>(lost));
}

}  // namespace

int main(int argc, char** argv) {
  // A positional number, or `fallback` when absent; 0 (rejected below) when it is not a number.
  auto number = [&](int i, std::uint64_t fallback) -> std::uint64_t {
    if (argc <= i) return fallback;
    char* end = nullptr;
    std::uint64_t v = std::strtoull(argv[i], &end, 10);
    return *end == 0 ? v : 0;
  };
  std::uint64_t n = number(1, 200000);
  int rounds = static_cast<int>(std::min<std::uint64_t>(number(2, 5), 1000));
  std::uint64_t window = number(3, 128);
  std::size_t size = number(4, 64);
  std::string broker_socket = argc > 5 ? argv[5] : "own";
  bool own_socket = broker_socket == "own";
  if (n == 0 || rounds < 1 || window == 0 || size < aike::net::udp_io::ike_header_size || size > 65000 ||
      (broker_socket != "own" && broker_socket != "caf")) {
    std::fprintf(stderr, "usage: %s [datagrams>0] [rounds>0] [window>0] [28<=size<=65000] [own|caf]\n", argv[0]);
    return 2;
  }

  // The daemon's settings: the sharing scheduler with one thread per core (see caf-0.17-notes).
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
  caf::actor_system sys{cfg};

  utsname u{};
  uname(&u);
  // Other work on the machine shows in the figures: print the load average next to them.
  char load[64] = "?";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (!std::fgets(load, sizeof load, f)) load[0] = 0;
    std::fclose(f);
  }
  std::printf("udp_io_bench: %llu datagrams of %zu octets, window %llu, %d rounds, broker socket %s; %u cores, %s %s, "
      "CAF %d.%d.%d\n"
              "load average before the run: %s",
              static_cast<unsigned long long>(n), size, static_cast<unsigned long long>(window), rounds,
              broker_socket.c_str(), std::thread::hardware_concurrency(), u.sysname, u.release, CAF_MAJOR_VERSION, CAF_MINOR_VERSION,
              CAF_PATCH_VERSION, load);

  tally t;
  auto counter = sys.spawn(counting_actor, &t);
  // One short unreported round of each first: thread start-up, page faults and CAF's first spawns.
  run_udp_io(counter, t, std::min<std::uint64_t>(n, 20000), window, size);
  run_broker(sys, counter, t, std::min<std::uint64_t>(n, 20000), window, size, own_socket);
  std::vector<round_result> a, b;
  for (int i = 0; i < rounds; ++i) {
    a.push_back(run_udp_io(counter, t, n, window, size));
    b.push_back(run_broker(sys, counter, t, n, window, size, own_socket));
  }
  print("udp_io", a);
  print("broker", b);
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  return 0;
}
