// One NETLINK_XFRM socket (libnl) that turns the kernel's refusals into readable errors: the
// extended-ack text when the kernel sends one ("Requested type not found"), else strerror.
// Not thread-safe: one owner at a time (the XFRM backend, called only by the kernel actor).
#pragma once
#include <cstdint>
#include <string>

#include "engine/common/result.hpp"

struct nl_sock;
struct nl_msg;

namespace aike::kernel {

class xfrm_socket {
 public:
  // Fails when the kernel has no XFRM netlink family (no CONFIG_XFRM_USER) or we may not use it.
  static result<xfrm_socket> open();
  xfrm_socket(xfrm_socket&& o) noexcept;
  xfrm_socket& operator=(xfrm_socket&& o) noexcept;
  xfrm_socket(const xfrm_socket&) = delete;
  xfrm_socket& operator=(const xfrm_socket&) = delete;
  ~xfrm_socket();

  nl_sock* get() const { return sk_; }

  // Sends msg (taking ownership) and waits for the kernel's acknowledgement. `what` names the
  // operation in the error ("adding the outbound SA 0xc0000001"). The errno is kept in last_errno().
  status request(nl_msg* msg, const std::string& what);
  // Turns a libnl return code from a call on this socket into a status the same way.
  status check(int nl_err, const std::string& what);
  int last_errno() const { return last_errno_; }
  // Reads the replies to a request already sent, calling on_valid for each data message; returns
  // libnl's code (pass it to check()).
  int receive(int (*on_valid)(nl_msg*, void*), void* arg);

  // Filled by the error callback while a request runs.
  struct ack_state {
    int error = 0;  // errno from the kernel's NLMSG_ERROR, 0 = none
    std::string text;  // extended-ack message, if any
  };

 private:
  explicit xfrm_socket(nl_sock* sk);
  nl_sock* sk_ = nullptr;
  ack_state* ack_ = nullptr;
  int last_errno_ = 0;
};

}  // namespace aike::kernel
