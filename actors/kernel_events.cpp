#include "actors/kernel_events.hpp"

#include <algorithm>

#include "actors/id_source.hpp"
#include "actors/route_lookup.hpp"
#include "engine/common/spi_text.hpp"

namespace aike::actors {

namespace {

bool same_trap(const kernel::trap_install& a, const kernel::trap_install& b) {
  return a.connection == b.connection && a.child == b.child && a.local == b.local && a.remote == b.remote &&
         a.local_ts == b.local_ts && a.remote_ts == b.remote_ts && a.mode == b.mode &&
         a.mark_out.value == b.mark_out.value && a.mark_out.mask == b.mark_out.mask;
}

// The traps the configuration asks for now (reqid 0: not assigned yet).
std::vector<kernel::trap_install> wanted_traps(caf::stateful_actor<registry_state>* self) {
  auto& st = self->state;
  std::vector<kernel::trap_install> out;
  for (const auto& c : st.cfg->connections) {
    const auto& ike = *c.ike;
    for (const auto& ch : c.children) {
      if (ch.start != config::start_action::trap) continue;
      const auto* cc = ike.find_child(ch.name);
      if (!cc || ike.remote_addrs.empty()) continue;  // the loader refuses trap without a remote address
      kernel::trap_install t;
      t.connection = c.name();
      t.child = ch.name;
      t.remote = ike.remote_addrs.front();
      if (!ike.local_addrs.empty()) {
        t.local = ike.local_addrs.front();
      } else if (auto src = source_address_for(t.remote)) {
        t.local = *src;
      } else {
        st.log(level::error, "trap " + t.connection + "/" + t.child + ": no route to " + t.remote.to_string() +
                                 " to pick a local address from; not installed");
        continue;
      }
      t.local_ts = cc->local_ts;
      t.remote_ts = cc->remote_ts;
      t.mode = cc->mode;
      // A fixed mark_out only: %unique resolves to the CHILD_SA's reqid, unknown before the acquire.
      if (cc->mark_out.unique == sa::xfrm_mark::uniqueness::none) t.mark_out = {cc->mark_out.value, cc->mark_out.mask};
      out.push_back(std::move(t));
    }
  }
  return out;
}

void put_trap(caf::stateful_actor<registry_state>* self, kernel::trap_install t) {
  auto& st = self->state;
  st.traps[t.reqid] = t;
  std::string name = t.connection + "/" + t.child;
  std::uint32_t reqid = t.reqid;
  self->request(st.kernel, caf::infinite, trap_atom::value, std::move(t))
      .then(
          [self, name, reqid](bool ok, const std::string& err) {
            if (ok) return;
            self->state.traps.erase(reqid);
            self->state.log(level::error, "start_action = \"trap\" for " + name + ": " + err);
          },
          [self, name, reqid](const caf::error& e) {
            self->state.traps.erase(reqid);
            self->state.log(level::error, "trap for " + name + ": the kernel actor failed: " + caf::to_string(e));
          });
}

}  // namespace

void install_traps(caf::stateful_actor<registry_state>* self) { sync_traps(self); }

void sync_traps(caf::stateful_actor<registry_state>* self) {
  auto& st = self->state;
  auto wanted = wanted_traps(self);
  std::vector<bool> placed(wanted.size(), false);
  for (auto it = st.traps.begin(); it != st.traps.end();) {
    const auto& have = it->second;
    std::string name = have.connection + "/" + have.child;
    std::size_t i = 0;
    while (i < wanted.size() && (wanted[i].connection != have.connection || wanted[i].child != have.child)) ++i;
    if (i < wanted.size() && same_trap(wanted[i], have)) {
      placed[i] = true;  // unchanged: its policies stay
      ++it;
      continue;
    }
    // Removed, or changed: the old policies go first (a changed trap keeps its reqid), so that a
    // selector both have is free again for the new ones. The kernel actor handles both in order.
    std::uint32_t reqid = it->first;
    self->send(st.kernel, trap_atom::value, remove_atom::value, reqid);
    it = st.traps.erase(it);
    if (i < wanted.size()) {
      st.log(level::info, "trap " + name + " changed by a reload: replacing its policies (reqid " + std::to_string(reqid) + ")");
      wanted[i].reqid = reqid;
      placed[i] = true;
      put_trap(self, std::move(wanted[i]));
    } else {
      st.log(level::info, "trap " + name + " is gone after a reload: removing its policies (reqid " + std::to_string(reqid) + ")");
    }
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (placed[i]) continue;
    wanted[i].reqid = next_reqid();
    put_trap(self, std::move(wanted[i]));
  }
}

namespace {

void on_acquire(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  auto& st = self->state;
  std::string packet = ev.sel_src.to_string() + " -> " + ev.sel_dst.to_string();
  auto it = st.traps.find(ev.reqid);
  if (it == st.traps.end()) {
    st.log(level::debug, "acquire for reqid " + std::to_string(ev.reqid) + " (" + packet + ") is not one of our traps");
    return;
  }
  const std::string& conn = it->second.connection;
  const std::string& child = it->second.child;
  // An IKE SA of the connection that is up gets the child by CREATE_CHILD_SA (the initiate below
  // finds it), unless it has that child already or an initiate is creating it.
  for (const auto& [op_id, op] : st.ops)
    if (op.what == bulk_op::kind::create_child && op.conn && op.conn->name == conn &&
        std::find(op.child_names.begin(), op.child_names.end(), child) != op.child_names.end()) {
      st.log(level::debug, "acquire for " + conn + "/" + child + " (" + packet + "): being created already");
      return;
    }
  for (const auto& [id, e] : st.sas) {
    if (e.connection != conn) continue;
    bool has_child = std::any_of(e.summary.children.begin(), e.summary.children.end(),
                                 [&](const sa::child_summary& c) { return c.name == child; });
    if (e.summary.state != "ESTABLISHED" || has_child) {
      st.log(level::debug, "acquire for " + conn + "/" + child + " (" + packet + "): " + conn + "[" +
                               std::to_string(id) + "] already exists (" + e.summary.state + ")");
      return;
    }
  }
  st.log(level::info, "acquire for " + conn + "/" + child + " (packet " + packet + "): initiating");
  // An anonymous send: the bulk_result of this initiate has nobody waiting for it.
  caf::anon_send(caf::actor_cast<caf::actor>(self), initiate_atom::value, conn, child, initiate_one,
                 std::uint32_t{30000}, false);
}

void on_expire(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  auto& st = self->state;
  bool hard = ev.what == kernel::xfrm_event::kind::expire_hard;
  std::string sa_text = "SA 0x" + spi_hex(ev.spi) + " (reqid " + std::to_string(ev.reqid) + ")";
  // By reqid and SPI; failing that by SPI and destination: a CHILD_SA whose XFRM policies are
  // shared with an older one of identical selectors has its SAs under that one's reqid (the XFRM
  // backend's kernel reqid, kernel/shared_reqids.hpp).
  auto spi_to = [&](const auto& c, const auto& e) {
    return (c.spi_in == ev.spi && e.summary.local.addr == ev.dst) || (c.spi_out == ev.spi && e.summary.remote.addr == ev.dst);
  };
  for (bool by_reqid : {true, false}) {
    for (const auto& [id, e] : st.sas)
      for (const auto& c : e.summary.children) {
        if (by_reqid ? c.reqid != ev.reqid || (c.spi_in != ev.spi && c.spi_out != ev.spi) : !spi_to(c, e)) continue;
        std::string who = e.connection + "[" + std::to_string(id) + "] " + c.name + "{" + std::to_string(c.id) + "}";
        if (hard) {
          st.log(level::info, who + ": " + sa_text + " reached its hard lifetime; deleting the CHILD_SA");
          self->send(e.handle, child_del_atom::value, c.id);
        } else {
          st.log(level::info, who + ": " + sa_text + " reached its soft lifetime: rekeying the CHILD_SA");
          self->send(e.handle, rekey_atom::value, c.id);
        }
        return;
      }
  }
  st.log(level::debug, std::string(hard ? "hard" : "soft") + " expire of " + sa_text + ": no CHILD_SA of ours");
}

// One move, once the kernel actor has named the CHILD_SAs whose kernel reqid it is (their own
// reqid, or that of an older CHILD_SA whose shared policies they keep: kernel/shared_reqids.hpp).
void route_migrate(caf::stateful_actor<registry_state>* self, const migrate_move& m,
                   const std::vector<std::uint32_t>& child_ids) {
  auto& st = self->state;
  std::string moved = m.old_local.to_string() + " <-> " + m.old_remote.to_string() + " to " +
                      m.new_local.to_string() + " <-> " + m.new_remote.to_string();
  bool found = false;
  for (const auto& [id, e] : st.sas) {
    const sa::child_summary* hit = nullptr;
    for (const auto& c : e.summary.children)
      if (std::find(child_ids.begin(), child_ids.end(), c.id) != child_ids.end()) {
        hit = &c;
        break;
      }
    if (!hit) continue;
    found = true;
    std::string who = e.connection + "[" + std::to_string(id) + "] " + hit->name + "{" + std::to_string(hit->id) + "}";
    std::string names = hit->reqid == m.reqid ? "" : ", its kernel reqid; its own is " + std::to_string(hit->reqid);
    st.log(level::info, who + ": kernel MIGRATE (reqid " + std::to_string(m.reqid) + names +
                            ") moved its SAs and policies from " + moved);
    // The tunnel endpoints were the IKE SA's: IKE follows them (as for Mobile IPv6).
    if (e.summary.local.addr == m.old_local && e.summary.remote.addr == m.old_remote)
      self->send(e.handle, migrate_atom::value, m.new_local, m.new_remote);
    else if (!(e.summary.local.addr == m.new_local && e.summary.remote.addr == m.new_remote))
      st.log(level::info, who + ": the IKE SA's endpoints " + e.summary.local.addr.to_string() + " <-> " +
                              e.summary.remote.addr.to_string() + " are not the migrated tunnel's; IKE stays where it is");
  }
  if (!found)
    st.log(level::debug, "kernel MIGRATE of reqid " + std::to_string(m.reqid) + " (" + moved + "): no CHILD_SA of ours");
}

// The kernel actor owns the backend, which knows each CHILD_SA's kernel reqid: it updates its
// records and answers with the CHILD_SAs of that kernel reqid; the registry, which knows their
// IKE SAs, routes the move to each of them.
void on_migrate(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  auto& st = self->state;
  for (const auto& m : migrate_moves(ev)) {
    self->request(st.kernel, caf::infinite, migrate_atom::value, m.reqid, m.old_local, m.old_remote, m.new_local,
                  m.new_remote)
        .then([self, m](const std::vector<std::uint32_t>& child_ids) { route_migrate(self, m, child_ids); },
              [self, m](const caf::error& e) {
                self->state.log(level::error, "kernel MIGRATE of reqid " + std::to_string(m.reqid) +
                                                  ": the kernel actor failed: " + caf::to_string(e));
              });
  }
}

}  // namespace

std::vector<migrate_move> migrate_moves(const kernel::xfrm_event& ev) {
  std::vector<migrate_move> out;
  if (ev.what != kernel::xfrm_event::kind::migrate) return out;
  bool outbound = ev.dir == 1;  // XFRM_POLICY_OUT
  for (const auto& x : ev.migrations) {
    if (x.proto != 50) continue;  // ESP templates only: aike installs nothing else
    migrate_move m;
    m.reqid = x.reqid;
    m.old_local = outbound ? x.old_src : x.old_dst;
    m.old_remote = outbound ? x.old_dst : x.old_src;
    m.new_local = outbound ? x.new_src : x.new_dst;
    m.new_remote = outbound ? x.new_dst : x.new_src;
    out.push_back(m);
  }
  return out;
}

void on_kernel_event(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  if (ev.what == kernel::xfrm_event::kind::acquire)
    on_acquire(self, ev);
  else if (ev.what == kernel::xfrm_event::kind::migrate)
    on_migrate(self, ev);
  else
    on_expire(self, ev);
}

}  // namespace aike::actors
