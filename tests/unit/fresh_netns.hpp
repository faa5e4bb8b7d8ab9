// For kernel tests: move the calling process into a new, empty network namespace with lo up, so
// each test starts from an empty SPD and SAD of its own and the host's XFRM state is never touched.
#pragma once
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace aike::test {

// Returns why it could not ("" = done); callers GTEST_SKIP with that text.
inline std::string enter_fresh_netns() {
  if (geteuid() != 0) return "needs root (CAP_NET_ADMIN) for a network namespace";
  if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  std::string problem;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0))
    problem = std::string("bringing lo up: ") + std::strerror(errno);
  if (fd >= 0) close(fd);
  return problem;
}

}  // namespace aike::test

// In a gtest test body: enter a fresh namespace, or skip the test saying why.
#define REQUIRE_NETNS()                                                                  \
  do {                                                                                   \
    if (auto why = ::aike::test::enter_fresh_netns(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)
