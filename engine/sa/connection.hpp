// What one configured connection asks of its IKE SAs, in engine terms. config/ builds these
// from TOML; they are immutable and shared (std::shared_ptr<const connection>) by every SA
// made from them, so a reload never changes an SA that already exists.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/auth/identity.hpp"
#include "engine/auth/keys.hpp"
#include "engine/auth/trust_store.hpp"
#include "engine/common/endpoint.hpp"
#include "engine/ts/selector.hpp"
#include "engine/wire/payloads.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::sa {

using std::chrono::milliseconds;

enum class auth_kind { psk, pubkey };
enum class child_mode { tunnel, transport };

struct local_auth {
  auth_kind kind = auth_kind::psk;
  auth::identity id;
  std::optional<auth::private_key> key;     // pubkey: our private key
  std::vector<auth::certificate> certs;     // pubkey: our chain (end entity first); empty = raw key
  std::optional<auth::public_key> raw_key;  // pubkey without certs: sent as RAW_PUBLIC_KEY
};

struct remote_auth {
  auth_kind kind = auth_kind::psk;
  auth::identity id;                                // may be %any
  std::vector<auth::public_key> pubkeys;            // trusted raw keys of the peer
  std::shared_ptr<const auth::trust_store> cas;     // trust anchors for the peer's certificates
};

struct psk_secret {
  std::vector<auth::identity> ids;  // the secret applies between any two of these (or to any if empty)
  bytes secret;
};

// A CHILD_SA limit counted in bytes or packets (0 = none), as swanctl's rekey_bytes/life_bytes/
// rand_bytes and rekey_packets/life_packets/rand_packets: the SA is rekeyed once `rekey` minus a
// random part of `rand` has been carried in either direction, and ends at `life`.
struct volume_lifetime {
  std::uint64_t rekey = 0, life = 0, rand = 0;
  bool operator==(const volume_lifetime&) const = default;
};

// An XFRM mark (swanctl's mark_in / mark_out): packets whose mark & mask equals value. mask 0 = no
// mark. unique: each CHILD_SA gets a value of its own (%unique: the same for both directions,
// %unique-dir: one per direction), the mask stays as written (default 0xffffffff).
struct xfrm_mark {
  enum class uniqueness : std::uint8_t { none, same, per_direction };
  std::uint32_t value = 0, mask = 0;
  uniqueness unique = uniqueness::none;
  bool operator==(const xfrm_mark&) const = default;
};

struct child_config {
  std::string name;
  std::vector<ts::selector> local_ts;
  std::vector<ts::selector> remote_ts;
  std::vector<wire::proposal> esp_proposals;
  child_mode mode = child_mode::tunnel;
  // Lifetimes of each CHILD_SA (0 = none): it is rekeyed at rekey_time minus a random part of
  // rand_time, and deleted at life_time if no rekey succeeded by then.
  milliseconds rekey_time{0}, life_time{0}, rand_time{0};
  // Volume limits, handed to the kernel backend (which reports soft and hard expires).
  volume_lifetime bytes, packets;
  unsigned replay_window = 32;  // ESP anti-replay window (packets, 0 = off), handed to the kernel backend
  xfrm_mark mark_in, mark_out;  // on the inbound SA and in/fwd policies, the outbound SA and out policies
};

struct retransmit_policy {
  milliseconds timeout{4000};
  double base = 1.8;
  int tries = 5;
  // §2.1: the n-th retransmission waits timeout * base^n.
  milliseconds delay(int attempt) const;
  // Sum of all waits: how long a peer may stay silent before we give up.
  milliseconds budget() const;
};

struct connection {
  std::string name;
  std::vector<ip_address> local_addrs;   // empty = any
  std::vector<ip_address> remote_addrs;  // empty = %any
  std::uint16_t remote_port = 500;
  std::vector<wire::proposal> ike_proposals;
  local_auth local;
  remote_auth remote;
  std::vector<child_config> children;
  bool fragmentation = true;
  // RFC 7383, when both sides announced support: a protected message (IKE_AUTH onwards) whose
  // IP datagram would exceed this many octets goes out as SKF fragments that fit it. Counted
  // like strongSwan's fragment_size: the whole IP datagram, so the IP header (20 or 40), the UDP
  // header (8) and on the NAT-T port the non-ESP marker (4) come off before the IKE message.
  std::size_t fragment_size = 1280;
  wire::reassembly_limits reassembly;    // what one incomplete fragmented message may hold
  milliseconds fragment_timeout{30000};  // an incomplete fragmented message is dropped after this
  bool force_encap = false;
  milliseconds dpd_delay{0};  // 0 = no liveness checks
  retransmit_policy retransmit;
  milliseconds half_open_timeout{30000};  // responder: give up waiting for IKE_AUTH
  std::vector<psk_secret> secrets;        // the PSKs this connection may use
  // The IKE SA is rekeyed at rekey_time and reauthenticated (a new IKE SA, RFC 7296 §2.8.3) at
  // reauth_time, each minus a random part of rand_time (0 = never). It is deleted at life_time
  // (counted from its establishment or last rekey) if it was not renewed by then (0 = never).
  milliseconds rekey_time{0}, reauth_time{0}, life_time{0}, rand_time{0};

  const child_config* find_child(std::string_view child_name) const;
  // The PSK between `a` and `b` (either order), best match first: both ids listed, then one.
  std::optional<bytes> find_psk(const auth::identity& a, const auth::identity& b) const;
};

}  // namespace aike::sa
