// The null backend keeps CHILD_SAs in memory only: for tests, load generation and hosts where
// another component moves the packets. It can list what it holds, like a real backend.
#pragma once
#include <map>

#include "kernel/backend.hpp"

namespace aike::kernel {

class null_backend final : public backend {
 public:
  const char* name() const override { return "null"; }
  status install(const child_install& c) override;
  status remove(std::uint32_t child_id) override;
  std::vector<installed_child> list() const override;
  // Records the new remote endpoint (list() shows it).
  status update_remote(const child_install& c) override;

 private:
  std::map<std::uint32_t, installed_child> children_;
};

}  // namespace aike::kernel
