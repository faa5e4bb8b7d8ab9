#include "kernel/xfrm_socket.hpp"

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace aike::kernel {
namespace {

// Records the kernel's errno and, when present, its extended-ack text (NLMSGERR_ATTR_MSG).
int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* st = static_cast<xfrm_socket::ack_state*>(arg);
  st->error = -err->error;
  st->text.clear();
  auto* hdr = reinterpret_cast<nlmsghdr*>(reinterpret_cast<char*>(err) - NLMSG_HDRLEN);
  if (hdr->nlmsg_flags & NLM_F_ACK_TLVS) {
    std::size_t skip = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) skip += err->msg.nlmsg_len - NLMSG_HDRLEN;
    skip = NLMSG_ALIGN(skip);
    if (hdr->nlmsg_len > skip) {
      auto* head = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(hdr) + skip);
      int len = static_cast<int>(hdr->nlmsg_len - skip);
      nlattr* a = nullptr;
      int rem = 0;
      nla_for_each_attr(a, head, len, rem) {
        if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0)
          st->text.assign(static_cast<const char*>(nla_data(a)), strnlen(static_cast<const char*>(nla_data(a)), nla_len(a)));
      }
    }
  }
  return NL_STOP;
}

}  // namespace

result<xfrm_socket> xfrm_socket::open() {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return make_error(errc::kernel_failure, "cannot allocate a netlink socket");
  if (int e = nl_connect(sk, NETLINK_XFRM); e < 0) {
    nl_socket_free(sk);
    return make_error(errc::kernel_failure, std::string("cannot open the kernel's XFRM netlink interface (") +
                                                nl_geterror(e) +
                                                "): the kernel lacks CONFIG_XFRM_USER or aiked lacks CAP_NET_ADMIN");
  }
  int one = 1;
  // Both are optional refinements (kernels before 4.12 have no extended ack): ignore failures.
  (void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  return xfrm_socket(sk);
}

xfrm_socket::xfrm_socket(nl_sock* sk) : sk_(sk), ack_(new ack_state) {
  nl_socket_modify_err_cb(sk_, NL_CB_CUSTOM, on_error, ack_);
}

xfrm_socket::xfrm_socket(xfrm_socket&& o) noexcept : sk_(o.sk_), ack_(o.ack_), last_errno_(o.last_errno_) {
  o.sk_ = nullptr;
  o.ack_ = nullptr;
}

xfrm_socket& xfrm_socket::operator=(xfrm_socket&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    delete ack_;
    sk_ = o.sk_;
    ack_ = o.ack_;
    last_errno_ = o.last_errno_;
    o.sk_ = nullptr;
    o.ack_ = nullptr;
  }
  return *this;
}

xfrm_socket::~xfrm_socket() {
  if (sk_) nl_socket_free(sk_);
  delete ack_;
}

status xfrm_socket::check(int nl_err, const std::string& what) {
  if (nl_err >= 0) {
    last_errno_ = 0;
    return ok_v;
  }
  std::string why;
  if (ack_->error) {
    last_errno_ = ack_->error;
    why = ack_->text.empty() ? std::string(std::strerror(ack_->error)) : ack_->text + " (" + std::strerror(ack_->error) + ")";
  } else {
    last_errno_ = -1;
    why = nl_geterror(nl_err);
  }
  ack_->error = 0;
  ack_->text.clear();
  return make_error(errc::kernel_failure, what + ": " + why);
}

int xfrm_socket::receive(int (*on_valid)(nl_msg*, void*), void* arg) {
  nl_cb* own = nl_socket_get_cb(sk_);  // takes a reference
  nl_cb* cb = nl_cb_clone(own);
  nl_cb_put(own);
  if (!cb) return -NLE_NOMEM;
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, arg);
  int e = nl_recvmsgs(sk_, cb);
  nl_cb_put(cb);
  return e;
}

status xfrm_socket::request(nl_msg* msg, const std::string& what) {
  ack_->error = 0;
  ack_->text.clear();
  int e = nl_send_auto(sk_, msg);
  nlmsg_free(msg);
  if (e >= 0) e = nl_wait_for_ack(sk_);
  return check(e, what);
}

}  // namespace aike::kernel
