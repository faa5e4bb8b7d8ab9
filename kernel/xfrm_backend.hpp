// The XFRM backend: CHILD_SAs as Linux kernel SAs and policies, over libnl-xfrm.
//
// Per CHILD_SA: two SAs (in: peer -> us with spi_in, out: us -> peer with spi_out) and, for every
// local × remote traffic selector pair, policies out (local -> remote), in and fwd (remote -> local;
// fwd in tunnel mode only), all with the CHILD_SA's one kernel reqid in their template, so in/out
// templates always find the SAs of that CHILD_SA (no XfrmInTmplMismatch when several subnets share
// a tunnel). The kernel reqid is the CHILD_SA's own reqid unless its policies are shared with
// another CHILD_SA of identical selectors: kernel/shared_reqids.hpp.
// Ownership (priority band for policies, reqid range for SAs) and the priority formula: see
// kernel/xfrm_ownership.hpp.
//
// Install order: policies first, then the SAs. When the kernel refuses an SA (no ESP support, an
// unknown algorithm) the policies stay — traffic for the tunnel is dropped rather than sent in the
// clear — the CHILD_SA is listed with kernel_error set, and install() returns the kernel's message.
// remove() takes away whatever of the CHILD_SA exists.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kernel/backend.hpp"
#include "kernel/shared_reqids.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "kernel/xfrm_selectors.hpp"
#include "kernel/xfrm_socket.hpp"

namespace aike::kernel {

// Whether the kernel accepts ESP states: adds a throwaway state (random SPI, documentation
// addresses 192.0.2.1 -> 192.0.2.2, a reqid aike owns) and deletes it again.
struct esp_probe_result {
  bool xfrm = false;   // the XFRM netlink interface answers
  bool esp = false;    // an ESP state was accepted
  std::string detail;  // the kernel's words when not ("Requested type not found (...)")
};
esp_probe_result probe_esp();

struct reconcile_report {
  unsigned policies_removed = 0, policies_kept = 0;
  unsigned sas_removed = 0, sas_kept = 0;
  std::vector<std::string> failures;  // removals the kernel refused
};

class xfrm_backend final : public backend {
 public:
  // Fails with a clear message when the kernel has no XFRM netlink interface. `own`: the priority
  // band and reqid range this backend installs in and reconciles (kernel/xfrm_ownership.hpp).
  static result<std::unique_ptr<xfrm_backend>> open(const xfrm_ownership& own = default_ownership);
  ~xfrm_backend() override;

  const char* name() const override { return "xfrm"; }
  status install(const child_install& c) override;
  status remove(std::uint32_t child_id) override;
  std::vector<installed_child> list() const override;
  // Out policies in the trap band (kernel/xfrm_ownership.hpp) with the trap's reqid. The kernel
  // keeps one policy per selector and direction: a CHILD_SA whose out policy has the trap's
  // selector replaces it (XFRM_MSG_UPDPOLICY), and the trap comes back when that CHILD_SA goes.
  status install_trap(const trap_install& t) override;
  status remove_trap(std::uint32_t reqid) override;
  bool reserves_spis() const override { return true; }
  // alloc_spi() from "any" (0.0.0.0 or ::) to local: the inbound SA's peer is not known yet, and
  // the kernel keys SAs by (destination, SPI), so the SPI is free for any peer.
  result<std::uint32_t> reserve_spi(const ip_address& local, std::uint32_t reqid) override;
  void release_spi(const ip_address& local, std::uint32_t spi) override;
  std::uint32_t note_migrate(std::uint32_t reqid, const ip_address& old_local, const ip_address& old_remote,
                             const ip_address& new_local, const ip_address& new_remote) override;
  // A new peer port (same address): XFRM_MSG_UPDSA of both SAs with the new encap template (the
  // outbound SA's destination port, the inbound SA's source port); the kernel keeps keys, replay
  // state and counters of a valid state and takes the encap and lifetimes from the update (this
  // backend sends the lifetimes of the install again). A new peer address is refused: the
  // kernel finds SAs by destination address, and moving them and the policies' templates needs
  // XFRM_MSG_MIGRATE, which this backend does not send.
  status update_remote(const child_install& c) override;
  // flush_on_start: flush every SA and policy of anyone; else reconcile().
  result<std::vector<std::string>> start(bool flush_on_start) override;
  void stop() override;

  // Removes every policy in aike's priority band and every SA with a reqid in aike's range (both
  // as given to open()) that this backend did not install; leaves everyone else's alone.
  result<reconcile_report> reconcile();
  // XFRM_MSG_FLUSHSA (all protocols) and XFRM_MSG_FLUSHPOLICY: everything, of anyone.
  status flush_all();
  // XFRM_MSG_ALLOCSPI: reserves an inbound ESP SPI (a larval SA src -> dst) in 0xc0000000-0xcfffffff.
  // install() then completes that SA with XFRM_MSG_UPDSA.
  result<std::uint32_t> alloc_spi(const ip_address& src, const ip_address& dst, std::uint32_t reqid);
  // Forgets what was installed without removing it: the state a crash leaves (for tests).
  void abandon();
  // The reqid the kernel knows a CHILD_SA's SAs by (0 = not installed): its own, or that of the
  // CHILD_SA whose identical policies it shares (kernel/shared_reqids.hpp).
  std::uint32_t kernel_reqid(std::uint32_t child_id) const { return reqids_.kernel_reqid(child_id); }
  std::vector<std::uint32_t> children_with_kernel_reqid(std::uint32_t reqid) const override {
    return reqids_.children_with_kernel_reqid(reqid);
  }
  std::vector<std::string> take_warnings() override {
    std::vector<std::string> w;
    w.swap(warnings_);
    return w;
  }

 private:
  xfrm_backend(xfrm_socket s, const xfrm_ownership& own);

  struct policy_entry;
  struct sa_ref {
    ip_address dst;
    std::uint32_t spi = 0;
    std::uint32_t mark_value = 0, mark_mask = 0;
  };
  struct child_record {
    installed_child info;
    std::vector<std::string> policies;  // keys into policies_
    std::vector<sa_ref> sas;
    std::uint32_t kernel_reqid = 0;  // reqid of its SAs and of the templates it installed
    sa_lifetime lifetime;            // as installed (update_remote sends it again)
  };
  struct planned_policy {
    std::uint8_t dir;
    kernel_selector sel;
    bool inbound;
    std::string key;  // into policies_
  };

  result<std::vector<planned_policy>> plan_policies(const child_install& c);
  status add_policies(const child_install& c, const std::vector<planned_policy>& plan, std::uint32_t kernel_reqid,
                      child_record& rec);
  status add_sa(const child_install& c, bool inbound, std::uint32_t kernel_reqid);
  void release_policy(const std::string& key);
  status delete_sa(const sa_ref& s);

  xfrm_socket sock_;
  xfrm_ownership own_;
  std::map<std::uint32_t, child_record> children_;
  std::map<std::string, std::shared_ptr<policy_entry>> policies_;  // shared by CHILD_SAs with equal policies
  shared_reqids reqids_;                                             // CHILD_SA -> kernel reqid
  std::vector<std::string> warnings_;                                // for take_warnings()
  std::set<std::pair<std::string, std::uint32_t>> larval_;         // (dst, spi) from alloc_spi()
  struct trap_policy;
  std::map<std::string, std::shared_ptr<trap_policy>> trap_policies_;  // same keys as policies_
  std::map<std::uint32_t, std::vector<std::string>> traps_;            // reqid -> keys
  status put_trap_policy(const trap_policy& t, bool update);
};

}  // namespace aike::kernel
