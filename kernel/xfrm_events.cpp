#include "kernel/xfrm_events.hpp"

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/xfrm_dump.hpp"

namespace aike::kernel {
namespace {

struct parse_ctx {
  const xfrm_event_listener::callback* cb;
};

void read_selector(xfrm_event& ev, const xfrm_selector& sel) {
  ev.sel_src = from_xfrm(sel.saddr, sel.family);
  ev.sel_dst = from_xfrm(sel.daddr, sel.family);
  ev.sel_src_prefix = sel.prefixlen_s;
  ev.sel_dst_prefix = sel.prefixlen_d;
  ev.sel_proto = sel.proto;
  ev.sel_sport = ntohs(sel.sport);
  ev.sel_dport = ntohs(sel.dport);
}

int on_message(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<parse_ctx*>(arg);
  if (auto ev = parse_xfrm_event(nlmsg_hdr(msg)); ev && *ctx->cb) (*ctx->cb)(*ev);
  return NL_OK;
}

}  // namespace

std::optional<xfrm_event> parse_xfrm_event(const nlmsghdr* hc) {
  auto* h = const_cast<nlmsghdr*>(hc);  // libnl's accessors take non-const headers
  xfrm_event ev;
  if (h->nlmsg_type == XFRM_MSG_EXPIRE && nlmsg_datalen(h) >= static_cast<int>(sizeof(xfrm_user_expire))) {
    auto* e = static_cast<xfrm_user_expire*>(nlmsg_data(h));
    ev.what = e->hard ? xfrm_event::kind::expire_hard : xfrm_event::kind::expire_soft;
    ev.src = from_xfrm(e->state.saddr, e->state.family);
    ev.dst = from_xfrm(e->state.id.daddr, e->state.family);
    ev.spi = ntohl(e->state.id.spi);
    ev.reqid = e->state.reqid;
  } else if (h->nlmsg_type == XFRM_MSG_ACQUIRE && nlmsg_datalen(h) >= static_cast<int>(sizeof(xfrm_user_acquire))) {
    auto* a = static_cast<xfrm_user_acquire*>(nlmsg_data(h));
    ev.what = xfrm_event::kind::acquire;
    ev.src = from_xfrm(a->saddr, a->policy.sel.family ? a->policy.sel.family : a->sel.family);
    ev.dst = from_xfrm(a->id.daddr, a->policy.sel.family ? a->policy.sel.family : a->sel.family);
    ev.policy_index = a->policy.index;
    ev.policy_priority = a->policy.priority;
    read_selector(ev, a->sel);
    // The template's reqid is the first XFRMA_TMPL entry, when the kernel includes it.
    if (nlattr* t = nlmsg_find_attr(h, sizeof(xfrm_user_acquire), XFRMA_TMPL);
        t && nla_len(t) >= static_cast<int>(sizeof(xfrm_user_tmpl)))
      ev.reqid = static_cast<const xfrm_user_tmpl*>(nla_data(t))->reqid;
  } else if (h->nlmsg_type == XFRM_MSG_MIGRATE && nlmsg_datalen(h) >= static_cast<int>(sizeof(xfrm_userpolicy_id))) {
    auto* id = static_cast<xfrm_userpolicy_id*>(nlmsg_data(h));
    ev.what = xfrm_event::kind::migrate;
    ev.dir = id->dir;
    read_selector(ev, id->sel);
    // XFRMA_MIGRATE: an array of xfrm_user_migrate, one per moved template.
    nlattr* m = nlmsg_find_attr(h, sizeof(xfrm_userpolicy_id), XFRMA_MIGRATE);
    if (!m) return std::nullopt;
    int n = nla_len(m) / static_cast<int>(sizeof(xfrm_user_migrate));
    auto* um = static_cast<const xfrm_user_migrate*>(nla_data(m));
    for (int i = 0; i < n; ++i) {
      xfrm_migration x;
      x.old_src = from_xfrm(um[i].old_saddr, um[i].old_family);
      x.old_dst = from_xfrm(um[i].old_daddr, um[i].old_family);
      x.new_src = from_xfrm(um[i].new_saddr, um[i].new_family);
      x.new_dst = from_xfrm(um[i].new_daddr, um[i].new_family);
      x.proto = um[i].proto;
      x.mode = um[i].mode;
      x.reqid = um[i].reqid;
      ev.migrations.push_back(x);
    }
    if (ev.migrations.empty()) return std::nullopt;
    ev.reqid = ev.migrations.front().reqid;
  } else {
    return std::nullopt;
  }
  return ev;
}

result<std::unique_ptr<xfrm_event_listener>> xfrm_event_listener::start(callback cb) {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return make_error(errc::kernel_failure, "cannot allocate a netlink socket");
  nl_socket_disable_seq_check(sk);  // multicast messages carry no sequence of ours
  if (int e = nl_connect(sk, NETLINK_XFRM); e < 0) {
    nl_socket_free(sk);
    return make_error(errc::kernel_failure, std::string("XFRM events: cannot open netlink: ") + nl_geterror(e));
  }
  if (int e = nl_socket_add_memberships(sk, XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MIGRATE, 0); e < 0) {
    nl_socket_free(sk);
    return make_error(errc::kernel_failure, std::string("XFRM events: cannot join the acquire/expire/migrate groups: ") +
                                                nl_geterror(e));
  }
  nl_socket_set_nonblocking(sk);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    nl_socket_free(sk);
    return make_error(errc::kernel_failure, std::string("XFRM events: eventfd: ") + std::strerror(errno));
  }
  return std::unique_ptr<xfrm_event_listener>(new xfrm_event_listener(sk, wake, std::move(cb)));
}

xfrm_event_listener::xfrm_event_listener(nl_sock* sk, int wake_fd, callback cb)
    : sk_(sk), wake_fd_(wake_fd), cb_(std::move(cb)) {
  thread_ = std::thread([this] { run(); });
}

xfrm_event_listener::~xfrm_event_listener() {
  std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
  nl_socket_free(sk_);
}

void xfrm_event_listener::run() {
  parse_ctx ctx{&cb_};
  nl_cb* own = nl_socket_get_cb(sk_);  // takes a reference
  nl_cb* cb = nl_cb_clone(own);
  nl_cb_put(own);
  if (!cb) return;
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_message, &ctx);
  pollfd fds[2] = {{nl_socket_get_fd(sk_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[0].revents & POLLIN) {
      int e = nl_recvmsgs(sk_, cb);
      if (e == -NLE_NOMEM) overruns_.fetch_add(1);  // ENOBUFS: the socket buffer overflowed, events were lost
    }
  }
  nl_cb_put(cb);
}

}  // namespace aike::kernel
