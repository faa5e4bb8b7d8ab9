#include "config/model.hpp"

namespace aike::config {

const char* to_string(kernel_mode m) {
  switch (m) {
    case kernel_mode::auto_: return "auto";
    case kernel_mode::xfrm: return "xfrm";
    case kernel_mode::userspace: return "userspace";
    case kernel_mode::null: return "null";
  }
  return "?";
}

const char* to_string(dpd_action a) {
  switch (a) {
    case dpd_action::clear: return "clear";
    case dpd_action::restart: return "restart";
    case dpd_action::trap: return "trap";
  }
  return "?";
}

const char* to_string(unique_policy u) {
  switch (u) {
    case unique_policy::replace: return "replace";
    case unique_policy::keep: return "keep";
    case unique_policy::never: return "never";
    case unique_policy::no: return "no";
  }
  return "?";
}

const char* to_string(start_action a) {
  switch (a) {
    case start_action::none: return "none";
    case start_action::start: return "start";
    case start_action::trap: return "trap";
  }
  return "?";
}

const char* to_string(child_action a) {
  switch (a) {
    case child_action::none: return "none";
    case child_action::clear: return "clear";
    case child_action::trap: return "trap";
    case child_action::restart: return "restart";
  }
  return "?";
}

const child_policy* connection::find_child(std::string_view child_name) const {
  for (const auto& c : children)
    if (c.name == child_name) return &c;
  return nullptr;
}

const connection* config::find(std::string_view name) const {
  for (const auto& c : connections)
    if (c.ike && c.ike->name == name) return &c;
  return nullptr;
}

void force_udp_encapsulation(config& cfg) {
  cfg.daemon.encap_all = true;
  for (auto& c : cfg.connections) {
    if (!c.ike || c.ike->force_encap) continue;
    auto copy = std::make_shared<sa::connection>(*c.ike);
    copy->force_encap = true;
    c.ike = std::move(copy);
  }
}

}  // namespace aike::config
