// Message IDs and retransmission bookkeeping for one IKE SA (RFC 7296 §2.1, §2.2), with a
// window size of 1 in each direction: one request of ours outstanding, and the last response
// we sent kept so a retransmitted request gets exactly the same bytes again. A message sent as
// RFC 7383 fragments is kept as all its fragments: a retransmission resends every one.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/common/endpoint.hpp"

namespace aike::sa {

class message_window {
 public:
  // --- our requests ---
  std::uint32_t next_request_id() const { return next_out_; }
  bool request_outstanding() const { return outstanding_; }
  void request_sent(bytes datagram, const endpoint& local, const endpoint& remote);
  void request_sent(std::vector<bytes> datagrams, const endpoint& local, const endpoint& remote);
  // The same request again (IKE_SA_INIT retried with a COOKIE or another KE group): same id.
  void request_replaced(bytes datagram);
  const std::vector<bytes>& request() const { return request_; }  // one datagram, or the fragments
  const endpoint& request_local() const { return request_local_; }
  const endpoint& request_remote() const { return request_remote_; }
  void set_request_endpoints(const endpoint& local, const endpoint& remote);
  int retransmissions() const { return tries_; }
  void count_retransmission() { ++tries_; }
  bool is_response_to_outstanding(std::uint32_t message_id) const {
    return outstanding_ && message_id == next_out_;
  }
  void response_received();

  // --- the peer's requests ---
  enum class verdict { process, retransmit, drop };
  verdict classify_request(std::uint32_t message_id) const;
  void response_sent(std::uint32_t message_id, bytes datagram);
  void response_sent(std::uint32_t message_id, std::vector<bytes> datagrams);
  const std::vector<bytes>& cached_response() const { return response_; }

 private:
  std::uint32_t next_out_ = 0;
  bool outstanding_ = false;
  std::vector<bytes> request_;
  endpoint request_local_, request_remote_;
  int tries_ = 0;

  std::uint32_t next_in_ = 0;
  bool have_response_ = false;
  std::vector<bytes> response_;
};

}  // namespace aike::sa
