// One interface for the places CHILD_SAs are installed: the kernel's XFRM, aike's own userspace
// ESP data plane, or nowhere (null). Only the kernel actor calls a backend, so an
// implementation needs no locking; a slow call never blocks an IKE SA actor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/common/result.hpp"
#include "engine/sa/child_sa.hpp"

namespace aike::kernel {

// Everything needed to install one CHILD_SA (both directions and its policies).
struct child_install {
  std::uint32_t ike_id = 0;
  std::string connection;
  sa::child_sa child;  // SPIs, keys, proposal, selectors, mode, encap, reqid
  endpoint local;      // outer addresses (and ports, for UDP encapsulation)
  endpoint remote;
};

// What a backend reports it holds (keys left out).
struct installed_child {
  std::uint32_t ike_id = 0;
  std::uint32_t child_id = 0;
  std::string connection;
  std::string name;
  std::uint32_t reqid = 0;
  std::uint32_t spi_in = 0, spi_out = 0;
  std::vector<ts::selector> local_ts, remote_ts;
  bool encap = false;
  endpoint local, remote;
};

class backend {
 public:
  virtual ~backend() = default;
  virtual const char* name() const = 0;
  virtual status install(const child_install& c) = 0;
  // Removes the SAs and policies of one CHILD_SA; removing what is not there is not an error.
  virtual status remove(std::uint32_t child_id) = 0;
  virtual std::vector<installed_child> list() const = 0;
};

}  // namespace aike::kernel
