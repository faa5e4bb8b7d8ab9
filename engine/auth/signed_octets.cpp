#include "engine/auth/signed_octets.hpp"

namespace aike::auth {

bytes id_payload_body(const identity& id) {
  bytes body;
  body.reserve(4 + id.data.size());
  put_u8(body, static_cast<std::uint8_t>(id.type));
  body.insert(body.end(), 3, 0);  // RESERVED
  append(body, id.data);
  return body;
}

bytes signed_octets(bytes_view real_message, bytes_view peer_nonce, const crypto::prf& prf, bytes_view sk_p,
                    const identity& id) {
  bytes maced_id = prf.compute(sk_p, id_payload_body(id));
  bytes out;
  out.reserve(real_message.size() + peer_nonce.size() + maced_id.size());
  append(out, real_message);
  append(out, peer_nonce);
  append(out, maced_id);
  return out;
}

}  // namespace aike::auth
