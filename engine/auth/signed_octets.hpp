// The octets an IKE_AUTH signature or PSK MIC covers (RFC 7296 §2.15):
//   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//   MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
// and the same for the responder with RealMessage2, NonceIData, SK_pr and IDr.
// RestOfInitIDPayload is the ID payload body after the generic header:
//   IDType (1) | RESERVED (3) | Identification Data
#pragma once
#include "engine/auth/identity.hpp"
#include "engine/common/bytes.hpp"
#include "engine/crypto/prf.hpp"

namespace aike::auth {

// real_message: our own IKE_SA_INIT message as sent (or the peer's, when verifying);
// peer_nonce: the other side's Nonce data; sk_p: SK_pi or SK_pr of the side whose ID it is.
bytes signed_octets(bytes_view real_message, bytes_view peer_nonce, const crypto::prf& prf, bytes_view sk_p,
                    const identity& id);

// IDType | RESERVED(3) | data: the ID payload body as MACed above.
bytes id_payload_body(const identity& id);

}  // namespace aike::auth
