// Inbound ESP SPIs reserved by the kernel ahead of time (XFRM_MSG_ALLOCSPI), for the IKE SA actors.
//
// The engine asks for an SPI synchronously (sa_environment::new_child_spi) in the middle of an
// exchange, so an IKE SA actor must not wait for netlink. The kernel actor therefore keeps a few
// kernel-reserved SPIs per local address in this pool; an IKE SA actor takes one without waiting
// (a mutex around a small map — thread plumbing, not SA state) and the pool asks the kernel actor
// to top up. When the pool has none for that address (not enabled: not the XFRM backend; ALLOCSPI
// refused; all taken), the caller falls back to a random SPI from id_source, as before.
//
// Reservations age: the kernel removes a larval state ALLOCSPI made after net.core.xfrm_acq_expires
// seconds (30 by default), so the pool hands out only entries younger than max_age and the kernel
// actor drops and replaces older ones.
#pragma once
#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/endpoint.hpp"

namespace aike::actors {

class spi_pool {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t target = 8;                   // SPIs kept per local address
  static constexpr std::chrono::seconds max_age{20};         // below the kernel's 30 s acquire expiry

  // The process's pool (like id_source's counters): the kernel actor enables it, SA actors take.
  static spi_pool& global();

  // The kernel actor (XFRM backend) enables the pool; `kernel` gets (spi, ip_address) to top up.
  void enable(caf::actor kernel);
  void disable();
  bool enabled() const;

  // An SPI the kernel reserved for inbound SAs to `local`, not older than max_age; nullopt when
  // there is none (then the caller picks one itself). Asks the kernel actor to top up either way.
  std::optional<std::uint32_t> take(const ip_address& local);

  // Asks the kernel actor to reserve SPIs for `local` now (an SA to that address is starting).
  void warm(const ip_address& local);

  // Kernel actor side.
  void put(const ip_address& local, std::uint32_t spi, clock::time_point reserved);
  // How many more SPIs `local` needs to reach target (after dropping aged entries into `aged`).
  std::size_t missing(const ip_address& local, clock::time_point now, std::vector<std::uint32_t>& aged);
  // Every address the pool serves.
  std::vector<ip_address> addresses() const;
  std::size_t size(const ip_address& local) const;
  bool serves(const ip_address& local) const;  // local had reservations before

 private:
  struct entry {
    std::uint32_t spi;
    clock::time_point reserved;
  };
  mutable std::mutex mu_;
  bool enabled_ = false;
  caf::actor kernel_;
  std::map<std::string, std::pair<ip_address, std::vector<entry>>> by_local_;  // key: address text
};

}  // namespace aike::actors
