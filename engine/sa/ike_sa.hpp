// The IKE SA state machine (RFC 7296): IKE_SA_INIT, IKE_AUTH with the first CHILD_SA, and
// INFORMATIONAL (DELETE, liveness), for both roles. A plain object owned by exactly one
// caller: events go in through the on_*/request methods, and everything the SA wants done
// (send these bytes, arm this timer, install this CHILD_SA, ...) comes out of take_actions().
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/crypto/key_exchange.hpp"
#include "engine/crypto/keymat.hpp"
#include "engine/crypto/prf.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/sa/actions.hpp"
#include "engine/sa/child_sa.hpp"
#include "engine/sa/connection.hpp"
#include "engine/sa/message_window.hpp"
#include "engine/wire/payloads.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::sa {

enum class ike_state {
  created,      // nothing sent or received yet
  init_sent,    // initiator: IKE_SA_INIT request out
  init_done,    // responder: IKE_SA_INIT answered, waiting for IKE_AUTH
  auth_sent,    // initiator: IKE_AUTH request out
  established,
  deleting,     // our DELETE of the IKE SA is out
  closed,
};
const char* to_string(ike_state s);

// What the SA needs from its owner, synchronously.
struct sa_environment {
  std::function<std::uint32_t()> new_child_spi;  // an unused inbound ESP SPI
  std::function<std::uint32_t()> new_child_id;   // a unique CHILD_SA id
  // A reqid for a new CHILD_SA: one per CHILD_SA, shared by all its selectors and kept across
  // its rekeys. Unset: the child's unique id is used.
  std::function<std::uint32_t()> new_reqid;
};

struct ike_sa_params {
  std::uint32_t unique_id = 0;
  // Initiator: the connection to use. Responder: connections whose addresses match; the one
  // whose identities match is chosen in IKE_AUTH (the first one's proposals answer IKE_SA_INIT).
  std::vector<std::shared_ptr<const connection>> connections;
  endpoint local;
  endpoint remote;
  std::uint16_t natt_port = 4500;
  std::uint64_t local_spi = 0;     // our IKE SPI; 0 = pick a random one  // where IKE moves once NAT is detected (RFC 7296 §2.23)
  sa_environment env;
};

class ike_sa {
 public:
  static std::unique_ptr<ike_sa> make_initiator(ike_sa_params p);
  // The responder's SPI is chosen here, so the owner can index the SA before the first reply.
  static std::unique_ptr<ike_sa> make_responder(ike_sa_params p);
  ~ike_sa();

  // --- events ---
  // Initiator: send IKE_SA_INIT; IKE_AUTH then brings up `child` (a child of the connection;
  // empty = the first child, if any).
  void initiate(const std::string& child = {});
  // A datagram for this SA, non-ESP marker already removed. `local` is where it arrived.
  void on_datagram(bytes_view datagram, const endpoint& local, const endpoint& remote);
  void on_timer(timer_kind kind, std::uint64_t token);
  // Graceful delete: INFORMATIONAL with DELETE, children removed when it is answered (or the
  // peer does not answer within the retransmission budget).
  void request_delete();
  // Delete one CHILD_SA by unique id; false if this SA has no such child.
  bool request_child_delete(std::uint32_t child_id);
  // Rekey one CHILD_SA (RFC 7296 §1.3.3): CREATE_CHILD_SA with REKEY_SA, the new SA installed
  // before the old one is deleted. False if this SA has no such child or it cannot be rekeyed
  // now (not established, or the child is being rekeyed or deleted already).
  bool request_child_rekey(std::uint32_t child_id);
  // Rekey the IKE SA itself (RFC 7296 §1.3.2, §2.18): new SPIs and keys, the CHILD_SAs move
  // over, the old SA is deleted. This object continues as the new SA. False if not established
  // or an IKE rekey is already under way.
  bool request_ike_rekey();
  // Send a liveness check now (the DPD timer does this by itself when configured).
  void request_liveness_check();
  // Close without telling the peer (daemon shutdown without delete, dpd_action after death).
  void close(const std::string& reason);

  std::vector<action> take_actions();

