#include "kernel/userspace_backend.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "engine/common/spi_text.hpp"
#include "kernel/esp/esp_sa.hpp"
#include "kernel/inner_packet.hpp"
#include "kernel/outbound_index.hpp"

namespace aike::kernel {

// One installed CHILD_SA. Immutable once published, except the ESP objects' own state: `out` is
// used only by the TUN thread, `in` only by the UDP thread.
struct userspace_backend::sa_entry {
  installed_child info;
  std::uint64_t order = 0;  // install order: the newest SA of equal selectors sends (rekey overlap)
  std::unique_ptr<esp::outbound_sa> out;
  std::unique_ptr<esp::inbound_sa> in;
  std::vector<tun_route> routes;
  // Set by the data thread that reported the soft / hard expire of this CHILD_SA.
  mutable std::atomic<bool> soft_reported{false}, hard_reported{false};
  // A rekey's new SA (installed while an older one with the same selectors exists) does not send
  // until the peer is seen using it (a packet arrived on its inbound SPI) or the older one goes:
  // the rekey's responder installs before the initiator has the SA, and packets it sealed for the
  // new SPI at once would arrive before the initiator could open them.
  mutable std::atomic<bool> confirmed{true};
};

struct userspace_backend::table {
  std::vector<std::shared_ptr<sa_entry>> outbound;  // newest first
  std::vector<endpoint> peers;                       // per entry of `outbound`: where its ESP goes
  outbound_index index;                             // over `outbound`'s selectors, in that order
  std::unordered_map<std::uint32_t, std::shared_ptr<sa_entry>> by_spi;
};

namespace {

// The largest inner packet a TUN read returns (the MTU is at most 65535).
constexpr std::size_t max_packet = 65536;
// Packets read from the TUN device per wake-up before the stop event is looked at again.
constexpr int reads_per_wakeup = 256;

esp::volume_limits limits_of(const sa_lifetime& l) {
  esp::volume_limits v;
  v.soft_bytes = l.soft_bytes;
  v.hard_bytes = l.hard_bytes;
  v.soft_packets = l.soft_packets;
  v.hard_packets = l.hard_packets;
  return v;
}

std::uint64_t load(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }
void bump(std::atomic<std::uint64_t>& a) { a.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

result<std::unique_ptr<userspace_backend>> userspace_backend::open(const userspace_options& opt) {
  auto tun = tun_device::open(opt.tun_name, opt.tun_mtu);
  if (!tun) return tun.err();
  std::unique_ptr<userspace_backend> b(new userspace_backend(std::move(*tun), opt));
  b->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (b->wake_fd_ < 0) return make_error(errc::kernel_failure, std::string("eventfd: ") + std::strerror(errno));
  return b;
}

userspace_backend::userspace_backend(std::unique_ptr<tun_device> tun, const userspace_options& opt)
    : opt_(opt), tun_(std::move(tun)) {
  table_.store(std::make_shared<const table>());
  rx_inner_.reserve(max_packet);
}

userspace_backend::~userspace_backend() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

result<std::vector<std::string>> userspace_backend::start(bool /*flush_on_start*/) {
  if (!send_) return make_error(errc::invalid_argument, "userspace backend started without an ESP sender");
  if (!reader_.joinable())
    reader_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "aike-tun");
      run_tun_reader();
    });
  return std::vector<std::string>{"userspace ESP over TUN device " + tun_->name() + " (MTU " +
                                  std::to_string(tun_->mtu()) + "), ESP in UDP on the NAT-T port"};
}

void userspace_backend::stop() {
  if (reader_.joinable()) {
    std::uint64_t one = 1;
    ssize_t w;
    do w = ::write(wake_fd_, &one, sizeof one);
    while (w < 0 && errno == EINTR);
    reader_.join();
  }
  children_.clear();
  peers_.clear();
  route_refs_.clear();
  publish();
  tun_->close();  // the kernel removes the device and every route through it
}

