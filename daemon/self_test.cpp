#include "daemon/self_test.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/proposal/parser.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/message_codec.hpp"

namespace aike::daemon {
namespace {

using namespace aike::sa;

// "SA KE No N(NAT_DETECTION_SOURCE_IP) ..." for one datagram, like IKE logs show messages.
std::string describe(const bytes& datagram) {
  auto m = wire::parse_message(datagram);
  if (!m) return "(unparsable: " + m.err().message + ")";
  std::string s = std::string(wire::name_of(m->header.exchange_type)) +
                  (m->header.is_response() ? " response " : " request ") + std::to_string(m->header.message_id) + " [";
  for (const auto& p : m->payloads) {
    s += " ";
    if (p.type == wire::payload_type::notify)
      s += std::string("N(") + wire::notify_name(std::get<wire::notify_payload>(p.body).type) + ")";
    else if (p.type == wire::payload_type::sk)
      s += "SK(" + std::to_string(std::get<wire::sk_payload>(p.body).data.size()) + " octets encrypted)";
    else
      s += wire::name_of(p.type);
  }
  return s + " ] " + std::to_string(datagram.size()) + " octets";
}

std::shared_ptr<connection> make_conn(const char* ike, const char* me, const char* peer, const char* lts,
                                      const char* rts) {
  auto c = std::make_shared<connection>();
  c->name = "demo";
  c->ike_proposals = *proposal::parse_ike_proposals({ike});
  c->local.id = *auth::identity::parse(me);
  c->remote.id = *auth::identity::parse(peer);
  c->secrets.push_back({{*auth::identity::parse("moon.example"), *auth::identity::parse("sun.example")},
                        to_bytes("demo secret, not for production")});
  child_config ch;
  ch.name = "net";
  ch.local_ts = {*ts::selector::parse(lts)};
  ch.remote_ts = {*ts::selector::parse(rts)};
  ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(ch);
  return c;
}

bool run_one(const char* title, std::shared_ptr<connection> a, std::shared_ptr<connection> b, bool verbose) {
  std::printf("\n-- %s\n", title);
  in_memory_pair pair(a, b);
  if (verbose)
    pair.on_wire = [](const send_datagram& d, bool from_a) {
      std::printf("   %s %s\n", from_a ? "moon -> sun " : "moon <- sun ", describe(d.data).c_str());
    };
  pair.start();
  pair.run();
  bool ok = pair.initiator->state() == ike_state::established && pair.responder &&
            pair.responder->state() == ike_state::established && pair.installed_a.size() == 1 &&
            pair.installed_b.size() == 1 && pair.installed_a[0].spi_in == pair.installed_b[0].spi_out;
  if (!ok) {
    std::printf("   FAILED: %s / %s\n", pair.closed_a.c_str(), pair.closed_b.c_str());
    for (const auto& l : pair.logs) std::printf("   %s\n", l.c_str());
    return false;
  }
  const auto& sa = *pair.initiator;
  const auto& ch = pair.installed_a[0];
  std::printf("   IKE SA ESTABLISHED  %s...%s  SPIs %016llx_i %016llx_r  %s\n", sa.local_id().c_str(),
              sa.remote_id().c_str(), static_cast<unsigned long long>(sa.spi_i()),
              static_cast<unsigned long long>(sa.spi_r()), sa.proposal_string().c_str());
  std::printf("   CHILD_SA %s INSTALLED  SPIs %08x_i %08x_o  %s === %s\n", ch.name.c_str(), ch.spi_in, ch.spi_out,
              ts::to_string(ch.local_ts).c_str(), ts::to_string(ch.remote_ts).c_str());
  pair.initiator->request_delete();
  pair.collect_a();
  pair.run();
  bool deleted = pair.initiator->state() == ike_state::closed && pair.responder->state() == ike_state::closed;
  std::printf("   DELETE: %s\n", deleted ? "both sides closed, CHILD_SAs removed" : "FAILED");
  return deleted;
}

}  // namespace

int run_self_test() {
  std::printf("aiked self-check: two IKEv2 engines in one process (RFC 7296)\n");
  int failed = 0;
  bool first = true;  // the first run prints every message on the wire
  for (const char* ike : {"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048", "aes256-sha384-ecp384",
                          "chacha20poly1305-prfsha512-curve448"}) {
    auto a = make_conn(ike, "moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24");
    auto b = make_conn(ike, "sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24");
    failed += !run_one((std::string("PSK, ") + ike).c_str(), a, b, first);
    first = false;
  }
  for (const char* kind : {"ED25519", "EC"}) {
    auto a = make_conn("aes256gcm16-prfsha256-x25519", "moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24");
    auto b = make_conn("aes256gcm16-prfsha256-x25519", "sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24");
    EVP_PKEY* ka = std::string(kind) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, kind);
    EVP_PKEY* kb = std::string(kind) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, kind);
    a->local.kind = a->remote.kind = b->local.kind = b->remote.kind = auth_kind::pubkey;
    a->local.key = *auth::private_key::from_evp(ka);
    b->local.key = *auth::private_key::from_evp(kb);
    a->remote.pubkeys = {b->local.key->public_part()};
    b->remote.pubkeys = {a->local.key->public_part()};
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    std::string title = std::string("raw public keys (RFC 7427 signatures), ") +
                        (std::string(kind) == "EC" ? "ECDSA P-256" : "Ed25519");
    failed += !run_one(title.c_str(), a, b, false);
  }
  std::printf("\n%s\n", failed ? "self-check FAILED" : "self-check passed");
  return failed ? 1 : 0;
}

}  // namespace aike::daemon
