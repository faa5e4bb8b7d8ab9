#include "kernel/shared_reqids.hpp"

namespace aike::kernel {

shared_reqids::assignment shared_reqids::add(std::uint32_t child_id, std::uint32_t reqid, const std::string& who,
                                             const std::vector<std::string>& keys) {
  remove(child_id);  // a second add of one id replaces the first
  child me{reqid, reqid, who, std::set<std::string>(keys.begin(), keys.end())};

  // The policies others hold: their template reqids, and one holder to name for each.
  std::map<std::uint32_t, std::uint32_t> held;  // template reqid -> a CHILD_SA holding it
  std::size_t held_keys = 0;
  for (const auto& k : me.keys)
    if (auto it = policies_.find(k); it != policies_.end() && !it->second.users.empty()) {
      ++held_keys;
      held.emplace(it->second.template_reqid, *it->second.users.begin());
    }

  bool sibling = false;  // rule 1: a CHILD_SA of the same reqid (rekey, own reauthentication)
  for (const auto& [id, c] : children_)
    if (c.reqid == reqid) {
      me.kernel_reqid = c.kernel_reqid;
      sibling = true;
      break;
    }
  if (!sibling && !me.keys.empty() && held_keys == me.keys.size() && held.size() == 1)
    me.kernel_reqid = held.begin()->first;  // rule 2: all shared, under one reqid

  assignment a;
  a.kernel_reqid = me.kernel_reqid;
  for (const auto& [tmpl, holder] : held) {
    if (tmpl == me.kernel_reqid) continue;
    const child& other = children_.at(holder);
    std::string mine = who + " (reqid " + std::to_string(reqid) +
                       (me.kernel_reqid != reqid ? ", kernel reqid " + std::to_string(me.kernel_reqid) : "") + ")";
    a.warning = "CHILD_SA " + mine + " shares " + std::to_string(held_keys) + " of its " +
                std::to_string(me.keys.size()) + " XFRM policies with CHILD_SA " + other.who + " (reqid " +
                std::to_string(other.reqid) + "), whose templates keep reqid " + std::to_string(tmpl) +
                ": traffic of those selectors on " + who +
                "'s SAs fails the kernel's template check; give the two CHILD_SAs identical or disjoint traffic "
                "selectors (aikectl doctor reports them as overlapping-reqids)";
    break;
  }

  for (const auto& k : me.keys) {
    auto [it, fresh] = policies_.try_emplace(k);
    if (fresh || it->second.users.empty()) it->second.template_reqid = me.kernel_reqid;
    it->second.users.insert(child_id);
  }
  children_.emplace(child_id, std::move(me));
  return a;
}

void shared_reqids::remove(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end()) return;
  for (const auto& k : it->second.keys) {
    auto p = policies_.find(k);
    if (p == policies_.end()) continue;
    p->second.users.erase(child_id);
    if (p->second.users.empty()) policies_.erase(p);
  }
  children_.erase(it);
}

std::uint32_t shared_reqids::kernel_reqid(std::uint32_t child_id) const {
  auto it = children_.find(child_id);
  return it == children_.end() ? 0 : it->second.kernel_reqid;
}

std::vector<std::uint32_t> shared_reqids::children_with_kernel_reqid(std::uint32_t reqid) const {
  std::vector<std::uint32_t> out;
  for (const auto& [id, c] : children_)
    if (c.kernel_reqid == reqid) out.push_back(id);
  return out;
}

std::uint32_t shared_reqids::template_reqid(const std::string& key) const {
  auto it = policies_.find(key);
  return it == policies_.end() ? 0 : it->second.template_reqid;
}

}  // namespace aike::kernel
