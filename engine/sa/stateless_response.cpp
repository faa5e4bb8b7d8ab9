#include "engine/sa/stateless_response.hpp"

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

namespace aike::sa {

bytes stateless_init_response(const wire::ike_header& request, std::uint16_t notify_type, bytes data) {
  wire::message m;
  m.header.spi_i = request.spi_i;
  m.header.spi_r = 0;
  m.header.exchange_type = request.exchange_type;
  m.header.flags = wire::flag::response;
  m.header.message_id = request.message_id;
  wire::notify_payload n;
  n.type = notify_type;
  n.data = std::move(data);
  m.payloads.push_back(wire::make_payload(wire::payload_type::notify, std::move(n)));
  return wire::encode_message(m);
}

}  // namespace aike::sa
