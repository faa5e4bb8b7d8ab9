#include "engine/sa/init_request_check.hpp"

#include "engine/wire/payload_access.hpp"

namespace aike::sa {

std::optional<std::string> check_init_request(const wire::message& m) {
  const auto& h = m.header;
  if (h.exchange_type != wire::exchange::ike_sa_init) return "not an IKE_SA_INIT";
  if (h.is_response() || !h.is_initiator()) return "IKE_SA_INIT without the initiator flag or with the response flag";
  if (h.message_id != 0) return "IKE_SA_INIT with message id " + std::to_string(h.message_id);
  if (h.spi_r != 0 || h.spi_i == 0) return "IKE_SA_INIT with a responder SPI or without an initiator SPI";
  if (!wire::find_first<wire::sa_payload>(m.payloads, wire::payload_type::sa)) return "IKE_SA_INIT without SA payload";
  if (!wire::find_first<wire::ke_payload>(m.payloads, wire::payload_type::ke)) return "IKE_SA_INIT without KE payload";
  if (!wire::find_first<wire::nonce_payload>(m.payloads, wire::payload_type::nonce))
    return "IKE_SA_INIT without nonce";
  return std::nullopt;
}

}  // namespace aike::sa
