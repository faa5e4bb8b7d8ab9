// udp_resend SRC_IP:SRC_PORT DST_IP:DST_PORT HEX [COUNT]: sends the UDP payload HEX (as tshark
// prints udp.payload) COUNT times (default 1) with the given source address and port, through a
// raw IPv4 socket, so a test can replay a captured ESP-in-UDP packet exactly as the peer sent
// it even though the peer's daemon holds that port. IPv4 only; test-namespace addresses only.
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool parse_endpoint(const std::string& s, in_addr& addr, std::uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &addr) != 1) return false;
  char* end = nullptr;
  long p = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p <= 0 || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

bool parse_hex(std::string s, std::vector<std::uint8_t>& out) {
  std::string digits;
  for (char c : s)
    if (c != ':' && c != ' ') digits.push_back(c);
  if (digits.empty() || digits.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    char* end = nullptr;
    std::string byte = digits.substr(i, 2);
    long v = std::strtol(byte.c_str(), &end, 16);
    if (*end != '\0') return false;
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: udp_resend SRC_IP:SRC_PORT DST_IP:DST_PORT HEX [COUNT]\n");
    return 2;
  }
  in_addr src{}, dst{};
  std::uint16_t sport = 0, dport = 0;
  if (!parse_endpoint(argv[1], src, sport) || !parse_endpoint(argv[2], dst, dport)) {
    std::fprintf(stderr, "udp_resend: endpoints must be IPv4:PORT\n");
    return 2;
  }
  std::vector<std::uint8_t> payload;
  if (!parse_hex(argv[3], payload)) {
    std::fprintf(stderr, "udp_resend: payload must be hex digits (optionally with ':')\n");
    return 2;
  }
  int count = argc == 5 ? std::atoi(argv[4]) : 1;
  if (count <= 0) {
    std::fprintf(stderr, "udp_resend: COUNT must be positive\n");
    return 2;
  }

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) {
    std::fprintf(stderr, "udp_resend: raw socket: %s (needs root or CAP_NET_RAW)\n", std::strerror(errno));
    return 1;
  }
  std::vector<std::uint8_t> pkt(sizeof(iphdr) + sizeof(udphdr) + payload.size());
  auto* ip = reinterpret_cast<iphdr*>(pkt.data());
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<std::uint16_t>(pkt.size()));
  ip->saddr = src.s_addr;
  ip->daddr = dst.s_addr;  // the kernel fills in the id and the header checksum
  auto* udp = reinterpret_cast<udphdr*>(pkt.data() + sizeof(iphdr));
  udp->source = htons(sport);
  udp->dest = htons(dport);
  udp->len = htons(static_cast<std::uint16_t>(sizeof(udphdr) + payload.size()));
  udp->check = 0;  // optional for UDP over IPv4
  std::memcpy(pkt.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dst;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      std::fprintf(stderr, "udp_resend: sendto: %s\n", std::strerror(errno));
      close(fd);
      return 1;
    }
  }
  close(fd);
  return 0;
}
