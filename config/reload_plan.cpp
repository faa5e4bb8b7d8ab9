#include "config/reload_plan.hpp"

#include <algorithm>

namespace aike::config {
namespace {

// Credentials come from one credential_cache, which hands out one object per fingerprint: the
// same object means the same credential. Objects from different caches compare by fingerprint.
bool same_key(const auth::public_key& a, const auth::public_key& b) { return a.get() == b.get() || a == b; }

bool same_key(const auth::private_key& a, const auth::private_key& b) {
  return a.get() == b.get() || a.public_part() == b.public_part();
}

bool same_cert(const auth::certificate& a, const auth::certificate& b) {
  return a.get() == b.get() || a.fingerprint() == b.fingerprint();
}

template <typename T, typename Eq>
bool same_list(const std::vector<T>& a, const std::vector<T>& b, Eq eq) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), eq);
}

template <typename T, typename Eq>
bool same_optional(const std::optional<T>& a, const std::optional<T>& b, Eq eq) {
  return a.has_value() == b.has_value() && (!a || eq(*a, *b));
}

bool same_store(const std::shared_ptr<const auth::trust_store>& a, const std::shared_ptr<const auth::trust_store>& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return same_list(a->cas(), b->cas(), same_cert);
}

bool same_local(const sa::local_auth& a, const sa::local_auth& b) {
  auto pub = [](const auth::public_key& x, const auth::public_key& y) { return same_key(x, y); };
  auto priv = [](const auth::private_key& x, const auth::private_key& y) { return same_key(x, y); };
  return a.kind == b.kind && a.id == b.id && same_optional(a.key, b.key, priv) &&
         same_list(a.certs, b.certs, same_cert) && same_optional(a.raw_key, b.raw_key, pub);
}

bool same_remote(const sa::remote_auth& a, const sa::remote_auth& b) {
  auto pub = [](const auth::public_key& x, const auth::public_key& y) { return same_key(x, y); };
  return a.kind == b.kind && a.id == b.id && same_list(a.pubkeys, b.pubkeys, pub) && same_store(a.cas, b.cas);
}

bool same_secret(const sa::psk_secret& a, const sa::psk_secret& b) { return a.ids == b.ids && a.secret == b.secret; }

bool same_child(const sa::child_config& a, const sa::child_config& b) {
  return a.name == b.name && a.local_ts == b.local_ts && a.remote_ts == b.remote_ts &&
         a.esp_proposals == b.esp_proposals && a.mode == b.mode && a.mark_in == b.mark_in &&
         a.mark_out == b.mark_out;
}

bool same_policy(const child_policy& a, const child_policy& b) {
  return a.name == b.name && a.start == b.start && a.on_dpd == b.on_dpd && a.on_close == b.on_close &&
         a.updown == b.updown && a.rekey_time == b.rekey_time && a.life_time == b.life_time &&
         a.rand_time == b.rand_time && a.bytes == b.bytes && a.packets == b.packets &&
         a.replay_window == b.replay_window;
}

bool same_retransmit(const sa::retransmit_policy& a, const sa::retransmit_policy& b) {
  return a.timeout == b.timeout && a.base == b.base && a.tries == b.tries;
}

bool same_engine_part(const sa::connection& a, const sa::connection& b) {
  return a.name == b.name && a.local_addrs == b.local_addrs && a.remote_addrs == b.remote_addrs &&
         a.remote_port == b.remote_port && a.ike_proposals == b.ike_proposals && same_local(a.local, b.local) &&
         same_remote(a.remote, b.remote) && same_list(a.children, b.children, same_child) &&
         a.fragmentation == b.fragmentation && a.fragment_size == b.fragment_size &&
         a.reassembly.max_fragments == b.reassembly.max_fragments && a.reassembly.max_size == b.reassembly.max_size &&
         a.fragment_timeout == b.fragment_timeout && a.force_encap == b.force_encap && a.dpd_delay == b.dpd_delay &&
         same_retransmit(a.retransmit, b.retransmit) && a.half_open_timeout == b.half_open_timeout &&
         same_list(a.secrets, b.secrets, same_secret);
}

// Settings bound at start: the value in `next` is replaced by the running one, and the key is
// named when they differ.
template <typename T>
void keep(const char* key, const T& running, T& next, std::vector<std::string>& changed) {
  if (!(running == next)) {
    changed.emplace_back(key);
    next = running;
  }
}

