#include "actors/kernel_events.hpp"

#include <algorithm>

#include "actors/id_source.hpp"
#include "actors/route_lookup.hpp"
#include "engine/common/spi_text.hpp"

namespace aike::actors {

void install_traps(caf::stateful_actor<registry_state>* self) {
  auto& st = self->state;
  for (const auto& c : st.cfg->connections) {
    const auto& ike = *c.ike;
    for (const auto& ch : c.children) {
      if (ch.start != config::start_action::trap) continue;
      const auto* cc = ike.find_child(ch.name);
      if (!cc || ike.remote_addrs.empty()) continue;  // the loader refuses trap without a remote address
      kernel::trap_install t;
      t.connection = c.name();
      t.child = ch.name;
      t.reqid = next_reqid();
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
      st.traps[t.reqid] = {t.connection, t.child};
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
  const auto& [conn, child] = it->second;
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
  caf::anon_send(caf::actor_cast<caf::actor>(self), initiate_atom::value, conn, child, std::uint32_t{1},
                 std::uint32_t{30000}, false);
}

void on_expire(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  auto& st = self->state;
  bool hard = ev.what == kernel::xfrm_event::kind::expire_hard;
  std::string sa_text = "SA 0x" + spi_hex(ev.spi) + " (reqid " + std::to_string(ev.reqid) + ")";
  for (const auto& [id, e] : st.sas)
    for (const auto& c : e.summary.children) {
      if (c.reqid != ev.reqid || (c.spi_in != ev.spi && c.spi_out != ev.spi)) continue;
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
  st.log(level::debug, std::string(hard ? "hard" : "soft") + " expire of " + sa_text + ": no CHILD_SA of ours");
}

}  // namespace

void on_kernel_event(caf::stateful_actor<registry_state>* self, const kernel::xfrm_event& ev) {
  if (ev.what == kernel::xfrm_event::kind::acquire)
    on_acquire(self, ev);
  else
    on_expire(self, ev);
}

}  // namespace aike::actors
