// An IKE identity as carried in IDi/IDr (RFC 7296 §3.5), with the string forms used in
// configuration files and logs.
#pragma once
#include <string>
#include <string_view>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/wire/constants.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::auth {

struct identity {
  wire::id_type type = wire::id_type::key_id;
  bytes data;
  bool any = false;  // "%any": a configured wildcard that matches every identity

  // String forms:
  //   "10.0.0.1", "2001:db8::1"        ID_IPV4_ADDR / ID_IPV6_ADDR
  //   "moon.example", "@moon.example"  ID_FQDN ('@' forces FQDN, e.g. for a name with no dot)
  //   "user@example.org"               ID_RFC822_ADDR
  //   "C=CH, O=Example, CN=moon"       ID_DER_ASN1_DN (',' or ';' between RDNs, '+' inside a
  //                                    multi-valued RDN, '\' escapes, "..." quotes)
  //   "@#0a0b0c"                       ID_KEY_ID as hex
  //   "%any"                           wildcard
  // and explicit prefixes "fqdn:", "email:", "dn:", "keyid:" (hex, with or without '#').
  static result<identity> parse(std::string_view s);
  static identity from_payload(const wire::id_payload& p);
  wire::id_payload to_payload() const;

  // Readable form for logs and JSON; parse(to_string()) gives the identity back for every
  // well-formed identity.
  std::string to_string() const;

  bool is_any() const { return any; }

  // Does this (received) identity satisfy `configured`? `configured` may be %any, an FQDN
  // or RFC822 pattern with a leading '*' ("*.example.org", "*@example.org"), or a DN whose
  // attribute values may be "*" ("C=CH, O=Example, CN=*"). DNs compare by canonical form
  // (case and white space folded, as X509_NAME_cmp does).
  bool matches(const identity& configured) const;

  // Exact equality; FQDN and RFC822 case-insensitive, DNs by canonical form.
  bool operator==(const identity& other) const;
};

}  // namespace aike::auth
