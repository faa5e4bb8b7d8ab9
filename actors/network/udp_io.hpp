// UDP I/O for IKE: one socket per (listen address, port), one I/O thread, thread-safe sends.
// Plain Linux sockets, no CAF: the network actor owns a udp_io and forwards what it receives.
// Once started, IKE sends are queued and the I/O thread sends the queue in batches (sendmmsg, UDP
// GSO for runs to one peer), so a bulk operation of thousands of SAs costs a few system calls and
// one pass through the UDP/IP stack per run instead of one per message.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/common/endpoint.hpp"
#include "engine/common/result.hpp"

namespace aike::net {

// One received datagram: `local` is the address it was sent to (from IP_PKTINFO, so it is exact
// even on a wildcard socket) and the port of the socket that read it.
struct datagram {
  bytes data;
  endpoint local;
  endpoint remote;
};

struct udp_config {
  std::vector<ip_address> listen;  // e.g. 0.0.0.0 and ::, or specific addresses (not both for a family)
  std::uint16_t ike_port = 500;    // 0: an ephemeral port (tests)
  std::uint16_t natt_port = 4500;  // 0: an ephemeral port of its own
};

// A snapshot; each field is read with a relaxed atomic load.
struct io_counters {
  std::uint64_t received = 0;     // datagrams read from the sockets, whatever became of them
  std::uint64_t sent = 0;         // successful sends
  std::uint64_t send_errors = 0;  // no socket for the local endpoint, EAGAIN, or any other error
  std::uint64_t keepalives = 0;   // NAT keepalives (a single 0xFF on the NAT-T port), dropped
  std::uint64_t esp = 0;          // ESP-in-UDP datagrams on the NAT-T port (GRO pieces counted one by one)
  std::uint64_t esp_unhandled = 0;  // of those, dropped because no data plane takes ESP
  std::uint64_t runts = 0;        // too short (IKE < 28, ESP < 8 octets) or truncated (> 64 KiB)
};

class udp_io {
 public:
  using handler = std::function<void(datagram&&)>;
  // ESP gets a view of the receive buffer (valid during the call only), not an owning copy.
  using esp_handler = std::function<void(bytes_view esp, const endpoint& local, const endpoint& remote)>;

  // Smallest IKE message (the fixed header) and smallest ESP packet (SPI + sequence number).
  static constexpr std::size_t ike_header_size = 28;
  static constexpr std::size_t esp_header_size = 8;
  // Largest datagram read; anything longer arrives truncated and is counted as a runt.
  static constexpr std::size_t max_datagram = 65536;

  // Opens and binds every socket (non-blocking, IPV6_V6ONLY on v6, IP_PKTINFO/IPV6_RECVPKTINFO, an
  // IPsec bypass policy in and out). Errors name the address, the port and the errno text.
  static result<std::unique_ptr<udp_io>> open(const udp_config& cfg);

  // Things that did not stop open() but the operator should know (e.g. bypass policy refused).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Starts the receive thread. The handlers run on that thread: they must be cheap and must not
  // throw. on_esp may be empty (ESP is then counted and dropped). A second call does nothing.
  // The NAT-T sockets ask for UDP GRO: a run of equal-sized datagrams of one flow may arrive as
  // one buffer, which is split here, so each handler call still sees exactly one datagram.
  void start(handler on_ike, esp_handler on_esp);

  // Thread-safe, never blocks: sends from the socket bound to local.port on local.addr (or the
  // wildcard socket of that family, choosing the source address with IP_PKTINFO/IPV6_PKTINFO).
  // From the NAT-T port the 4-octet non-ESP marker is prepended. false (and counted) when no
  // socket fits. While the I/O thread runs the message is copied into its send queue and sent
  // from there in order (errors then show in the counters only); otherwise it is sent at once.
  bool send(const endpoint& local, const endpoint& remote, bytes_view ike_message);
  // The same without the marker, for userspace ESP-in-UDP.
  bool send_esp(const endpoint& local, const endpoint& remote, bytes_view esp_packet);
  // Several ESP packets from `local` to `remote` in one system call (sendmmsg); runs of equal size
  // go as one UDP GSO send (UDP_SEGMENT) where the kernel takes it, else one datagram each.
  // Returns how many were sent; the rest are counted as send errors.
  std::size_t send_esp_batch(const endpoint& local, const endpoint& remote, std::span<const bytes_view> esp_packets);

