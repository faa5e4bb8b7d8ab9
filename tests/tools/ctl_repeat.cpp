// ctl_repeat: sends one aikectl request N times over ONE control connection, for tests that need
// thousands of requests (spawning aikectl 10,000 times costs minutes of process start-up and CAF
// middleman handshakes, and measures those instead of the daemon).
//   ctl_repeat HOST PORT TOKEN_FILE N COMMAND [key=value ...] [-- COMMAND [key=value ...] ...]
// With several requests separated by "--", request i is the (i mod count)-th: N requests in all,
// cycling through them. Prints the last answer; exits with the first non-zero exit code an answer carried (and says
// which request), 3 if the daemon cannot be reached, 2 on usage errors.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {
using ctl_atom = caf::atom_constant<caf::atom("ctl")>;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: ctl_repeat HOST PORT TOKEN_FILE N COMMAND [key=value ...]\n");
    return 2;
  }
  std::string host = argv[1];
  auto port = static_cast<std::uint16_t>(std::strtoul(argv[2], nullptr, 10));
  std::string token;
  {
    std::ifstream f(argv[3]);
    if (!f || !std::getline(f, token)) {
      std::fprintf(stderr, "ctl_repeat: cannot read %s\n", argv[3]);
      return 3;
    }
  }
  long n = std::strtol(argv[4], nullptr, 10);
  std::vector<std::pair<std::string, std::string>> requests;  // (command, "key=value" lines)
  for (int i = 5; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") continue;
    if (i == 5 || std::string(argv[i - 1]) == "--")
      requests.emplace_back(a, "");
    else
      requests.back().second += a + "\n";
  }
  if (n < 1 || requests.empty()) {
    std::fprintf(stderr, "ctl_repeat: N must be at least 1 and a COMMAND is needed\n");
    return 2;
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto daemon = sys.middleman().remote_actor(host, port);
  if (!daemon) {
    std::fprintf(stderr, "ctl_repeat: cannot reach %s:%u: %s\n", host.c_str(), static_cast<unsigned>(port),
                 sys.render(daemon.error()).c_str());
    return 3;
  }
  caf::scoped_actor self{sys};
  int code = 0;
  std::string last;
  for (long i = 0; i < n && code == 0; ++i) {
    const auto& [cmd, args] = requests[static_cast<std::size_t>(i) % requests.size()];
    self->request(*daemon, std::chrono::seconds(120), ctl_atom::value, token, cmd, args)
        .receive(
            [&](std::int32_t c, const std::string& out) {
              last = out;
              if (c != 0) {
                code = c;
                std::fprintf(stderr, "ctl_repeat: request %ld of %ld answered with exit code %d\n", i + 1, n, c);
              }
            },
            [&](caf::error& e) {
              std::fprintf(stderr, "ctl_repeat: request %ld: %s\n", i + 1, sys.render(e).c_str());
              code = 3;
            });
  }
  std::fputs(last.c_str(), stdout);
  std::fflush(stdout);
  std::_Exit(code);
}
