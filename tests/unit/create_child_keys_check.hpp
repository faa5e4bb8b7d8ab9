// For engine tests of CREATE_CHILD_SA: RFC 7296 §2.17 KEYMAT = prf+(SK_d, Ni | Nr) of the
// exchange, the keys of the direction from the exchange's initiator first, whichever end started
// the IKE SA. The nonces are read off the wire: two engines that both took the IKE SA's roles
// instead would still agree with each other, but not with another implementation.
#pragma once
#include <gtest/gtest.h>

#include "engine/crypto/keymat.hpp"
#include "engine/crypto/prf.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"

namespace aike::sa::keys_check {

struct create_child_nonces {
  bytes ni, nr;
};

// Records Ni and Nr of the CREATE_CHILD_SA exchanges of `p` (its A end is the IKE initiator) into
// `out` until p.on_wire is reset; `out` must outlive that.
inline void record_create_child_nonces(in_memory_pair& p, create_child_nonces& out) {
  const auto& ike = *p.initiator;
  auto alg = proposal::algorithms_of(ike.selected_ike_proposal());
  auto made = crypto::sk_cipher::create(alg.encr, alg.encr_key_bits, alg.integ);
  ASSERT_TRUE(made);
  std::shared_ptr<crypto::sk_cipher> cipher = std::move(*made);
  const auto& k = ike.keys_for_debugging();
  const crypto::sk_keys from_i{k.sk_ei, k.sk_ai}, from_r{k.sk_er, k.sk_ar};
  p.on_wire = [&out, cipher, from_i, from_r](const send_datagram& d, bool from_a_side) {
    auto h = wire::parse_header(d.data);
    if (!h || h->exchange_type != wire::exchange::create_child_sa) return;
    auto m = wire::open_message(d.data, *cipher, from_a_side ? from_i : from_r);
    ASSERT_TRUE(m) << m.err().message;
    auto* nonce = wire::find_first<wire::nonce_payload>(m->payloads, wire::payload_type::nonce);
    ASSERT_NE(nonce, nullptr);
    (h->is_response() ? out.nr : out.ni) = nonce->data;
  };
}

// The CHILD_SA of the end that sent the CREATE_CHILD_SA (`started`) and of the other end carry
// the keys derived from the recorded nonces, the exchange initiator's direction first.
inline void expect_keys_follow_exchange(const ike_sa& ike, const create_child_nonces& n, const child_sa& started,
                                        const child_sa& answered) {
  ASSERT_FALSE(n.ni.empty());
  ASSERT_FALSE(n.nr.empty());
  auto prf = crypto::prf::create(proposal::algorithms_of(ike.selected_ike_proposal()).prf);
  ASSERT_TRUE(prf);
  auto keys = crypto::derive_child_keys(*prf, ike.keys_for_debugging().sk_d, {}, n.ni, n.nr, started.encr_out.size(), 0);
  ASSERT_TRUE(keys);
  EXPECT_EQ(started.encr_out, keys->encr_i);
  EXPECT_EQ(started.encr_in, keys->encr_r);
  EXPECT_EQ(answered.encr_in, keys->encr_i);
  EXPECT_EQ(answered.encr_out, keys->encr_r);
}

}  // namespace aike::sa::keys_check
