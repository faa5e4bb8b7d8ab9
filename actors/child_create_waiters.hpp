// The new CHILD_SAs an IKE SA actor was asked to bring up (initiate, start_action, a trap's
// acquire): the one IKE_AUTH carries, and further ones by CREATE_CHILD_SA once the IKE SA is
// established (RFC 7296 §1.3.1). Each ends as created (the kernel installed it) or failed (the
// peer refused it, the IKE SA closed); the outcomes go to the registry, which counts them per
// initiate operation. Outcomes are matched to requests by child name, in request order (the
// engine creates one CHILD_SA at a time).
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace aike::actors {

struct create_outcome {
  std::uint64_t op = 0;  // the registry's operation id (0: nobody waits)
  std::string child;
  bool ok = false;
  std::string error;
};

class child_create_waiters {
 public:
  // Operation `op` wants a CHILD_SA of `child`. `requested`: the engine has it already (the
  // IKE_AUTH child, or request_child_create accepted it); otherwise it waits for take_deferred().
  void want(std::uint64_t op, const std::string& child, bool requested);
  // The wanted CHILD_SAs not yet handed to the engine; the caller calls request_child_create for
  // each and reports the answer with requested().
  std::vector<std::string> take_deferred();
  void requested(const std::string& child, bool accepted, const std::string& why);
  // The engine made a new CHILD_SA of `child` (install_child, replaces 0): it is waited for until
  // the kernel answered, with the CHILD_SA's id.
  void made(const std::string& child, std::uint32_t id);
  void installed(std::uint32_t id, bool ok, const std::string& why = {});
  // The engine reported child_create_failed for `child`.
  void failed(const std::string& child, const std::string& why);
  // The IKE SA ends: everything still waited for fails.
  void close(const std::string& why);
  std::vector<create_outcome> take();

 private:
  struct waiter {
    std::uint64_t op = 0;
    std::string child;
    enum class stage { deferred, requested, installing } at = stage::deferred;
    std::uint32_t id = 0;  // installing: the CHILD_SA's id
  };
  void finish(std::deque<waiter>::iterator it, bool ok, const std::string& error);
  std::deque<waiter> waiting_;
  std::vector<create_outcome> out_;
};

}  // namespace aike::actors