  // The port actually bound for IKE (natt = false) or NAT-T (natt = true). Every listen address
  // shares it: with port 0 the first socket of a kind picks it and the others bind the same one.
  std::uint16_t bound_port(bool natt) const { return natt ? natt_port_ : ike_port_; }

  io_counters counters() const;

  // Wakes the receive thread and joins it; idempotent. Called from a handler it only asks the
  // thread to end (a later stop() or the destructor joins it). Never destroy a udp_io from a handler.
  void stop();

  ~udp_io();
  udp_io(const udp_io&) = delete;
  udp_io& operator=(const udp_io&) = delete;

 private:
  struct socket_info {
    int fd = -1;
    ip_address addr;  // the bound address (may be the wildcard)
    std::uint16_t port = 0;
    bool natt = false;
  };
  struct atomic_counters {
    std::atomic<std::uint64_t> received{0}, sent{0}, send_errors{0}, keepalives{0}, esp{0}, esp_unhandled{0}, runts{0};
  };
  struct receive_buffers;
  // IKE messages waiting for the I/O thread: their octets back to back in `data`.
  struct send_queue {
    struct entry {
      const socket_info* socket;
      endpoint local, remote;
      std::size_t offset, size;
    };
    std::vector<entry> entries;
    std::vector<std::uint8_t> data;
  };
  // One datagram of a batch; a run of equal endpoints and sizes may go as one GSO send.
  struct out_packet {
    bytes_view data;
    const endpoint* local;
    const endpoint* remote;
  };

  udp_io() = default;
  const socket_info* find_socket(const endpoint& local) const;
  bool send_parts(const endpoint& local, const endpoint& remote, bool with_marker, bytes_view payload);
  // Sends `packets` in order from `s` with sendmmsg; consecutive packets with the same endpoints
  // and size (at most gso_segment octets each) go as one UDP GSO message. Returns how many were sent.
  std::size_t send_packets(const socket_info& s, std::span<const out_packet> packets, std::size_t gso_segment);
  // On the I/O thread: sends what is queued until the queue stays empty.
  void flush_sends(send_queue& spare);
  void run();
  void wake();
  void drain(const socket_info& s, receive_buffers& rb);
  void dispatch(const socket_info& s, const std::uint8_t* p, std::size_t len, const endpoint& local,
                const endpoint& remote);

  std::vector<socket_info> sockets_;  // immutable after open(), so sends need no lock
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that stop() writes
  int send_fd_ = -1;  // eventfd that send() writes when the queue was idle
  std::uint16_t ike_port_ = 0;
  std::uint16_t natt_port_ = 0;
  std::vector<std::string> warnings_;
  handler on_ike_;
  esp_handler on_esp_;
  std::atomic<bool> gso_refused_{false};  // the kernel refused UDP_SEGMENT once: plain sends from then on
  atomic_counters counters_;
  std::mutex lifecycle_mutex_;  // start()/stop() only, never on the data path
  // The send queue. Held only to append or to swap the queue out, never across a system call.
  std::mutex send_mutex_;
  send_queue pending_;             // guarded by send_mutex_
  bool send_signalled_ = false;    // guarded: send_fd_ written and the queue not yet found empty
  bool sender_running_ = false;    // guarded: the I/O thread takes the queue (else send at once)
  std::thread thread_;
  bool started_ = false;
};

}  // namespace aike::net
