#include "actors/network/port_owner.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace aike::net {
namespace {

// Inodes of sockets bound to `port` in one of /proc/net/udp, /proc/net/udp6.
void socket_inodes(const char* table, std::uint16_t port, std::set<unsigned long>& out) {
  std::ifstream f(table);
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retr;
    unsigned long uid = 0, timeout = 0, inode = 0;
    if (!(in >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port && inode != 0) out.insert(inode);
  }
}

}  // namespace

std::string port_owner::describe() const {
  std::string who = command;
  if (command == "charon" || command == "charon-systemd" || command == "charon-nm") who = "strongSwan's " + command;
  else if (command == "pluto") who = "libreswan's pluto";
  else if (command == "racoon") who = "ipsec-tools' racoon";
  else if (command == "iked") who = "OpenIKED's iked";
  return who + " (pid " + std::to_string(pid) + ")";
}

std::optional<port_owner> find_udp_port_owner(std::uint16_t port) {
  std::set<unsigned long> inodes;
  socket_inodes("/proc/net/udp", port, inodes);
  socket_inodes("/proc/net/udp6", port, inodes);
  if (inodes.empty()) return std::nullopt;
  DIR* proc = opendir("/proc");
  if (!proc) return std::nullopt;
  std::optional<port_owner> found;
  while (!found) {
    dirent* e = readdir(proc);
    if (!e) break;
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (!fds) continue;
    while (dirent* fe = readdir(fds)) {
      char target[64];
      std::string link = fd_dir + "/" + fe->d_name;
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      unsigned long inode = 0;
      if (std::sscanf(target, "socket:[%lu]", &inode) == 1 && inodes.count(inode)) {
        port_owner o;
        o.pid = static_cast<pid_t>(pid);
        std::ifstream comm(std::string("/proc/") + e->d_name + "/comm");
        std::getline(comm, o.command);
        found = o;
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return found;
}

}  // namespace aike::net
