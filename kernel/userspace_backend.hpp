// The userspace ESP backend (like strongSwan's kernel-libipsec): for kernels without ESP, aiked
// carries ESP itself. Inner packets come and go through a TUN device (kernel/tun_device.hpp);
// ESP (kernel/esp/esp_sa.hpp) always travels in UDP on the NAT-T port (RFC 3948), sharing the IKE
// socket: the daemon makes every connection negotiate UDP encapsulation when this backend runs.
//
// Packet path (no actor mailbox per packet):
//   out: TUN reader thread: read (until the device is empty, up to a batch) -> the newest SA whose
//        local x remote selectors cover the packet (kernel/outbound_index.hpp: destination
//        intervals built with the table, a per-thread flow cache in front) -> seal into the batch -> one send per batch
//        of packets for one SA (udp_io::send_esp_batch: sendmmsg / UDP GSO from our NAT-T
//        endpoint to the peer's)
//   in:  the UDP receive thread calls receive_esp(): SA by SPI -> open (ICV, anti-replay) ->
//        the inner packet must lie within that SA's remote x local selectors -> write to TUN
// SA table: the kernel actor (install/remove) builds a new immutable table and publishes it with
// an atomic shared_ptr plus a generation number; each data thread keeps its own snapshot and
// reloads it only when the generation changed, so a packet costs one relaxed-acquire load, no
// lock and no reference-count traffic. An outbound_sa is used only by the TUN thread, an
// inbound_sa only by the UDP thread; their counters are atomics that list() reads.
// Volume lifetimes: when a CHILD_SA's byte or packet count crosses its soft limit (either
// direction), or a packet is refused at its hard limit, the data thread that saw it hands one
// event (xfrm_event expire_soft / expire_hard, as the XFRM listener reports them) to the expire
// sink, at most once per kind and CHILD_SA; the sink only sends a message (aiked: to the registry).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kernel/backend.hpp"
#include "kernel/tun_device.hpp"
#include "kernel/xfrm_events.hpp"

namespace aike::kernel {

class outbound_flow_cache;

struct userspace_options {
  std::string tun_name = "aike0";
  unsigned tun_mtu = 1400;
  unsigned replay_window = 64;  // the least window; a CHILD_SA asking for more gets more, 0 stays off
  // How long the inbound half of a rekeyed (superseded) SA still opens packets after its removal:
  // the peer may have sealed some with it just before it switched, still in flight or in a batch.
  std::chrono::milliseconds retired_inbound_grace{2000};
};

// Packets that no SA took (backend-wide; per-SA drops are in each SA's counters).
struct userspace_drops {
  std::uint64_t no_sa_out = 0;        // read from TUN, no SA's selectors cover it
  std::uint64_t unknown_spi = 0;      // ESP with an SPI no installed SA has
  std::uint64_t selector_mismatch = 0;  // decrypted fine, but outside the SA's selectors
  std::uint64_t send_failures = 0;    // the UDP send failed (queue full, no route)
  std::uint64_t tun_write_failures = 0;
};

class userspace_backend final : public backend {
 public:
  // Sends ESP packets in UDP from `local` to `remote` and returns how many left; called on the
  // TUN thread with up to `send_batch` packets at a time.
  using esp_sender =
      std::function<std::size_t(const endpoint& local, const endpoint& remote, std::span<const bytes_view> esp)>;
  static constexpr std::size_t send_batch = 64;

  // Creates the TUN device (errors say what is missing: /dev/net/tun, CAP_NET_ADMIN).
  static result<std::unique_ptr<userspace_backend>> open(const userspace_options& opt);
  ~userspace_backend() override;

  // Where sealed packets go; set once before start().
  void set_sender(esp_sender s) { send_ = std::move(s); }
  // Where soft and hard expires go (runs on a data thread: pass the event on, nothing more). May
  // be set at any time; expires seen while none is set are dropped.
  using expire_sink = std::function<void(const xfrm_event&)>;
  void set_expire_sink(expire_sink s);
  // ESP from the UDP receive thread (udp_io::start's on_esp); `esp` starts with the SPI. Called
  // from one thread at a time, and never after stop() (aiked stops udp_io first).
  void receive_esp(bytes_view esp);

  const char* name() const override { return "userspace"; }
  status install(const child_install& c) override;
  status remove(std::uint32_t child_id) override;
  std::vector<installed_child> list() const override;
  // The outbound SA's packets go to c.remote from the next batch on (the TUN thread picks it up
  // with the next table); inbound ESP is taken from any source anyway.
  status update_remote(const child_install& c) override;
  std::chrono::milliseconds purge_retired() override;
  // Starts the TUN reader thread; the lines name the device and its MTU.
  result<std::vector<std::string>> start(bool flush_on_start) override;
  // Stops the thread, forgets every SA and removes the device (and with it the routes).
  void stop() override;

  userspace_drops drops() const;
  const std::string& device() const { return tun_->name(); }

 private:
  struct sa_entry;
  struct table;
  struct drop_counters {
    std::atomic<std::uint64_t> no_sa_out{0}, unknown_spi{0}, selector_mismatch{0}, send_failures{0},
        tun_write_failures{0};
  };

  explicit userspace_backend(std::unique_ptr<tun_device> tun, const userspace_options& opt);
  void publish();
  bool drop_expired_retired();
  void run_tun_reader();
  struct tx_batch;
  void handle_outbound(const table& t, outbound_flow_cache& cache, const std::uint8_t* packet, std::size_t len,
                       tx_batch& batch);
  void flush(tx_batch& batch);
  void report_expire(const sa_entry& e, bool hard, std::uint32_t spi);

  userspace_options opt_;
  std::unique_ptr<tun_device> tun_;
  esp_sender send_;
  drop_counters drops_;
  std::atomic<std::shared_ptr<const expire_sink>> expire_sink_;  // read only when an SA expires

  // Written by the kernel actor only.
  std::map<std::uint32_t, std::shared_ptr<sa_entry>> children_;
  // Inbound halves of removed, rekeyed SAs, until their deadline (see retired_inbound_grace).
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<sa_entry>>> retired_in_;
  // Each CHILD_SA's current peer endpoint (its install's, or where update_remote moved it); the
  // published table carries a copy, so sa_entry::info stays immutable.
  std::map<std::uint32_t, endpoint> peers_;
  std::map<tun_route, unsigned> route_refs_;  // routes shared by CHILD_SAs (a rekey overlaps)
  std::uint64_t install_order_ = 0;

  // The published table; `generation_` is bumped after every store.
  std::atomic<std::shared_ptr<const table>> table_;
  std::atomic<std::uint64_t> generation_{0};

  // The UDP thread's snapshot and buffer (touched only on that thread).
  std::shared_ptr<const table> rx_table_;
  std::uint64_t rx_generation_ = ~std::uint64_t{0};
  bytes rx_inner_;

  int wake_fd_ = -1;
  std::thread reader_;
};

}  // namespace aike::kernel
