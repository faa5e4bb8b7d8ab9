// Two IKE SAs wired together in memory, the way two daemons would talk over a perfect network:
// the engine's self-check, its handshake tests and its handshake benchmark all drive SAs this way.
// It plays the registry's part for the responder (creates it on the first IKE_SA_INIT, answers
// with a COOKIE first when asked to).
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/sa/cookie.hpp"
#include "engine/sa/ike_sa.hpp"

namespace aike::sa {

class in_memory_pair {
 public:
  in_memory_pair(std::shared_ptr<const connection> initiator_conn, std::shared_ptr<const connection> responder_conn);

  endpoint a{*ip_address::parse("10.0.0.1"), 500};  // the initiator's address
  endpoint b{*ip_address::parse("10.0.0.2"), 500};  // the responder's address
  bool require_cookie = false;                      // B answers the first IKE_SA_INIT with a COOKIE
  // More connections B considers for the same addresses, after the responder connection.
  std::vector<std::shared_ptr<const connection>> more_responder_connections;
  // Called for every datagram put on the "wire" (from_a: sent by the initiator).
  std::function<void(const send_datagram&, bool from_a)> on_wire;

  // The initiator reauthenticates the SA with this id, recreating these CHILD_SAs (0: a plain SA).
  std::uint32_t reauth_of = 0;
  std::vector<reauth_child> reauth_children;

  void start(const std::string& child = {});
  // Delivers datagrams until none is in flight; `lose` drops the n-th delivery (0-based) once.
  void run(int lose = -1);
  void deliver_to_b(const send_datagram& d);
  void deliver_to_a(const send_datagram& d);
  // Drain the actions of an SA after calling one of its request methods directly.
  void collect_a() { collect(*initiator, true); }
  void collect_b() { collect(*responder, false); }
  void fire_a(timer_kind k);
  void fire_b(timer_kind k);

  std::unique_ptr<ike_sa> initiator, responder;
  std::deque<send_datagram> to_b, to_a;
  std::map<timer_kind, std::uint64_t> timers_a, timers_b;
  std::map<timer_kind, std::chrono::milliseconds> delays_a, delays_b;  // of the last arm_timer per kind
  std::vector<child_sa> installed_a, installed_b, removed_a, removed_b;
  // Per entry of installed_*: the CHILD_SA it rekeys (0 = new). Per entry of removed_*: removed
  // as part of a rekey.
  std::vector<std::uint32_t> replaces_a, replaces_b;
  std::vector<bool> rekey_removed_a, rekey_removed_b;
  // IKE SA rekeys (RFC 7296 §2.18) and the old SAs that went afterwards (their local SPI).
  std::vector<ike_rekeyed> rekeyed_a, rekeyed_b;
  std::vector<std::uint64_t> retired_a, retired_b;
  // Reauthentication: what the old SA asked for, and the new SA's completions (old ids).
  std::vector<reauth_due> reauth_due_a, reauth_due_b;
  std::vector<std::uint32_t> reauth_complete_a;
  // New CHILD_SAs that were not created (child_create_failed).
  std::vector<child_create_failed> failed_a, failed_b;
  // Remote endpoint moves (RFC 7296 §2.23) each side reported.
  std::vector<remote_moved> moved_a, moved_b;
  std::vector<std::string> logs;  // "A: ..." / "B: ..."
  std::string closed_a, closed_b;
  bool dead_a = false;
  int established_a = 0, established_b = 0;
  int drops = 0;
  std::vector<bytes> wire_log;  // every datagram, in order

 private:
  void collect(ike_sa& sa, bool is_a);
  void send_cookie(const send_datagram& request);
  sa_environment env();

  std::shared_ptr<const connection> conn_a_, conn_b_;
  std::uint32_t next_spi_ = 0xc0000001, next_id_ = 1;
  cookie_jar jar_;
};

}  // namespace aike::sa
