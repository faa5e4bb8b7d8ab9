#include "actors/child_install_params.hpp"

#include <tuple>

namespace aike::actors {

namespace {

// rekey - random(0..rand), at least 1; 0 when rekey is 0.
std::uint64_t soft_limit(const sa::volume_lifetime& v, const std::function<std::uint64_t()>& random) {
  if (v.rekey == 0) return 0;
  std::uint64_t jitter = 0;
  if (v.rand > 0) jitter = v.rand == ~std::uint64_t{0} ? random() : random() % (v.rand + 1);
  return jitter >= v.rekey ? 1 : v.rekey - jitter;
}

kernel::child_install::mark resolve(const sa::xfrm_mark& m, std::uint32_t unique_value) {
  if (m.mask == 0) return {};
  if (m.unique == sa::xfrm_mark::uniqueness::none) return {m.value, m.mask};
  return {unique_value & m.mask, m.mask};
}

}  // namespace

std::pair<kernel::child_install::mark, kernel::child_install::mark> resolve_marks(const sa::child_config& cc,
                                                                                   std::uint32_t reqid) {
  bool per_dir = cc.mark_in.unique == sa::xfrm_mark::uniqueness::per_direction ||
                 cc.mark_out.unique == sa::xfrm_mark::uniqueness::per_direction;
  return {resolve(cc.mark_in, reqid), resolve(cc.mark_out, per_dir ? reqid + unique_dir_out_offset : reqid)};
}

kernel::sa_lifetime volume_lifetime_for(const sa::child_config& cc, const std::function<std::uint64_t()>& random) {
  kernel::sa_lifetime l;
  l.soft_bytes = soft_limit(cc.bytes, random);
  l.hard_bytes = cc.bytes.life;
  l.soft_packets = soft_limit(cc.packets, random);
  l.hard_packets = cc.packets.life;
  return l;
}

void add_time_backstop(kernel::sa_lifetime& l, const sa::child_config& cc) {
  auto seconds_after = [](std::chrono::milliseconds t) -> std::uint64_t {
    if (t.count() <= 0) return 0;
    return static_cast<std::uint64_t>((t.count() + 999) / 1000) + kernel_time_margin_s;
  };
  l.hard_seconds = seconds_after(cc.life_time);
  l.soft_seconds = seconds_after(cc.rekey_time);
  // A soft limit at or past the hard one would never fire.
  if (l.hard_seconds != 0 && l.soft_seconds >= l.hard_seconds) l.soft_seconds = 0;
}

kernel::child_install child_install_params(std::uint32_t ike_id, const sa::connection* conn, const sa::child_sa& child,
                                           const endpoint& local, const endpoint& remote,
                                           const std::function<std::uint64_t()>& random) {
  kernel::child_install ci;
  ci.ike_id = ike_id;
  ci.connection = conn ? conn->name : std::string();
  ci.child = child;
  ci.local = local;
  ci.remote = remote;
  if (conn)
    for (const auto& cc : conn->children)
      if (cc.name == child.name) {
        ci.replay_window = cc.replay_window;
        ci.lifetime = volume_lifetime_for(cc, random);
        add_time_backstop(ci.lifetime, cc);
        std::tie(ci.mark_in, ci.mark_out) = resolve_marks(cc, child.reqid);
        break;
      }
  return ci;
}

}  // namespace aike::actors
