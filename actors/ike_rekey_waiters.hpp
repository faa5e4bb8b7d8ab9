// The IKE SA rekeys a bulk `aikectl rekey --ike-sas` (or --ike / --ike-id) waits for on one IKE
// SA actor. Each ends as rekeyed (the new IKE SA is in use and the old one is deleted) or failed
// (the rekey refused or answered badly, the IKE SA not established, or closed meanwhile). The
// IKE SA actor checks it after every engine step and sends the outcomes to the registry, which
// counts them per operation, as for CHILD_SA rekeys (child_rekey_waiters).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/sa/ike_sa.hpp"

namespace aike::actors {

struct ike_rekey_outcome {
  std::uint64_t op = 0;  // the registry's operation id
  bool ok = false;
  std::string error;
};

class ike_rekey_waiters {
 public:
  // Operation `op` asked to rekey the IKE SA; `started` is what request_ike_rekey answered. A
  // rekey under way already (rekey_time, an earlier request, the peer's rekey whose old SA is
  // still being deleted) is waited for too.
  void add(std::uint64_t op, const sa::ike_sa& sa, bool started);
  // After the engine ran: the old SA gone -> rekeyed; no rekey under way and still the old SA -> failed.
  void check(const sa::ike_sa& sa);
  // The IKE SA ends: every rekey still waited for failed.
  void close(const std::string& why);
  bool empty() const { return waiting_.empty(); }
  std::vector<ike_rekey_outcome> take();

 private:
  struct waiter {
    std::uint64_t op = 0;
    std::uint64_t old_spi = 0;  // our SPI of the IKE SA to be replaced
  };
  std::vector<waiter> waiting_;
  std::vector<ike_rekey_outcome> out_;
};

}  // namespace aike::actors