void userspace_backend::publish() {
  drop_expired_retired();
  auto t = std::make_shared<table>();
  for (const auto& [id, e] : children_) {
    t->outbound.push_back(e);
    t->by_spi.emplace(e->info.spi_in, e);
  }
  // Retired inbound halves open what is still in flight; they never send.
  for (const auto& r : retired_in_) t->by_spi.emplace(r.second->info.spi_in, r.second);
  std::sort(t->outbound.begin(), t->outbound.end(), [](const auto& a, const auto& b) { return a->order > b->order; });
  t->peers.reserve(t->outbound.size());
  for (const auto& e : t->outbound) {
    auto p = peers_.find(e->info.child_id);
    t->peers.push_back(p != peers_.end() ? p->second : e->info.remote);
  }
  outbound_index::builder rules;
  for (const auto& e : t->outbound) rules.add(e->info.local_ts, e->info.remote_ts);
  t->index = std::move(rules).build();
  table_.store(std::move(t), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
}

status userspace_backend::install(const child_install& c) {
  const auto& ch = c.child;
  if (children_.count(ch.id))
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(ch.id) + " is already installed");
  if (!ch.encap)
    return make_error(errc::invalid_argument,
                      "the userspace backend carries ESP only in UDP, but CHILD_SA " + ch.name +
                          " was negotiated without UDP encapsulation (aiked forces it for every connection)");
  if (ch.mode != sa::child_mode::tunnel)
    return make_error(errc::invalid_argument, "the userspace backend supports tunnel mode only (CHILD_SA " + ch.name + ")");
  if (c.replay_window > 4096) return make_error(errc::invalid_argument, "replay window above 4096 packets");
  // A mark narrows which packets a CHILD_SA protects; the TUN path selects by selectors alone, so
  // ignoring the mark would carry more than the configuration asks for: refuse instead.
  if (c.mark_in.mask || c.mark_out.mask)
    return make_error(errc::unsupported, "the userspace backend cannot apply XFRM marks (mark_in/mark_out of " +
                                             c.connection + "/" + ch.name +
                                             "); remove them from the child or use kernel = \"xfrm\"");

  auto e = std::make_shared<sa_entry>();
  e->info = describe(c);
  e->info.has_counters = true;
  e->order = ++install_order_;
  for (const auto& [id, other] : children_)
    if (other->info.local_ts == e->info.local_ts && other->info.remote_ts == e->info.remote_ts)
      e->confirmed.store(false, std::memory_order_relaxed);

  esp::sa_params out;
  out.spi = ch.spi_out;
  out.proposal = ch.proposal;
  out.encr_key = ch.encr_out;
  out.integ_key = ch.integ_out;
  out.limits = limits_of(c.lifetime);
  auto o = esp::outbound_sa::create(out);
  if (!o) return make_error(o.err().code, "outbound ESP SA " + spi_hex(ch.spi_out) + ": " + o.err().message);
  e->out = std::move(*o);

  esp::sa_params in;
  in.spi = ch.spi_in;
  in.proposal = ch.proposal;
  in.encr_key = ch.encr_in;
  in.integ_key = ch.integ_in;
  in.limits = out.limits;
  unsigned window = c.replay_window == 0 ? 0 : std::max(c.replay_window, opt_.replay_window);
  auto i = esp::inbound_sa::create(in, window);
  if (!i) return make_error(i.err().code, "inbound ESP SA " + spi_hex(ch.spi_in) + ": " + i.err().message);
  e->in = std::move(*i);

  std::vector<std::string> skipped;
  e->routes = routes_for(ch.remote_ts, inner_source(ch.local_ts), c.remote.addr, skipped);
  std::vector<tun_route> added;
  for (const auto& r : e->routes) {
    auto& refs = route_refs_[r];
    if (refs == 0) {
      if (auto ok = tun_->add_route(r); !ok) {
        route_refs_.erase(r);
        for (const auto& a : added)
          if (--route_refs_[a] == 0) {
            (void)tun_->remove_route(a);
            route_refs_.erase(a);
          }
        return ok;
      }
    }
    ++refs;
    added.push_back(r);
  }
  if (!skipped.empty()) {
    std::string list;
    for (const auto& s : skipped) list += (list.empty() ? "" : ", ") + s;
    e->info.kernel_error = "no route through " + tun_->name() + " for " + list + ": it contains the peer's address " +
                           c.remote.addr.to_string();
  }
  children_[ch.id] = std::move(e);
  peers_[ch.id] = c.remote;
  publish();
  return ok_v;
}

status userspace_backend::update_remote(const child_install& c) {
  auto it = children_.find(c.child.id);
  if (it == children_.end())
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(c.child.id) + " is not installed");
  auto& peer = peers_[c.child.id];
  if (peer == c.remote) return ok_v;
  // The TUN routes were chosen to leave out the peer's install address; a new address inside a
  // routed subnet is not handled here (the routes stay as they are).
  peer = c.remote;
  publish();
  return ok_v;
}

