// Kernel reqids of CHILD_SAs whose XFRM policies are shared (used by the XFRM backend).
//
// aiked gives every CHILD_SA a reqid of its own (kept across its rekeys), while the XFRM backend
// installs a policy only once for all CHILD_SAs that need exactly it (same direction, selector and
// mark). The kernel matches a policy's template to SAs by reqid, so every SA that carries traffic
// of a shared policy must carry the reqid named in that policy's template. Hence each installed
// CHILD_SA gets a *kernel reqid*, used for its SAs and for the templates of the policies it
// installs first:
//
//  1. another installed CHILD_SA with the same (logical) reqid exists — a rekey, aiked's own
//     reauthentication: its kernel reqid;
//  2. else, every one of its policies is already held by other CHILD_SAs under one template reqid
//     K — the peer reauthenticated make-before-break, a duplicate before `unique` replaced it: K;
//  3. else its own reqid. When some (not all) of its policies are held under another reqid, the
//     shared ones cannot match both, and add() returns a warning naming both CHILD_SAs.
//
// A policy's template reqid never changes while the policy exists (it is set by whoever installs
// it, and every later user has adopted it by rule 1 or 2), so templates and SAs keep matching in
// any order of adds and removes: when the first CHILD_SA goes, the policy stays for the others
// with a template that names their SAs' kernel reqid. A mapping goes away with its CHILD_SA.
// Pure bookkeeping, no netlink: tests/unit/kernel_shared_reqids_test.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace aike::kernel {

class shared_reqids {
 public:
  struct assignment {
    std::uint32_t kernel_reqid = 0;
    std::string warning;  // "" unless some of its policies keep another CHILD_SA's reqid
  };

  // Records CHILD_SA child_id (reqid `reqid`, `who` names it in messages, e.g. "site/net{5}")
  // with its policy keys, before its policies are installed. Policies no CHILD_SA holds yet get
  // the returned kernel reqid as their template reqid.
  assignment add(std::uint32_t child_id, std::uint32_t reqid, const std::string& who,
                 const std::vector<std::string>& keys);
  // Forgets a CHILD_SA (removed, or its install failed); its policies nobody else holds go too.
  void remove(std::uint32_t child_id);

  // 0 when the CHILD_SA is not known.
  std::uint32_t kernel_reqid(std::uint32_t child_id) const;
  // The CHILD_SAs whose SAs carry kernel reqid `reqid` (what a kernel MIGRATE or expire names),
  // in child id order: also those whose own reqid is another one, e.g. the CHILD_SA of a peer's
  // reauthentication once the older CHILD_SA whose reqid its shared policies keep is gone.
  std::vector<std::uint32_t> children_with_kernel_reqid(std::uint32_t reqid) const;
  // The template reqid of a policy some CHILD_SA holds; 0 when none does.
  std::uint32_t template_reqid(const std::string& key) const;
  std::size_t children() const { return children_.size(); }
  std::size_t policies() const { return policies_.size(); }
  void clear() {
    children_.clear();
    policies_.clear();
  }

 private:
  struct child {
    std::uint32_t reqid = 0, kernel_reqid = 0;
    std::string who;
    std::set<std::string> keys;
  };
  struct policy {
    std::uint32_t template_reqid = 0;
    std::set<std::uint32_t> users;  // child ids
  };
  std::map<std::uint32_t, child> children_;
  std::map<std::string, policy> policies_;
};

}  // namespace aike::kernel
