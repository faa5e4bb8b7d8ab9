// ike_garbage HOST PORT COUNT [natt]: sends COUNT malformed or meaningless datagrams to an IKE
// port, cycling through the kinds a parser must survive: truncated headers, wrong length
// fields, broken next-payload chains, bad payload lengths, valid headers with unknown SPIs,
// and random bytes. With "natt" each datagram gets the 4-octet non-ESP marker first (and some
// are sent without it, which looks like ESP). Deterministic (fixed seed), bounded, loopback or
// test-namespace addresses only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

using namespace aike;

static bytes valid_init() {
  wire::message m;
  m.header.spi_i = 0x1122334455667788ULL;
  m.header.exchange_type = wire::exchange::ike_sa_init;
  m.header.flags = wire::flag::initiator;
  wire::nonce_payload n;
  n.data.assign(32, 0x5a);
  m.payloads.push_back(wire::make_payload(wire::payload_type::nonce, n));
  wire::ke_payload ke;
  ke.group = 31;
  ke.data.assign(32, 0x42);
  m.payloads.push_back(wire::make_payload(wire::payload_type::ke, ke));
  return wire::encode_message(m);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT COUNT [natt]\n", argv[0]);
    return 2;
  }
  bool natt = argc > 4 && std::string(argv[4]) == "natt";
  int count = std::atoi(argv[3]);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  std::mt19937 rng(12345);
  const bytes base = valid_init();
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    bytes d = base;
    switch (i % 8) {
      case 0: d.resize(rng() % 28); break;                                   // truncated header
      case 1: d[24] = 0xff; d[25] = 0xff; break;                               // length field lies
      case 2: d[16] = static_cast<std::uint8_t>(rng() % 256); break;            // bad first payload type
      case 3: d[28 + 2] = 0; d[28 + 3] = 2; break;                             // payload length < 4
      case 4:                                                                  // unknown SPIs, valid shape
        for (int k = 0; k < 16; ++k) d[k] = static_cast<std::uint8_t>(rng());
        d[18] = 37;
        break;
      case 5: d[28] = 99; d[29] = 0x80; break;                                // unknown critical next payload
      case 6: d.resize(28 + rng() % 64); for (auto& b : d) b = static_cast<std::uint8_t>(rng()); break;
      case 7: d[17] = 0x30; break;                                            // major version 3
    }
    bytes out;
    out.reserve(d.size() + 4);
    if (natt && i % 10 != 9) out.insert(out.end(), 4, 0);
    out.insert(out.end(), d.begin(), d.end());
    if (sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0) ++sent;
    if (i % 500 == 499) usleep(2000);  // do not overrun the receiver's socket buffer
  }
  close(fd);
  std::printf("sent %d of %d datagrams to %s:%s%s\n", sent, count, argv[1], argv[2], natt ? " (NAT-T)" : "");
  return sent == count ? 0 : 1;
}
