#include "kernel/null_backend.hpp"

namespace aike::kernel {

status null_backend::install(const child_install& c) {
  installed_child i = describe(c);
  if (!children_.emplace(i.child_id, std::move(i)).second)
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(c.child.id) + " is already installed");
  return ok_v;
}

status null_backend::remove(std::uint32_t child_id) {
  children_.erase(child_id);
  return ok_v;
}

status null_backend::update_remote(const child_install& c) {
  auto it = children_.find(c.child.id);
  if (it == children_.end())
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(c.child.id) + " is not installed");
  it->second.remote = c.remote;
  return ok_v;
}

std::vector<installed_child> null_backend::list() const {
  std::vector<installed_child> out;
  out.reserve(children_.size());
  for (const auto& [id, c] : children_) out.push_back(c);
  return out;
}

}  // namespace aike::kernel
