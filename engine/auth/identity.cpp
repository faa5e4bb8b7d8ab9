#include "engine/auth/identity.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "engine/auth/openssl_util.hpp"

namespace aike::auth {
namespace {

using detail::x509_name_ptr;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

bool equal_nocase(bytes_view a, bytes_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](std::uint8_t x, std::uint8_t y) {
           return std::tolower(x) == std::tolower(y);
         });
}

bool ends_with_nocase(bytes_view s, bytes_view suffix) {
  return s.size() >= suffix.size() && equal_nocase(s.subspan(s.size() - suffix.size()), suffix);
}

// Names and values are text: reject control characters so they cannot corrupt logs.
bool printable_text(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Attribute short names people write in strongSwan-style DNs that OpenSSL spells differently.
std::string attribute_name(std::string_view key) {
  if (key == "E" || key == "Email" || key == "email") return "emailAddress";
  if (key == "S") return "ST";
  return std::string(key);
}

// Parses "C=CH, O=Example, CN=moon" into DER, in the order written.
result<bytes> parse_dn(std::string_view s) {
  x509_name_ptr name(X509_NAME_new());
  if (!name) return detail::openssl_error(errc::crypto_failure, "DN: X509_NAME_new failed");

  std::size_t i = 0;
  int set = 0;  // 0: the next AVA starts a new RDN; -1: it joins the previous one ('+')
  while (true) {
    // key
    std::size_t eq = i;
    while (eq < s.size() && s[eq] != '=' && s[eq] != ',' && s[eq] != ';' && s[eq] != '+') ++eq;
    if (eq >= s.size() || s[eq] != '=')
      return make_error(errc::invalid_argument,
                        "DN '" + std::string(s) + "': expected '=' after attribute at offset " + std::to_string(i));
    std::string key = attribute_name(trim(s.substr(i, eq - i)));
    if (key.empty())
      return make_error(errc::invalid_argument,
                        "DN '" + std::string(s) + "': empty attribute name at offset " + std::to_string(i));

    // value: leading spaces skipped; trailing unescaped spaces dropped
    i = eq + 1;
    while (i < s.size() && s[i] == ' ') ++i;
    std::string value;
    std::size_t keep = 0;
    bool quoted = false;
    char sep = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (quoted) {
        if (c == '"') {
          quoted = false;
        } else {
          value += c;
          keep = value.size();
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '\\') {
        if (i + 1 >= s.size())
          return make_error(errc::invalid_argument, "DN '" + std::string(s) + "': dangling '\\' at the end");
        // "\XX" is a hex-escaped octet (RFC 4514), anything else stands for itself.
        bytes octet;
        if (i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2])) && from_hex(s.substr(i + 1, 2), octet)) {
          value += static_cast<char>(octet[0]);
          i += 2;
        } else {
          value += s[++i];
        }
        keep = value.size();
      } else if (c == ',' || c == ';' || c == '+') {
        sep = c;
        break;
      } else {
        value += c;
        if (c != ' ') keep = value.size();
      }
    }
    if (quoted) return make_error(errc::invalid_argument, "DN '" + std::string(s) + "': unterminated quote");
    value.resize(keep);

    if (value.size() > static_cast<std::size_t>(INT32_MAX) ||
        X509_NAME_add_entry_by_txt(name.get(), key.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, set) != 1) {
      detail::take_openssl_errors();
      return make_error(errc::invalid_argument,
                        "DN '" + std::string(s) + "': cannot add attribute '" + key + "' (unknown name or bad value)");
    }
    if (sep == 0) break;
    set = sep == '+' ? -1 : 0;
    ++i;
  }
  bytes der = detail::to_der(name.get(), i2d_X509_NAME);
  if (der.empty()) return detail::openssl_error(errc::crypto_failure, "DN: DER encoding failed");
  return der;
}

