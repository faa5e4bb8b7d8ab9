// Starts updown scripts and watches them to their end on one small thread of its own: an epoll
// loop over each script's pidfd (exit) and output pipe, which also applies the timeout (SIGTERM
// to the script's process group, SIGKILL after a grace period) and reaps every child.
//
// Why a thread rather than polling waitpid() from the actor with delayed_send: the exit of a
// script is seen at once (a poll period would cap throughput at max_parallel scripts per
// period, and the stress test runs tens of thousands), no CAF worker ever blocks, and the same
// thread that signals a process is the one that reaps it, so a signal can never reach a pid
// that was already reaped and reused.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aike::actors::updown {

struct outcome {
  std::uint64_t seq = 0;
  int status = 0;          // as waitpid() reports it
  bool timed_out = false;  // killed because it ran longer than its timeout
  std::string output;      // stdout and stderr, interleaved, at most output_limit bytes
  bool truncated = false;
  std::int64_t elapsed_ms = 0;
};

class process_watcher {
 public:
  static constexpr std::size_t output_limit = 8192;
  using notify_fn = std::function<void(outcome)>;

  // `on_exit` is called on the watcher's thread once per started script, after it was reaped.
  explicit process_watcher(notify_fn on_exit, std::chrono::milliseconds kill_grace = std::chrono::seconds(2));
  // Kills (SIGKILL, whole process group) and reaps whatever still runs; `on_exit` is not called
  // for those.
  ~process_watcher();
  process_watcher(const process_watcher&) = delete;
  process_watcher& operator=(const process_watcher&) = delete;

  // posix_spawn()s `path` (argv = {path}) with exactly `env`, stdin /dev/null, stdout and stderr
  // into a pipe, in a process group of its own, with default signal dispositions and mask.
  // Returns "" or why the script could not be started.
  std::string start(std::uint64_t seq, const std::string& path, const std::vector<std::string>& env,
                    std::chrono::milliseconds timeout);

  std::size_t running() const;

 private:
  struct proc {
    pid_t pid = -1;
    int pidfd = -1;
    int out = -1;  // read end of the output pipe; -1 once at EOF
    std::chrono::steady_clock::time_point started, term_at, kill_at;
    bool termed = false;
    outcome result;
  };
  void loop();
  void read_output(proc& p);
  bool try_reap(std::uint64_t seq, std::vector<outcome>& done);  // with mu_ held
  void close_fds(proc& p);

  notify_fn on_exit_;
  std::chrono::milliseconds grace_;
  int epoll_ = -1, wake_ = -1;
  // Guards procs_ between the supervisor actor (watch/kill) and the watcher thread; held only for
  // non-blocking steps (map updates, pipe reads, kill, waitpid WNOHANG), never while a CAF message
  // is sent (exits are reported after it is released).
  mutable std::mutex mu_;
  std::map<std::uint64_t, proc> procs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace aike::actors::updown