  // --- read-only view (list-sas) ---
  std::uint32_t unique_id() const { return params_.unique_id; }
  ike_state state() const { return state_; }
  bool is_initiator() const { return initiator_; }
  std::uint64_t spi_i() const { return spi_i_; }
  std::uint64_t spi_r() const { return spi_r_; }
  std::uint64_t local_spi() const { return initiator_ ? spi_i_ : spi_r_; }
  std::uint64_t remote_spi() const { return initiator_ ? spi_r_ : spi_i_; }
  const endpoint& local() const { return local_; }
  const endpoint& remote() const { return remote_; }
  const connection* conn() const { return conn_.get(); }
  std::shared_ptr<const connection> conn_ptr() const { return conn_; }
  std::string local_id() const;
  std::string remote_id() const;
  std::string proposal_string() const;
  // Old SPIs of a rekeyed IKE SA whose DELETE is not done yet (0 when there is none).
  std::uint64_t retiring_local_spi() const;
  // Our SPI of the redundant new IKE SA of a rekey collision (§2.8.2) whose DELETE is not done
  // yet, or of the peer's new SA kept until our own colliding rekey completes (0 when none).
  std::uint64_t redundant_local_spi() const;
  bool nat_detected() const { return nat_local_ || nat_remote_; }
  // The kernel moved this SA's tunnel to other outer addresses (XFRM MIGRATE, e.g. Mobile IPv6):
  // later messages and CHILD_SA installs use them; ports stay as they are.
  void migrate_addresses(const ip_address& local, const ip_address& remote) {
    local_.addr = local;
    remote_.addr = remote;
  }
  const std::map<std::uint32_t, child_sa>& children() const { return children_; }

  // --- for wire-check tools only (tests/tools/write_ike_pcap gives them to Wireshark so it
  // can decrypt a capture). Never log or export these from the daemon. ---
  // SK_d .. SK_pr of this SA; empty before IKE_SA_INIT completes.
  const crypto::ike_keys& keys_for_debugging() const { return keys_; }
  // The IKE proposal both sides agreed on (no transforms before IKE_SA_INIT completes);
  // proposal::algorithms_of() gives its algorithm ids.
  const wire::proposal& selected_ike_proposal() const { return ike_proposal_; }

 private:
  ike_sa(ike_sa_params p, bool initiator);

  // IKE_SA_INIT
  void send_init_request();
  void handle_init_request(const wire::message& m, bytes_view raw, const endpoint& local, const endpoint& remote);
  void handle_init_response(const wire::message& m, bytes_view raw, const endpoint& local, const endpoint& remote);
  std::vector<wire::payload> nat_detection_payloads(std::uint64_t spi_r, const endpoint& local, const endpoint& remote) const;
  void check_nat_detection(const std::vector<wire::payload>& ps, std::uint64_t spi_r, const endpoint& local, const endpoint& remote);
  bool derive_ike_keys(bytes_view peer_ke);
  void switch_to_natt_ports();

  // IKE_AUTH
  void send_auth_request();
  void handle_auth_request(const wire::message& m);
  void handle_auth_response(const wire::message& m);
  std::optional<bytes> make_auth(const connection& c, const auth::identity& peer_id, std::vector<wire::payload>& out);
  bool verify_peer_auth(const connection& c, const std::vector<wire::payload>& ps, const auth::identity& peer_id, std::string& why);
  std::vector<wire::payload> child_request_payloads(const child_config& cc, child_sa& pending);
  // Responder: picks the child config, proposal and selectors; fills `out` with the answer.
  void answer_child(const connection& c, const std::vector<wire::payload>& req, std::vector<wire::payload>& out);
  // The nonces and (with PFS) g^ir a CHILD_SA's keys come from; unset: IKE_SA_INIT's nonces.
  struct child_keying {
    bytes_view shared;
    bytes_view ni, nr;
  };
  // Derives the keys, installs the CHILD_SA (install_child) and adds it to children_. False if
  // the algorithms are unusable.
  bool complete_child(child_sa& ch, const wire::proposal& chosen, const child_keying* k = nullptr,
                      std::uint32_t replaces = 0);

  // CREATE_CHILD_SA, CHILD_SA lifetimes (child_rekey.cpp)
  bool send_child_rekey(std::uint32_t child_id);
  void handle_create_child_request(const wire::message& m, std::vector<wire::payload>& reply);
  void handle_create_child_response(const wire::message& m);
  void arm_child_lifetimes(const child_sa& ch);
  void on_child_timer(timer_kind kind, std::uint64_t token);
  // Removes a CHILD_SA (remove_child action) and forgets it.
  void remove_child_sa(std::map<std::uint32_t, child_sa>::iterator it);
  void queue_child_delete(std::uint32_t child_id, bool first);

