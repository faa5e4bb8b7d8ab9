#include "actors/updown/process_watcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aike::actors::updown {
namespace {

constexpr std::uint64_t wake_key = ~std::uint64_t{0};
std::uint64_t key(std::uint64_t seq, bool pipe) { return (seq << 1) | (pipe ? 1 : 0); }

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

}  // namespace

process_watcher::process_watcher(notify_fn on_exit, std::chrono::milliseconds kill_grace)
    : on_exit_(std::move(on_exit)), grace_(kill_grace) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_key;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  thread_ = std::thread([this] { loop(); });
}

process_watcher::~process_watcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  thread_.join();
  // What still runs is killed with its whole process group and reaped (SIGKILL cannot be
  // caught, so the blocking waitpid returns at once).
  for (auto& [seq, p] : procs_) {
    ::kill(-p.pid, SIGKILL);
    int status = 0;
    while (::waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_fds(p);
  }
  ::close(wake_);
  ::close(epoll_);
}

std::size_t process_watcher::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return procs_.size();
}

std::string process_watcher::start(std::uint64_t seq, const std::string& path, const std::vector<std::string>& env,
                                   std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return errno_text("pipe", errno);
  // The child's end must block (a script writing a lot would otherwise see EAGAIN).
  ::fcntl(fds[1], F_SETFL, 0);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // no daemon socket leaks into a script

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);   // aiked blocks SIGTERM & co. for sigwait()
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);        // its own group: a timeout kills what it started too
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv{const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return errno_text(("cannot start " + path).c_str(), rc);
  }

  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  proc p;
  p.pid = pid;
  p.pidfd = open_pidfd(pid);  // -1 on kernels before 5.3: then the loop polls waitpid
  p.out = fds[0];
  p.started = now;
  p.term_at = now + timeout;
  p.result.seq = seq;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key(seq, true);
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, p.out, &ev);
  if (p.pidfd >= 0) {
    ev.data.u64 = key(seq, false);
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, p.pidfd, &ev);
  }
  procs_.emplace(seq, std::move(p));
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);  // a new deadline to wait for
  return {};
}

void process_watcher::close_fds(proc& p) {
  if (p.out >= 0) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, p.out, nullptr);
    ::close(p.out);
    p.out = -1;
  }
  if (p.pidfd >= 0) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, p.pidfd, nullptr);
    ::close(p.pidfd);
    p.pidfd = -1;
  }
}

void process_watcher::read_output(proc& p) {
  char buf[4096];
  while (p.out >= 0) {
    ssize_t n = ::read(p.out, buf, sizeof buf);
    if (n > 0) {
      std::size_t room = output_limit - std::min(output_limit, p.result.output.size());
      p.result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) > room) p.result.truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF (or an error): every writer closed its end.
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, p.out, nullptr);
    ::close(p.out);
    p.out = -1;
  }
}

bool process_watcher::try_reap(std::uint64_t seq, std::vector<outcome>& done) {
  auto it = procs_.find(seq);
  if (it == procs_.end()) return false;
  auto& p = it->second;
  int status = 0;
  pid_t r = ::waitpid(p.pid, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return false;
  // Output the script wrote just before it ended is still in the pipe. A background process
  // it left behind may keep the pipe open: what it writes later is not waited for.
  read_output(p);
  close_fds(p);
  p.result.status = r == p.pid ? status : -1;
  p.result.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p.started).count();
  done.push_back(std::move(p.result));
  procs_.erase(it);
  return true;
}

void process_watcher::loop() {
  epoll_event events[64];
  for (;;) {
    int wait_ms = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      auto now = std::chrono::steady_clock::now();
      for (const auto& [seq, p] : procs_) {
        auto at = p.termed ? p.kill_at : p.term_at;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at - now).count() + 1;
        if (p.pidfd < 0) ms = std::min<std::int64_t>(ms, 20);  // no pidfd: poll waitpid
        ms = std::max<std::int64_t>(ms, 0);
        if (wait_ms < 0 || ms < wait_ms) wait_ms = static_cast<int>(ms);
      }
    }
    int n = ::epoll_wait(epoll_, events, 64, wait_ms);
    std::vector<outcome> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      for (int i = 0; i < n; ++i) {
        std::uint64_t k = events[i].data.u64;
        if (k == wake_key) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_, &v, sizeof v);
          continue;
        }
        auto it = procs_.find(k >> 1);
        if (it == procs_.end()) continue;
        if (k & 1)
          read_output(it->second);
        else
          try_reap(k >> 1, done);
      }
      auto now = std::chrono::steady_clock::now();
      std::vector<std::uint64_t> poll;
      for (auto& [seq, p] : procs_) {
        if (!p.termed && now >= p.term_at) {
          p.termed = true;
          p.result.timed_out = true;
          p.kill_at = now + grace_;
          ::kill(-p.pid, SIGTERM);
        } else if (p.termed && now >= p.kill_at) {
          p.kill_at = now + grace_;  // repeated until it is gone
          ::kill(-p.pid, SIGKILL);
        }
        if (p.pidfd < 0) poll.push_back(seq);
      }
      for (auto seq : poll) try_reap(seq, done);
    }
    for (auto& o : done) on_exit_(std::move(o));
  }
}

}  // namespace aike::actors::updown