std::vector<std::string> keep_start_settings(const daemon_config& running, daemon_config& next) {
  std::vector<std::string> changed;
  keep("daemon.listen", running.listen, next.listen, changed);
  keep("daemon.ike_port", running.ike_port, next.ike_port, changed);
  keep("daemon.natt_port", running.natt_port, next.natt_port, changed);
  keep("daemon.kernel", running.kernel, next.kernel, changed);
  std::string control_running = running.control_host + ":" + std::to_string(running.control_port);
  std::string control_next = next.control_host + ":" + std::to_string(next.control_port);
  if (control_running != control_next) {
    changed.emplace_back("daemon.control");
    next.control_host = running.control_host;
    next.control_port = running.control_port;
  }
  keep("daemon.control_token", running.control_token, next.control_token, changed);
  keep("daemon.control_cert", running.control_cert, next.control_cert, changed);
  keep("daemon.control_key", running.control_key, next.control_key, changed);
  keep("daemon.control_ca", running.control_ca, next.control_ca, changed);
  keep("daemon.workers", running.workers, next.workers, changed);
  keep("daemon.delete_on_stop", running.delete_on_stop, next.delete_on_stop, changed);
  if (running.log.default_level != next.log.default_level || running.log.subsystems != next.log.subsystems) {
    changed.emplace_back("daemon.log");
    next.log.default_level = running.log.default_level;
    next.log.subsystems = running.log.subsystems;
  }
  keep("daemon.log_file", running.log.file, next.log.file, changed);
  keep("daemon.updown.max_parallel", running.updown_max_parallel, next.updown_max_parallel, changed);
  keep("daemon.updown.timeout", running.updown_timeout, next.updown_timeout, changed);
  keep("kernel.flush_on_start", running.flush_on_start, next.flush_on_start, changed);
  keep("kernel.tun_name", running.tun_name, next.tun_name, changed);
  keep("kernel.tun_mtu", running.tun_mtu, next.tun_mtu, changed);
  keep("kernel.replay_window", running.replay_window, next.replay_window, changed);
  if (running.xfrm_ownership.reqid_first != next.xfrm_ownership.reqid_first ||
      running.xfrm_ownership.reqid_count != next.xfrm_ownership.reqid_count)
    changed.emplace_back("kernel.reqid_range");
  if (running.xfrm_ownership.policy_priority_first != next.xfrm_ownership.policy_priority_first)
    changed.emplace_back("kernel.policy_priority_base");
  next.xfrm_ownership = running.xfrm_ownership;
  return changed;
}

}  // namespace

bool same_connection(const connection& a, const connection& b) {
  if (a.ike != b.ike && !(a.ike && b.ike && same_engine_part(*a.ike, *b.ike))) return false;
  return a.local_port == b.local_port && a.on_dpd == b.on_dpd && a.unique == b.unique &&
         a.keyingtries == b.keyingtries && a.rekey_time == b.rekey_time && a.reauth_time == b.reauth_time &&
         a.life_time == b.life_time && a.rand_time == b.rand_time && same_list(a.children, b.children, same_policy) &&
         a.remote_any == b.remote_any && a.fragmentation_force == b.fragmentation_force && a.mobike == b.mobike;
}

reload_plan plan_reload(const config& running, config next) {
  reload_plan plan;
  // Connections default their local port to [daemon] ike_port and may name natt_port: when the
  // ports are kept, the connections follow the ports that are really bound.
  for (auto& c : next.connections) {
    if (c.local_port == next.daemon.ike_port)
      c.local_port = running.daemon.ike_port;
    else if (c.local_port == next.daemon.natt_port)
      c.local_port = running.daemon.natt_port;
  }
  plan.restart_needed = keep_start_settings(running.daemon, next.daemon);
  if (running.daemon.encap_all) force_udp_encapsulation(next);  // the userspace backend still runs

  for (const auto& c : next.connections) {
    const connection* old = running.find(c.name());
    if (!old) {
      plan.added.push_back(c.name());
      for (const auto& ch : c.children)
        if (ch.start == start_action::start) plan.to_start.emplace_back(c.name(), ch.name);
    } else if (same_connection(*old, c)) {
      plan.unchanged.push_back(c.name());
    } else {
      plan.changed.push_back(c.name());
    }
  }
  for (const auto& c : running.connections)
    if (!next.find(c.name())) plan.removed.push_back(c.name());
  plan.effective = std::move(next);
  return plan;
}

std::string restart_warning(const reload_plan& plan) {
  if (plan.restart_needed.empty()) return {};
  std::string keys;
  for (const auto& k : plan.restart_needed) keys += (keys.empty() ? "" : ", ") + k;
  return keys + (plan.restart_needed.size() == 1 ? ": changed in the file but takes" : ": changed in the file but take") +
         " effect only after a restart of aiked; the running value" + (plan.restart_needed.size() == 1 ? " was" : "s were") +
         " kept";
}

}  // namespace aike::config
