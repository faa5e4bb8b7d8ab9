// find_udp_port_owner names the process holding a UDP port, so "address in use" can say who.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "actors/network/port_owner.hpp"

using aike::net::find_udp_port_owner;
using aike::net::port_owner;

namespace {

std::uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int udp_socket_on_loopback() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

}  // namespace

TEST(PortOwner, FindsThisProcess) {
  int fd = udp_socket_on_loopback();
  auto port = bound_port(fd);
  auto owner = find_udp_port_owner(port);
  ASSERT_TRUE(owner.has_value()) << "port " << port;
  EXPECT_EQ(owner->pid, getpid());
  std::string comm;
  std::ifstream("/proc/self/comm") >> comm;
  EXPECT_EQ(owner->command, comm);
  close(fd);
}

TEST(PortOwner, NobodyOnAFreedPort) {
  int fd = udp_socket_on_loopback();
  auto port = bound_port(fd);
  close(fd);
  EXPECT_FALSE(find_udp_port_owner(port).has_value());
}

TEST(PortOwner, NamesKnownIkeDaemons) {
  EXPECT_EQ((port_owner{812, "charon"}.describe()), "strongSwan's charon (pid 812)");
  EXPECT_EQ((port_owner{813, "charon-systemd"}.describe()), "strongSwan's charon-systemd (pid 813)");
  EXPECT_EQ((port_owner{90, "pluto"}.describe()), "libreswan's pluto (pid 90)");
  EXPECT_EQ((port_owner{7, "aiked"}.describe()), "aiked (pid 7)");
  EXPECT_EQ((port_owner{3, "nc"}.describe()), "nc (pid 3)");
}