  // IKE SA rekey (ike_rekey.cpp)
  struct new_sa;
  struct retiring_sa;
  bool send_ike_rekey(std::uint16_t group);
  void handle_ike_rekey_request(const wire::message& m, std::vector<wire::payload>& reply);
  void handle_ike_rekey_response(const wire::message& m);
  // The new SA our rekey made from its answer; none if it failed (or is retried: ike_rekey_out_).
  std::optional<new_sa> complete_ike_rekey(const wire::message& m);
  // §2.8.2: our rekey is done (`ours`, none if it failed) and the peer's colliding one too.
  void resolve_ike_rekey_collision(std::optional<new_sa> ours);
  // The peer deleted the old SA while our colliding rekey was outstanding: its new SA won.
  void adopt_peer_rekey_after_old_deleted();
  // Continue as the new SA: the current SPIs, keys and windows become the retiring record.
  void switch_to_new_sa();
  // Derives the keys of `n` from the current SK_d and `shared` (wiped); false if unusable.
  bool key_new_sa(new_sa& n, bytes& shared);
  void arm_ike_lifetime();
  // The old SA of a rekey (retiring_) and the redundant SA of a collision (redundant_) are kept
  // only for their DELETE; both are handled alike.
  enum class spare { old_sa, redundant };
  std::optional<retiring_sa>& spare_record(spare s);
  // A datagram for the old SA of a rekey or the redundant SA of a collision.
  void handle_spare(spare s, const wire::ike_header& h, bytes_view raw, const endpoint& local, const endpoint& remote);
  void send_spare_delete(spare s);
  void retire_spare(spare s, const std::string& why);
  void on_spare_timer(spare s);
  void retire_old_sa(const std::string& why) { retire_spare(spare::old_sa, why); }
  // A datagram for the peer's new SA of a collision, before the nonce rule decided.
  void handle_collision_sa(const wire::ike_header& h, bytes_view raw, const endpoint& local, const endpoint& remote);
  void drop_collision_sa(const std::string& why);
  // Drops a redundant SA that waits for the peer's DELETE, before another rekey.
  void forget_lingering_redundant();

  // INFORMATIONAL and established-state traffic
  void handle_protected(const wire::ike_header& h, bytes_view raw, const endpoint& local, const endpoint& remote);
  // Verifies and decrypts an SK message, or collects an SKF fragment (nothing until complete).
  result<std::optional<wire::message>> open_protected(const wire::ike_header& h, bytes_view raw);
  void handle_informational_request(const wire::message& m, std::vector<wire::payload>& reply);
  void handle_informational_response(const wire::message& m);
  void start_next_request();

  // Messages
  void send_request(wire::exchange ex, std::vector<wire::payload> inner);
  void send_response(const wire::ike_header& req, std::vector<wire::payload> inner, const endpoint& local, const endpoint& remote);
  void send_clear_error(const wire::ike_header& req, std::uint16_t notify_type, bytes data, const endpoint& local, const endpoint& remote);
  result<bytes> protect(wire::ike_header h, const std::vector<wire::payload>& inner) const;
  // One datagram, or RFC 7383 fragments when both sides support them and it would not fit
  // conn_->fragment_size on the way from `local` to `remote`.
  result<std::vector<bytes>> protect_for_path(wire::ike_header h, const std::vector<wire::payload>& inner,
                                              const endpoint& local, const endpoint& remote);
  void transmit_all(const std::vector<bytes>& datagrams, const endpoint& local, const endpoint& remote);
  void transmit(bytes data, const endpoint& local, const endpoint& remote);
  void arm(timer_kind kind, std::chrono::milliseconds after);
  void on_established();
  void finish(const std::string& reason, bool peer_dead = false);
  void log(log_level lvl, std::string text);
  // Counted by `category` (a short fixed word); `detail` goes to the debug log only.
  void drop(const char* category, std::string detail);

  ike_sa_params params_;
  bool initiator_;
  ike_state state_ = ike_state::created;
  std::shared_ptr<const connection> conn_;
  endpoint local_, remote_;
  std::uint64_t spi_i_ = 0, spi_r_ = 0;

