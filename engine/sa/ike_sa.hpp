// The IKE SA state machine (RFC 7296): IKE_SA_INIT, IKE_AUTH with the first CHILD_SA, and
// INFORMATIONAL (DELETE, liveness), for both roles. A plain object owned by exactly one
// caller: events go in through the on_*/request methods, and everything the SA wants done
// (send these bytes, arm this timer, install this CHILD_SA, ...) comes out of take_actions().
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/common/boxed.hpp"
#include "engine/common/vector_deque.hpp"
#include "engine/crypto/key_exchange.hpp"
#include "engine/crypto/keymat.hpp"
#include "engine/crypto/prf.hpp"
#include "engine/crypto/sk_cipher.hpp"
#include "engine/sa/actions.hpp"
#include "engine/sa/child_sa.hpp"
#include "engine/sa/connection.hpp"
#include "engine/sa/message_window.hpp"
#include "engine/sa/nonce_rule.hpp"
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
  // Initiator: this SA reauthenticates the IKE SA with this unique id (0 = a plain new SA). Its
  // CHILD_SAs are recreated with the reqids and selectors in reauth_children (the first one by
  // IKE_AUTH), and once all are installed the SA asks for the old one's deletion (reauth_complete).
  std::uint32_t reauth_of = 0;
  std::vector<reauth_child> reauth_children;
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
  // Create another CHILD_SA of the connection's child `child_name` on this IKE SA (RFC 7296
  // §1.3.1): CREATE_CHILD_SA without REKEY_SA, queued behind other exchanges. The outcome comes
  // as install_child or child_create_failed. False if not established or there is no such child.
  bool request_child_create(const std::string& child_name);
  // Rekey the IKE SA itself (RFC 7296 §1.3.2, §2.18): new SPIs and keys, the CHILD_SAs move
  // over, the old SA is deleted. This object continues as the new SA. False if not established
  // or an IKE rekey is already under way.
  bool request_ike_rekey();
  // Reauthenticate (RFC 7296 §2.8.3, make-before-break): asks the owner for a new IKE SA that
  // recreates this one's CHILD_SAs (reauth_due); this SA is deleted once that one is complete.
  // The reauth_time timer calls this. False if not established.
  bool request_reauth();
  // Send a liveness check now (the DPD timer does this by itself when configured).
  void request_liveness_check();
  // Close without telling the peer (daemon shutdown without delete, dpd_action after death).
  void close(const std::string& reason);

  std::vector<action> take_actions();
  // Gives the SA an emptied vector whose capacity its next actions reuse (take_actions hands it
  // back). An owner recycling one buffer per thread saves an allocation per event: an action is
  // about 300 octets, so a handful of them is a "large" glibc request that consolidates the fast
  // bins every time.
  void lend_action_buffer(std::vector<action>&& buf);

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
  // The old SA of a rekey and the redundant SA of a collision while they wait for their DELETE
  // (list-sas). `we_delete`: our DELETE is out; otherwise the peer's is awaited.
  struct spare_view {
    std::uint64_t local_spi = 0, remote_spi = 0;
    bool redundant = false;
    bool we_delete = false;
  };
  std::vector<spare_view> spare_sas() const;
  // Our own IKE SA rekey is queued, in flight, or in a collision not resolved yet.
  bool ike_rekey_under_way() const;
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
  // An authenticated message came from `from`: follow the peer there if RFC 7296 §2.23 says so.
  void follow_peer(const endpoint& from);

  // IKE_AUTH
  void send_auth_request();
  void handle_auth_request(const wire::message& m);
  void handle_auth_response(const wire::message& m);
  std::optional<bytes> make_auth(const connection& c, const auth::identity& peer_id, std::vector<wire::payload>& out);
  bool verify_peer_auth(const connection& c, const std::vector<wire::payload>& ps, const auth::identity& peer_id, std::string& why);
  // SA (offering `proposals`, whose protocol and SPI are set here), TSi, TSr and
  // USE_TRANSPORT_MODE for a new CHILD_SA of `cc`; fills `pending` (id, reqid, SPI, selectors)
  // unless it has an id already (a retry).
  std::vector<wire::payload> child_request_payloads(const child_config& cc, child_sa& pending,
                                                    std::vector<wire::proposal>& proposals);
  // Responder: picks the child config, proposal and selectors; fills `out` with the answer.
  // `ni`: the request is a CREATE_CHILD_SA with this nonce (its KE, if any, gives PFS); null:
  // IKE_AUTH, keyed from IKE_SA_INIT. The failure notify (0 on success) is returned.
  std::uint16_t answer_child(const connection& c, const std::vector<wire::payload>& req,
                             std::vector<wire::payload>& out, const wire::nonce_payload* ni = nullptr);
  // Initiator: takes the peer's answer for `ch` (IKE_AUTH, or CREATE_CHILD_SA when `x` is set)
  // and installs the child. On failure `why` says what happened and the returned notify is the
  // peer's error (0 when the answer itself was unusable).
  struct child_exchange {
    bytes_view ni;
    crypto::key_exchange* ke = nullptr;
  };
  enum class child_answer { installed, refused, bad_proposal };
  child_answer take_child_answer(const std::vector<wire::payload>& ps, child_sa ch,
                                 const std::vector<wire::proposal>& offered, const child_exchange* x, std::string& why,
                                 std::uint16_t& peer_error);
  // The nonces and (with PFS) g^ir a CHILD_SA's keys come from; unset: IKE_SA_INIT's nonces.
  struct child_keying {
    bytes_view shared;
    bytes_view ni, nr;
    // We sent the CREATE_CHILD_SA request. RFC 7296 §2.17 takes the keys of the direction from
    // the exchange's initiator first: its role, not the IKE SA's, picks our outbound keys.
    bool we_initiated;
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

  // New CHILD_SAs on the established IKE SA (child_create.cpp)
  bool send_child_create(const std::string& child_name);
  void handle_child_create_response(const wire::message& m);
  void fail_child_create(const std::string& name, const std::string& why, std::uint16_t notify);
  // Every queued new CHILD_SA fails (with `in_flight`, the one whose exchange is out and the
  // IKE_AUTH one too): the IKE SA closes or is being deleted.
  void fail_queued_creates(const std::string& why, bool in_flight);

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

  // Reauthentication (reauth.cpp)
  void arm_reauth(std::chrono::milliseconds after);
  void on_lifetime_timer(timer_kind kind);
  // New SA of a reauthentication: IKE_AUTH is done; recreates the further CHILD_SAs, or
  // completes.
  void continue_reauth();
  // The CHILD_SAs after the first one of a reauthentication, recreated by CREATE_CHILD_SA.
  void recreate_further_children(const std::vector<std::string>& child_names);
  // A CHILD_SA of the reauthentication was installed (`ok`) or could not be recreated; the last
  // one ends the reauthentication.
  void settle_reauth_child(const std::string& name, bool ok);
  // reauth_complete, or (a CHILD_SA failed) this new SA is deleted and the old one stays.
  void end_reauth();
  // The old CHILD_SA of that name a reauthentication recreates (null: none, or no reauth).
  const reauth_child* reauth_child_named(const std::string& name) const;
  // The old SA of a rekey (retiring_) and the redundant SA of a collision (redundant_) are kept
  // only for their DELETE; both are handled alike.
  enum class spare { old_sa, redundant };
  boxed<retiring_sa>& spare_record(spare s);
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
  // NAT detection found a NAT in front of us (the peer's NAT_DETECTION_DESTINATION_IP did not
  // match), unlike nat_local_ also without force_encap: RFC 7296 §2.23's "behind a NAT".
  bool detected_behind_nat_ = false;

  // Keys
  std::optional<crypto::prf> prf_;
  std::unique_ptr<crypto::sk_cipher> cipher_;
  crypto::ike_keys keys_;
  crypto::sk_keys keys_in_, keys_out_;

  // IKE_AUTH
  std::string wanted_child_;
  boxed<child_sa> pending_child_;
  std::optional<auth::identity> peer_id_;

  std::map<std::uint32_t, child_sa> children_;

  // Exchanges
  message_window window_;
  enum class queued { liveness, delete_ike, delete_child, rekey_child, rekey_ike, create_child };
  struct queued_request {
    queued kind;
    std::uint32_t child_id = 0;
    std::string child_name = {};  // create_child
  };
  vector_deque<queued_request> queue_;
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
    // and that exchange's two nonces.
    std::uint32_t peer_fresh_id = 0;
    exchange_nonces peer_nonces;
  };
  boxed<child_rekey> rekey_out_;
  // Sends the CREATE_CHILD_SA request of `rk`; with PFS a new KE of `group` (0 = no KE).
  bool send_rekey_request(child_rekey rk, std::uint16_t group);
  // CHILD_SAs that a completed rekey replaced, or redundant ones of a collision: their removal
  // is part of a rekey, not a "down".
  std::set<std::uint32_t> superseded_;
  // Lifetime timers: token -> child id.
  std::map<std::uint64_t, std::uint32_t> child_timers_;

  // Our CREATE_CHILD_SA for a new CHILD_SA in flight.
  struct child_create {
    child_sa pending;  // id, reqid, our SPI, selectors
    bytes nonce;       // our Ni
    std::unique_ptr<crypto::key_exchange> ke;  // PFS; null without
    std::vector<wire::proposal> offered;
    int ke_retries = 0;
  };
  std::optional<child_create> create_out_;
  bool send_create_request(child_create cr, std::uint16_t group);

  // Our IKE SA rekey in flight.
  struct ike_rekey_state {
    std::uint64_t new_spi = 0;  // our SPI of the new SA
    bytes nonce;
    std::unique_ptr<crypto::key_exchange> ke;
    std::vector<wire::proposal> offered;
    int ke_retries = 0;
  };
  boxed<ike_rekey_state> ike_rekey_out_;
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
  boxed<new_sa> switch_to_;
  // The SA this object was before its last rekey, kept only until its DELETE is done.
  struct retiring_sa {
    std::uint64_t spi_i = 0, spi_r = 0;
    bool initiator = false;
    bool we_delete = false;  // we started the rekey: we send the DELETE
    std::unique_ptr<crypto::sk_cipher> cipher;
    crypto::sk_keys keys_in, keys_out;
    message_window window;
  };
  boxed<retiring_sa> retiring_;
  // §2.8.2: the SA the peer's rekey made while ours was outstanding; the nonce rule decides
  // between it and ours once ours completes. `nonces`: its exchange's two nonces.
  struct collision_sa {
    new_sa sa;
    exchange_nonces nonces;
    message_window window;  // requests on it: only the peer's DELETE, should it be redundant
  };
  boxed<collision_sa> collision_;
  // The redundant new SA of a resolved collision, kept until its DELETE is done.
  boxed<retiring_sa> redundant_;

  // New SA of a reauthentication: CHILD_SAs still to be recreated after IKE_AUTH; whether one
  // failed; whether IKE_AUTH completed (continue_reauth ran).
  std::set<std::string> reauth_waiting_;
  bool reauth_failed_ = false;
  bool reauth_started_ = false;

  std::uint64_t next_token_ = 1;
  std::map<timer_kind, std::uint64_t> timer_tokens_;

  std::vector<action> actions_;
};

}  // namespace aike::sa