status userspace_backend::remove(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end()) return ok_v;
  status result = ok_v;
  for (const auto& r : it->second->routes) {
    auto ref = route_refs_.find(r);
    if (ref == route_refs_.end() || --ref->second > 0) continue;
    route_refs_.erase(ref);
    if (auto ok = tun_->remove_route(r); !ok) result = ok;
  }
  const auto gone = it->second;
  children_.erase(it);
  peers_.erase(child_id);
  // The newest SA of the same selectors takes over sending (confirmed or not).
  std::shared_ptr<sa_entry> newest;
  for (const auto& [id, e] : children_)
    if (e->info.local_ts == gone->info.local_ts && e->info.remote_ts == gone->info.remote_ts &&
        (!newest || e->order > newest->order))
      newest = e;
  if (newest) {
    newest->confirmed.store(true, std::memory_order_relaxed);
    // A rekey: the peer may still have packets sealed with the old SA on their way.
    if (opt_.retired_inbound_grace.count() > 0)
      retired_in_.emplace_back(std::chrono::steady_clock::now() + opt_.retired_inbound_grace, gone);
  }
  publish();  // the data threads drop their reference with their next snapshot
  return result;
}

bool userspace_backend::drop_expired_retired() {
  auto now = std::chrono::steady_clock::now();
  auto before = retired_in_.size();
  std::erase_if(retired_in_, [now](const auto& r) { return r.first <= now; });
  return retired_in_.size() != before;
}

std::chrono::milliseconds userspace_backend::purge_retired() {
  if (drop_expired_retired()) publish();
  if (retired_in_.empty()) return std::chrono::milliseconds{0};
  // Appended with now + the same grace, so the first is the earliest.
  auto next = retired_in_.front().first;
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
  return std::max(wait, std::chrono::milliseconds{1});
}

std::vector<installed_child> userspace_backend::list() const {
  std::vector<installed_child> v;
  v.reserve(children_.size());
  for (const auto& [id, e] : children_) {
    installed_child i = e->info;
    if (auto p = peers_.find(id); p != peers_.end()) i.remote = p->second;
    const auto& in = e->in->counters();
    const auto& out = e->out->counters();
    i.packets_in = load(in.packets);
    i.bytes_in = load(in.bytes);
    i.packets_out = load(out.packets);
    i.bytes_out = load(out.bytes);
    i.replay_drops = load(in.replay_drops);
    i.auth_failures = load(in.auth_failures);
    i.other_drops = load(in.other_drops) + load(out.other_drops);
    v.push_back(std::move(i));
  }
  return v;
}

void userspace_backend::set_expire_sink(expire_sink s) {
  expire_sink_.store(std::make_shared<const expire_sink>(std::move(s)), std::memory_order_release);
}

void userspace_backend::report_expire(const sa_entry& e, bool hard, std::uint32_t spi) {
  auto& reported = hard ? e.hard_reported : e.soft_reported;
  // Both data threads may get here for the same SA: the exchange lets exactly one through.
  if (reported.load(std::memory_order_relaxed) || reported.exchange(true, std::memory_order_acq_rel)) return;
  auto sink = expire_sink_.load(std::memory_order_acquire);
  if (!sink || !*sink) return;
  xfrm_event ev;
  ev.what = hard ? xfrm_event::kind::expire_hard : xfrm_event::kind::expire_soft;
  ev.spi = spi;
  ev.reqid = e.info.reqid;
  ev.src = spi == e.info.spi_in ? e.info.remote.addr : e.info.local.addr;
  ev.dst = spi == e.info.spi_in ? e.info.local.addr : e.info.remote.addr;
  (*sink)(ev);
}

userspace_drops userspace_backend::drops() const {
  userspace_drops d;
  d.no_sa_out = load(drops_.no_sa_out);
  d.unknown_spi = load(drops_.unknown_spi);
  d.selector_mismatch = load(drops_.selector_mismatch);
  d.send_failures = load(drops_.send_failures);
  d.tun_write_failures = load(drops_.tun_write_failures);
  return d;
}

// --- data path -------------------------------------------------------------------------------

// Sealed packets waiting for one send: all for the same SA (a packet for another SA, a full
// batch or an empty device sends them).
struct userspace_backend::tx_batch {
  const sa_entry* sa = nullptr;
  const endpoint* peer = nullptr;  // in the table snapshot `sa` came from
  std::size_t count = 0;
  bytes sealed[send_batch];
  bytes_view views[send_batch];
};