  // IKE_SA_INIT material
  std::unique_ptr<crypto::key_exchange> ke_;
  std::uint16_t ke_group_ = 0;
  bytes ni_, nr_;
  bytes cookie_;
  bytes init_request_, init_response_;  // exact bytes, signed in AUTH
  int ke_retries_ = 0;
  int cookie_retries_ = 0;
  std::vector<wire::proposal> offered_;  // the IKE proposals of our last IKE_SA_INIT
  wire::proposal ike_proposal_;
  std::vector<std::uint16_t> peer_hash_algorithms_;
  bool peer_fragmentation_ = false;
  wire::fragment_reassembly fragments_;
  bool nat_local_ = false, nat_remote_ = false;

  // Keys
  std::optional<crypto::prf> prf_;
  std::unique_ptr<crypto::sk_cipher> cipher_;
  crypto::ike_keys keys_;
  crypto::sk_keys keys_in_, keys_out_;

  // IKE_AUTH
  std::string wanted_child_;
  std::optional<child_sa> pending_child_;
  std::optional<auth::identity> peer_id_;

  std::map<std::uint32_t, child_sa> children_;

  // Exchanges
  message_window window_;
  enum class queued { liveness, delete_ike, delete_child, rekey_child, rekey_ike };
  struct queued_request {
    queued kind;
    std::uint32_t child_id = 0;
  };
  std::deque<queued_request> queue_;
  std::optional<queued_request> in_flight_;
  bool received_since_dpd_ = false;

  // Our CREATE_CHILD_SA rekey in flight (one at a time: the window is 1).
  struct child_rekey {
    std::uint32_t old_id = 0;
    child_sa fresh;  // the new SA: id, reqid (the old one's), our SPI, selectors
    bytes nonce;     // our Ni
    std::unique_ptr<crypto::key_exchange> ke;  // PFS; null without
    std::vector<wire::proposal> offered;
    int ke_retries = 0;
    // §2.8.1: the peer rekeyed the same CHILD_SA meanwhile. The SA we created answering it,
    // and the lower of that exchange's two nonces.
    std::uint32_t peer_fresh_id = 0;
    bytes peer_lowest_nonce;
  };
  std::optional<child_rekey> rekey_out_;
  // Sends the CREATE_CHILD_SA request of `rk`; with PFS a new KE of `group` (0 = no KE).
  bool send_rekey_request(child_rekey rk, std::uint16_t group);
  // CHILD_SAs that a completed rekey replaced, or redundant ones of a collision: their removal
  // is part of a rekey, not a "down".
  std::set<std::uint32_t> superseded_;
  // Lifetime timers: token -> child id.
  std::map<std::uint64_t, std::uint32_t> child_timers_;

  // Our IKE SA rekey in flight.
  struct ike_rekey_state {
    std::uint64_t new_spi = 0;  // our SPI of the new SA
    bytes nonce;
    std::unique_ptr<crypto::key_exchange> ke;
    std::vector<wire::proposal> offered;
    int ke_retries = 0;
  };
  std::optional<ike_rekey_state> ike_rekey_out_;
  // The new SA a rekey made, applied by switch_to_new_sa() once the exchange is complete.
  struct new_sa {
    std::uint64_t spi_i = 0, spi_r = 0;
    bool initiator = false;  // we started the rekey, so we are the original initiator of the new SA
    wire::proposal proposal;
    std::optional<crypto::prf> prf;
    std::unique_ptr<crypto::sk_cipher> cipher;
    crypto::ike_keys keys;
    bytes ni, nr;
  };
  std::optional<new_sa> switch_to_;
  // The SA this object was before its last rekey, kept only until its DELETE is done.
  struct retiring_sa {
    std::uint64_t spi_i = 0, spi_r = 0;
    bool initiator = false;
    bool we_delete = false;  // we started the rekey: we send the DELETE
    std::unique_ptr<crypto::sk_cipher> cipher;
    crypto::sk_keys keys_in, keys_out;
    message_window window;
  };
  std::optional<retiring_sa> retiring_;
  // §2.8.2: the SA the peer's rekey made while ours was outstanding; the nonce rule decides
  // between it and ours once ours completes. `lowest_nonce`: the lower of its exchange's nonces.
  struct collision_sa {
    new_sa sa;
    bytes lowest_nonce;
    message_window window;  // requests on it: only the peer's DELETE, should it be redundant
  };
  std::optional<collision_sa> collision_;
  // The redundant new SA of a resolved collision, kept until its DELETE is done.
  std::optional<retiring_sa> redundant_;

  std::uint64_t next_token_ = 1;
  std::map<timer_kind, std::uint64_t> timer_tokens_;

  std::vector<action> actions_;
};

}  // namespace aike::sa