std::string dn_to_string(bytes_view der) {
  x509_name_ptr name = detail::name_from_der(der);
  if (!name) return "dn:#" + to_hex(der);
  detail::bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "dn:#" + to_hex(der);
  // "C=CH, O=Example, CN=moon": RFC 2253 escaping, UTF-8 kept as is, written in encoded order.
  unsigned long flags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN;
  if (X509_NAME_print_ex(bio.get(), name.get(), 0, flags) < 0) {
    detail::take_openssl_errors();
    return "dn:#" + to_hex(der);
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

bool dn_equal(bytes_view a, bytes_view b) {
  x509_name_ptr na = detail::name_from_der(a);
  x509_name_ptr nb = detail::name_from_der(b);
  if (!na || !nb) return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  return X509_NAME_cmp(na.get(), nb.get()) == 0;
}

bool entry_is_star(const X509_NAME_ENTRY* e) {
  const ASN1_STRING* v = X509_NAME_ENTRY_get_data(e);
  return ASN1_STRING_length(v) == 1 && ASN1_STRING_get0_data(v)[0] == '*';
}

// Compares one attribute value the way X509_NAME_cmp compares whole names.
bool entry_value_equal(const X509_NAME_ENTRY* a, const X509_NAME_ENTRY* b) {
  x509_name_ptr na(X509_NAME_new()), nb(X509_NAME_new());
  if (!na || !nb || X509_NAME_add_entry(na.get(), a, -1, 0) != 1 || X509_NAME_add_entry(nb.get(), b, -1, 0) != 1) {
    detail::take_openssl_errors();
    return false;
  }
  return X509_NAME_cmp(na.get(), nb.get()) == 0;
}

// DN match where the configured DN may hold "*" values: same attributes in the same RDN
// structure, "*" matching any value.
bool dn_matches(bytes_view received, bytes_view configured) {
  x509_name_ptr r = detail::name_from_der(received);
  x509_name_ptr c = detail::name_from_der(configured);
  if (!r || !c) return false;
  int n = X509_NAME_entry_count(c.get());
  bool wildcard = false;
  for (int k = 0; k < n; ++k) wildcard = wildcard || entry_is_star(X509_NAME_get_entry(c.get(), k));
  if (!wildcard) return X509_NAME_cmp(r.get(), c.get()) == 0;
  if (X509_NAME_entry_count(r.get()) != n) return false;
  for (int k = 0; k < n; ++k) {
    const X509_NAME_ENTRY* er = X509_NAME_get_entry(r.get(), k);
    const X509_NAME_ENTRY* ec = X509_NAME_get_entry(c.get(), k);
    if (OBJ_cmp(X509_NAME_ENTRY_get_object(er), X509_NAME_ENTRY_get_object(ec)) != 0) return false;
    if (X509_NAME_ENTRY_set(er) != X509_NAME_ENTRY_set(ec)) return false;
    if (!entry_is_star(ec) && !entry_value_equal(er, ec)) return false;
  }
  return true;
}

result<identity> make_text_id(wire::id_type type, std::string_view value, std::string_view whole) {
  if (value.empty())
    return make_error(errc::invalid_argument, "identity '" + std::string(whole) + "': empty value");
  if (!printable_text(value))
    return make_error(errc::invalid_argument, "identity '" + std::string(whole) + "': control character in value");
  return identity{type, to_bytes(value), false};
}

result<identity> make_key_id(std::string_view hex, std::string_view whole) {
  bytes data;
  if (hex.empty() || !from_hex(hex, data))
    return make_error(errc::invalid_argument, "identity '" + std::string(whole) + "': key id is not hex");
  return identity{wire::id_type::key_id, std::move(data), false};
}

result<identity> make_dn(std::string_view dn) {
  auto der = parse_dn(dn);
  if (!der) return der.err();
  return identity{wire::id_type::der_asn1_dn, std::move(*der), false};
}

}  // namespace

result<identity> identity::parse(std::string_view in) {
  std::string_view s = trim(in);
  if (s.empty()) return make_error(errc::invalid_argument, "identity: empty string");
  if (s == "%any" || s == "%any6") return identity{wire::id_type::key_id, {}, true};

  if (starts_with_nocase(s, "fqdn:")) return make_text_id(wire::id_type::fqdn, s.substr(5), s);
  if (starts_with_nocase(s, "email:")) return make_text_id(wire::id_type::rfc822_addr, s.substr(6), s);
  if (starts_with_nocase(s, "dn:")) return make_dn(s.substr(3));
  if (starts_with_nocase(s, "keyid:")) {
    std::string_view hex = s.substr(6);
    if (!hex.empty() && hex.front() == '#') hex.remove_prefix(1);
    return make_key_id(hex, s);
  }
  if (s.starts_with("@#")) return make_key_id(s.substr(2), s);
  if (s.starts_with("@")) return make_text_id(wire::id_type::fqdn, s.substr(1), s);

  std::string z(s);  // inet_pton needs a terminated string
  std::uint8_t addr[16];
  if (inet_pton(AF_INET, z.c_str(), addr) == 1) return identity{wire::id_type::ipv4_addr, bytes(addr, addr + 4), false};
  if (inet_pton(AF_INET6, z.c_str(), addr) == 1)
    return identity{wire::id_type::ipv6_addr, bytes(addr, addr + 16), false};

  if (s.find('=') != std::string_view::npos) return make_dn(s);
  if (s.find('@') != std::string_view::npos) return make_text_id(wire::id_type::rfc822_addr, s, s);
  if (s.find(' ') != std::string_view::npos)
    return make_error(errc::invalid_argument, "identity '" + std::string(s) + "': white space in an FQDN");
  return make_text_id(wire::id_type::fqdn, s, s);
}

identity identity::from_payload(const wire::id_payload& p) { return identity{p.type, p.data, false}; }

wire::id_payload identity::to_payload() const { return wire::id_payload{type, data}; }

std::string identity::to_string() const {
  if (any) return "%any";
  switch (type) {
    case wire::id_type::ipv4_addr:
    case wire::id_type::ipv6_addr: {
      bool v4 = type == wire::id_type::ipv4_addr;
      if (data.size() != (v4 ? 4u : 16u)) return std::string(v4 ? "ipv4:#" : "ipv6:#") + to_hex(data);
      char buf[INET6_ADDRSTRLEN];
      if (!inet_ntop(v4 ? AF_INET : AF_INET6, data.data(), buf, sizeof buf)) return "ip:#" + to_hex(data);
      return buf;
    }
    case wire::id_type::fqdn:
    case wire::id_type::rfc822_addr: {
      bool fqdn = type == wire::id_type::fqdn;
      std::string s(data.begin(), data.end());
      if (!printable_text(s)) return (fqdn ? "fqdn:#" : "email:#") + to_hex(data);
      // Plain form when it parses back to this identity ("moon.example"), otherwise the
      // explicit prefix ("fqdn:10.0.0.1", "fqdn:%any", "email:no-at-sign").
      auto back = parse(s);
      if (back.ok() && !back->any && back->type == type && back->data == data) return s;
      return (fqdn ? "fqdn:" : "email:") + s;
    }
    case wire::id_type::der_asn1_dn:
      return dn_to_string(data);
    case wire::id_type::key_id:
      return "@#" + to_hex(data);
    case wire::id_type::der_asn1_gn:
      return "gn:#" + to_hex(data);
  }
  return "id" + std::to_string(static_cast<int>(type)) + ":#" + to_hex(data);
}

bool identity::operator==(const identity& o) const {
  if (any || o.any) return any == o.any;
  if (type != o.type) return false;
  switch (type) {
    case wire::id_type::fqdn:
    case wire::id_type::rfc822_addr:
      return equal_nocase(data, o.data);
    case wire::id_type::der_asn1_dn:
      return dn_equal(data, o.data);
    default:
      return data == o.data;
  }
}

bool identity::matches(const identity& configured) const {
  if (configured.any) return true;
  if (any || type != configured.type) return false;
  const bytes& pat = configured.data;
  switch (type) {
    case wire::id_type::fqdn:
    case wire::id_type::rfc822_addr:
      if (!pat.empty() && pat.front() == '*') {
        bytes_view suffix = bytes_view(pat).subspan(1);
        // "*.example.org" needs at least one character in place of the '*'.
        return data.size() > suffix.size() && ends_with_nocase(data, suffix);
      }
      return equal_nocase(data, pat);
    case wire::id_type::der_asn1_dn:
      return dn_matches(data, pat);
    default:
      return data == pat;
  }
}

}  // namespace aike::auth
