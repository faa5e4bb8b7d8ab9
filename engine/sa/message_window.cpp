#include "engine/sa/message_window.hpp"

namespace aike::sa {

void message_window::request_sent(bytes datagram, const endpoint& local, const endpoint& remote) {
  std::vector<bytes> one;
  one.push_back(std::move(datagram));
  request_sent(std::move(one), local, remote);
}

void message_window::request_sent(std::vector<bytes> datagrams, const endpoint& local, const endpoint& remote) {
  request_ = std::move(datagrams);
  request_local_ = local;
  request_remote_ = remote;
  outstanding_ = true;
  tries_ = 0;
}

void message_window::request_replaced(bytes datagram) {
  request_.clear();
  request_.push_back(std::move(datagram));
  tries_ = 0;
}

void message_window::set_request_endpoints(const endpoint& local, const endpoint& remote) {
  request_local_ = local;
  request_remote_ = remote;
}

void message_window::response_received() {
  outstanding_ = false;
  ++next_out_;
  tries_ = 0;
  request_.clear();
}

message_window::verdict message_window::classify_request(std::uint32_t message_id) const {
  if (message_id == next_in_) return verdict::process;
  if (have_response_ && message_id + 1 == next_in_) return verdict::retransmit;
  return verdict::drop;
}

void message_window::response_sent(std::uint32_t message_id, bytes datagram) {
  std::vector<bytes> one;
  one.push_back(std::move(datagram));
  response_sent(message_id, std::move(one));
}

void message_window::response_sent(std::uint32_t message_id, std::vector<bytes> datagrams) {
  next_in_ = message_id + 1;
  have_response_ = true;
  response_ = std::move(datagrams);
}

}  // namespace aike::sa
