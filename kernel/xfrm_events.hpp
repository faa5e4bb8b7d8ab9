// Kernel XFRM events (acquire, expire, migrate) read from the XFRM multicast groups on a thread of the
// listener's own, handed to a callback. The callback runs on that thread: it should only pass the
// event on (e.g. caf::anon_send to the kernel actor), never call the backend directly.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/common/result.hpp"

struct nl_sock;
struct nlmsghdr;

namespace aike::kernel {

// One entry of a MIGRATE: the SAs and policy templates (proto, mode, reqid) moved from the old
// outer addresses to the new ones.
struct xfrm_migration {
  ip_address old_src, old_dst, new_src, new_dst;
  std::uint8_t proto = 0, mode = 0;
  std::uint32_t reqid = 0;
  bool operator==(const xfrm_migration&) const = default;
};

struct xfrm_event {
  enum class kind {
    acquire,      // a packet matched a policy whose template found no SA (trap policies)
    expire_soft,  // an SA reached its soft lifetime: rekey
    expire_hard,  // an SA reached its hard lifetime: the kernel removed it
    migrate,      // someone (e.g. a Mobile IPv6 daemon) moved a policy's templates and SAs to new addresses
  };
  kind what = kind::acquire;
  // expire: the SA (destination, SPI, reqid). acquire: the outer addresses of the template.
  ip_address src, dst;
  std::uint32_t spi = 0;
  std::uint32_t reqid = 0;
  // acquire: the policy that matched (index, priority) and the packet's selector.
  std::uint32_t policy_index = 0, policy_priority = 0;
  ip_address sel_src, sel_dst;
  unsigned sel_src_prefix = 0, sel_dst_prefix = 0;
  std::uint8_t sel_proto = 0;
  std::uint16_t sel_sport = 0, sel_dport = 0;
  // migrate: the policy's direction (XFRM_POLICY_IN 0, OUT 1, FWD 2; selector above), the moves.
  std::uint8_t dir = 0;
  std::vector<xfrm_migration> migrations;
};

// An XFRM multicast message as an event; nullopt for other message types or a short message.
std::optional<xfrm_event> parse_xfrm_event(const nlmsghdr* h);

class xfrm_event_listener {
 public:
  using callback = std::function<void(const xfrm_event&)>;
  // Joins XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE and XFRMNLGRP_MIGRATE and starts the reading thread.
  static result<std::unique_ptr<xfrm_event_listener>> start(callback cb);
  ~xfrm_event_listener();  // stops and joins the thread
  xfrm_event_listener(const xfrm_event_listener&) = delete;
  xfrm_event_listener& operator=(const xfrm_event_listener&) = delete;

  // Messages that could not be read (a full socket buffer drops events: ENOBUFS).
  std::uint64_t overruns() const { return overruns_.load(); }

 private:
  xfrm_event_listener(nl_sock* sk, int wake_fd, callback cb);
  void run();

  nl_sock* sk_;
  int wake_fd_;  // eventfd: written by the destructor to end run()
  callback cb_;
  std::atomic<std::uint64_t> overruns_{0};
  std::thread thread_;
};

}  // namespace aike::kernel