void userspace_backend::run_tun_reader() {
  auto packet = std::make_unique_for_overwrite<std::uint8_t[]>(max_packet);
  auto batch = std::make_unique<tx_batch>();
  // This thread's snapshot of the SA table; reloaded only between batches (when `batch` is
  // empty), so the SA a batch points to stays alive until it is sent.
  std::shared_ptr<const table> snapshot;
  std::uint64_t seen = ~std::uint64_t{0};
  outbound_flow_cache cache;  // answers for recent flows; forgets them with a new table
  pollfd fds[2] = {{tun_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return;
    for (int i = 0; i < reads_per_wakeup; ++i) {
      if (batch->count == 0) {
        std::uint64_t gen = generation_.load(std::memory_order_acquire);
        if (gen != seen) {
          snapshot = table_.load(std::memory_order_acquire);
          seen = gen;
          cache.reset();
        }
      }
      long len = tun_->read(packet.get(), max_packet);
      if (len <= 0) break;  // EAGAIN: drained
      handle_outbound(*snapshot, cache, packet.get(), static_cast<std::size_t>(len), *batch);
    }
    flush(*batch);
  }
}

void userspace_backend::handle_outbound(const table& t, outbound_flow_cache& cache, const std::uint8_t* packet,
                                        std::size_t len, tx_batch& batch) {
  bytes_view inner(packet, len);
  auto flow = parse_inner(inner);
  if (!flow) {
    bump(drops_.no_sa_out);
    return;
  }
  // The first SA of t.outbound (newest first) whose selectors cover the flow.
  std::size_t pos = cache.find(t.index, *flow);
  // A rekey's new SA sends only once confirmed (see sa_entry::confirmed); until then the next
  // matching SA in table order, the old one, carries the flow. Only during that short window
  // does the lookup fall back to a scan, and only from the index's answer onwards.
  if (pos != no_outbound_rule && !t.outbound[pos]->confirmed.load(std::memory_order_relaxed)) {
    std::size_t next = no_outbound_rule;
    for (std::size_t i = pos + 1; i < t.outbound.size(); ++i) {
      const auto& c = t.outbound[i];
      if (c->confirmed.load(std::memory_order_relaxed) && flow_matches_any(*flow, c->info.local_ts, c->info.remote_ts)) {
        next = i;
        break;
      }
    }
    pos = next;
  }
  if (pos == no_outbound_rule) {
    bump(drops_.no_sa_out);
    return;
  }
  const auto& e = t.outbound[pos];
  if (batch.sa != e.get()) flush(batch);
  bytes& sealed = batch.sealed[batch.count];
  if (auto d = e->out->seal(inner, flow->next_header(), sealed); d != esp::drop::none) {  // counted by the SA
    if (d == esp::drop::hard_lifetime) report_expire(*e, true, e->info.spi_out);
    return;
  }
  if (e->out->soft_expired() && !e->soft_reported.load(std::memory_order_relaxed))
    report_expire(*e, false, e->info.spi_out);
  batch.sa = e.get();
  batch.peer = &t.peers[pos];
  batch.views[batch.count++] = sealed;
  if (batch.count == send_batch) flush(batch);
}

void userspace_backend::flush(tx_batch& batch) {
  if (batch.count == 0) return;
  std::span<const bytes_view> packets(batch.views, batch.count);
  std::size_t sent = send_(batch.sa->info.local, *batch.peer, packets);
  if (sent < batch.count) drops_.send_failures.fetch_add(batch.count - sent, std::memory_order_relaxed);
  batch.count = 0;
  batch.sa = nullptr;
  batch.peer = nullptr;
}

void userspace_backend::receive_esp(bytes_view esp_packet) {
  std::uint64_t gen = generation_.load(std::memory_order_acquire);
  if (gen != rx_generation_) {
    rx_table_ = table_.load(std::memory_order_acquire);
    rx_generation_ = gen;
  }
  auto it = rx_table_->by_spi.find(esp::spi_of(esp_packet));
  if (it == rx_table_->by_spi.end()) {
    bump(drops_.unknown_spi);
    return;
  }
  const sa_entry& e = *it->second;
  auto opened = e.in->open(esp_packet, rx_inner_);
  if (opened.reason != esp::drop::none) {  // counted by the SA
    if (opened.reason == esp::drop::hard_lifetime) report_expire(e, true, e.info.spi_in);
    return;
  }
  if (e.in->soft_expired() && !e.soft_reported.load(std::memory_order_relaxed)) report_expire(e, false, e.info.spi_in);
  if (!e.confirmed.load(std::memory_order_relaxed)) e.confirmed.store(true, std::memory_order_relaxed);
  if (opened.next_header == 59) return;          // a dummy packet (RFC 4303 §2.6)
  auto flow = parse_inner(rx_inner_);
  if (!flow || flow->next_header() != opened.next_header ||
      !flow_matches_any(*flow, e.info.remote_ts, e.info.local_ts)) {
    bump(drops_.selector_mismatch);
    return;
  }
  if (tun_->write(rx_inner_.data(), rx_inner_.size()) < 0) bump(drops_.tun_write_failures);
}

}  // namespace aike::kernel
