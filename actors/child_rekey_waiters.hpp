// The CHILD_SA rekeys a bulk `aikectl rekey` waits for on one IKE SA: each one ends as rekeyed
// (the new SA installed and the old one removed) or failed (refused by the peer, the old SA
// deleted first, the IKE SA closed). The IKE SA actor feeds it what the engine and the kernel
// actor do, and sends the outcomes to the registry, which counts them per operation.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/sa/ike_sa.hpp"

namespace aike::actors {

struct rekey_outcome {
  std::uint64_t op = 0;  // the registry's operation id
  std::uint32_t child_id = 0;
  bool ok = false;
  std::string error;
};

class child_rekey_waiters {
 public:
  // Operation `op` asked to rekey `child_id`; `started` is what request_child_rekey answered.
  // A child that is being rekeyed already (by its lifetime, or the peer) is waited for too.
  void add(std::uint64_t op, std::uint32_t child_id, const sa::ike_sa& sa, bool started);
  // Fails at once: the IKE SA is closing.
  void refuse(std::uint64_t op, std::uint32_t child_id, const std::string& why);
  // The kernel actor answered the install of a rekey's new SA (`replaces` is the old one).
  void installed(std::uint32_t replaces, std::uint32_t fresh, bool ok);
  // The kernel actor answered the removal of a CHILD_SA; `closing`: because the IKE SA ends.
  void removed(std::uint32_t child_id, bool closing);
  // After the engine ran: a rekey that went back to "installed" without a successor failed.
  void check(const sa::ike_sa& sa);
  // The IKE SA ends: every rekey still waited for failed.
  void close(const std::string& why);
  std::vector<rekey_outcome> take();

 private:
  struct waiter {
    std::vector<std::uint64_t> ops;
    bool seen_rekeying = false;
    std::uint32_t successor = 0;
  };
  void finish(std::map<std::uint32_t, waiter>::iterator it, bool ok, const std::string& error);
  std::map<std::uint32_t, waiter> waiting_;
  std::vector<rekey_outcome> out_;
};

}  // namespace aike::actors
