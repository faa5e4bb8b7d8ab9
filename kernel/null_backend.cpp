#include "kernel/null_backend.hpp"

namespace aike::kernel {

status null_backend::install(const child_install& c) {
  installed_child i;
  i.ike_id = c.ike_id;
  i.child_id = c.child.id;
  i.connection = c.connection;
  i.name = c.child.name;
  i.reqid = c.child.reqid;
  i.spi_in = c.child.spi_in;
  i.spi_out = c.child.spi_out;
  i.local_ts = c.child.local_ts;
  i.remote_ts = c.child.remote_ts;
  i.encap = c.child.encap;
  i.local = c.local;
  i.remote = c.remote;
  if (!children_.emplace(i.child_id, std::move(i)).second)
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(c.child.id) + " is already installed");
  return ok_v;
}

status null_backend::remove(std::uint32_t child_id) {
  children_.erase(child_id);
  return ok_v;
}

std::vector<installed_child> null_backend::list() const {
  std::vector<installed_child> out;
  out.reserve(children_.size());
  for (const auto& [id, c] : children_) out.push_back(c);
  return out;
}

}  // namespace aike::kernel
