// IKE identities (RFC 7296 §3.5): string forms, payload round trip, matching.
#include <gtest/gtest.h>

#include "engine/auth/identity.hpp"

namespace aike::auth {
namespace {

identity must_parse(std::string_view s) {
  auto r = identity::parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.err().message);
  return r.ok() ? *r : identity{};
}

bytes hex(std::string_view h) {
  bytes b;
  EXPECT_TRUE(from_hex(h, b)) << h;
  return b;
}

TEST(AuthIdentity, Ipv4) {
  identity id = must_parse("10.0.0.1");
  EXPECT_EQ(id.type, wire::id_type::ipv4_addr);
  EXPECT_EQ(id.data, hex("0a000001"));
  EXPECT_EQ(id.to_string(), "10.0.0.1");
  EXPECT_FALSE(id.is_any());
}

TEST(AuthIdentity, Ipv6) {
  identity id = must_parse("2001:db8::1");
  EXPECT_EQ(id.type, wire::id_type::ipv6_addr);
  EXPECT_EQ(id.data, hex("20010db8000000000000000000000001"));
  EXPECT_EQ(id.to_string(), "2001:db8::1");
}

TEST(AuthIdentity, Fqdn) {
  identity a = must_parse("moon.example");
  EXPECT_EQ(a.type, wire::id_type::fqdn);
  EXPECT_EQ(a.data, to_bytes("moon.example"));
  EXPECT_EQ(a.to_string(), "moon.example");
  identity b = must_parse("@moon.example");
  EXPECT_EQ(b.type, wire::id_type::fqdn);
  EXPECT_EQ(b.data, to_bytes("moon.example"));
  // '@' forces FQDN for a single label, and the explicit prefix for things that look like
  // addresses; to_string keeps those parseable.
  identity c = must_parse("@moon");
  EXPECT_EQ(c.type, wire::id_type::fqdn);
  EXPECT_EQ(c.data, to_bytes("moon"));
  identity d = must_parse("fqdn:10.0.0.1");
  EXPECT_EQ(d.type, wire::id_type::fqdn);
  EXPECT_EQ(d.to_string(), "fqdn:10.0.0.1");
  EXPECT_EQ(must_parse(d.to_string()), d);
}

TEST(AuthIdentity, Rfc822) {
  identity id = must_parse("user@example.org");
  EXPECT_EQ(id.type, wire::id_type::rfc822_addr);
  EXPECT_EQ(id.data, to_bytes("user@example.org"));
  EXPECT_EQ(id.to_string(), "user@example.org");
}

TEST(AuthIdentity, KeyId) {
  identity id = must_parse("@#0a0b0c");
  EXPECT_EQ(id.type, wire::id_type::key_id);
  EXPECT_EQ(id.data, hex("0a0b0c"));
  EXPECT_EQ(id.to_string(), "@#0a0b0c");
  EXPECT_EQ(must_parse("keyid:#0a0b0c"), id);
  EXPECT_FALSE(identity::parse("@#0a0b0").ok());   // odd length
  EXPECT_FALSE(identity::parse("@#zz").ok());
}

TEST(AuthIdentity, DistinguishedName) {
  identity id = must_parse("C=CH, O=Example, CN=moon");
  EXPECT_EQ(id.type, wire::id_type::der_asn1_dn);
  // SEQUENCE { SET { SEQUENCE { countryName, PrintableString "CH" } },
  //            SET { SEQUENCE { organizationName, UTF8String "Example" } },
  //            SET { SEQUENCE { commonName, UTF8String "moon" } } }
  EXPECT_EQ(to_hex(id.data),
            "302e"
            "310b300906035504061302" "4348"
            "3110300e060355040a0c07" "4578616d706c65"
            "310d300b06035504030c04" "6d6f6f6e");
  EXPECT_EQ(id.to_string(), "C=CH, O=Example, CN=moon");
  EXPECT_EQ(must_parse(id.to_string()), id);
}

TEST(AuthIdentity, DistinguishedNameEscapesAndMultiValuedRdn) {
  identity id = must_parse("C=CH, O=Example\\, Inc., OU=a+OU=b, CN=\"moon, the\"");
  EXPECT_EQ(id.type, wire::id_type::der_asn1_dn);
  EXPECT_EQ(id.to_string(), "C=CH, O=Example\\, Inc., OU=a + OU=b, CN=moon\\, the");
  EXPECT_EQ(must_parse(id.to_string()).data, id.data);
  // E= is the strongSwan spelling of emailAddress.
  identity e = must_parse("CN=moon, E=moon@example.org");
  EXPECT_EQ(e.to_string(), "CN=moon, emailAddress=moon@example.org");
}

TEST(AuthIdentity, DistinguishedNameErrors) {
  EXPECT_FALSE(identity::parse("C=CH, bogusattr=x").ok());
  EXPECT_FALSE(identity::parse("C=CH, O").ok());
  EXPECT_FALSE(identity::parse("C=CH, CN=\"open").ok());
  EXPECT_FALSE(identity::parse("=x").ok());
}

TEST(AuthIdentity, DnEqualityIgnoresSpacingAndCase) {
  identity a = must_parse("C=CH, O=Example, CN=moon");
  identity b = must_parse("C=CH,O=Example,CN=moon");
  identity c = must_parse("C=CH;  O=Example  Corp ; CN=moon");
  identity d = must_parse("C=CH, O=example  corp, CN=MOON");
  EXPECT_EQ(a, b);
  EXPECT_EQ(c, d);  // canonical form: case folded, inner white space collapsed
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == must_parse("C=CH, O=Example, CN=sun"));
  EXPECT_FALSE(a == must_parse("O=Example, C=CH, CN=moon"));  // RDN order matters
}

TEST(AuthIdentity, Any) {
  identity any = must_parse("%any");
  EXPECT_TRUE(any.is_any());
  EXPECT_EQ(any.to_string(), "%any");
  EXPECT_TRUE(must_parse("10.0.0.1").matches(any));
  EXPECT_TRUE(must_parse("C=CH, CN=x").matches(any));
  EXPECT_FALSE(any.matches(must_parse("10.0.0.1")));
}

TEST(AuthIdentity, PayloadRoundTrip) {
  for (auto s : {"10.0.0.1", "2001:db8::1", "moon.example", "user@example.org", "C=CH, O=Example, CN=moon",
                 "@#0a0b0c"}) {
    identity id = must_parse(s);
    wire::id_payload p = id.to_payload();
    EXPECT_EQ(p.type, id.type) << s;
    EXPECT_EQ(p.data, id.data) << s;
    identity back = identity::from_payload(p);
    EXPECT_EQ(back, id) << s;
    EXPECT_EQ(back.to_string(), s);
  }
}

TEST(AuthIdentity, MalformedPayloadStillPrints) {
  identity v4 = identity::from_payload(wire::id_payload{wire::id_type::ipv4_addr, hex("0a0000")});
  EXPECT_EQ(v4.to_string(), "ipv4:#0a0000");
  identity dn = identity::from_payload(wire::id_payload{wire::id_type::der_asn1_dn, hex("3003")});
  EXPECT_EQ(dn.to_string(), "dn:#3003");
  EXPECT_FALSE(dn.matches(must_parse("C=CH")));
}

TEST(AuthIdentity, ToStringParsesBackForOddValues) {
  // Received identities whose plain text would parse as something else get a prefix.
  struct { wire::id_type type; const char* data; const char* text; } cases[] = {
      {wire::id_type::fqdn, "%any", "fqdn:%any"},
      {wire::id_type::fqdn, "moon example", "fqdn:moon example"},
      {wire::id_type::fqdn, "user@example.org", "fqdn:user@example.org"},
      {wire::id_type::fqdn, "CN=moon", "fqdn:CN=moon"},
      {wire::id_type::fqdn, "@#0102", "fqdn:@#0102"},
      {wire::id_type::rfc822_addr, "no-at-sign", "email:no-at-sign"},
      {wire::id_type::rfc822_addr, "a=b@example.org", "email:a=b@example.org"},
  };
  for (auto& c : cases) {
    identity id = identity::from_payload(wire::id_payload{c.type, to_bytes(c.data)});
    EXPECT_EQ(id.to_string(), c.text);
    identity back = must_parse(id.to_string());
    EXPECT_FALSE(back.is_any()) << c.text;
    EXPECT_EQ(back.type, c.type) << c.text;
    EXPECT_EQ(back.data, id.data) << c.text;
  }
  identity ctl = identity::from_payload(wire::id_payload{wire::id_type::fqdn, bytes{'a', 0x0a, 'b'}});
  EXPECT_EQ(ctl.to_string(), "fqdn:#610a62");
}

TEST(AuthIdentity, WildcardFqdnAndEmail) {
  identity pat = must_parse("*.example.org");
  EXPECT_EQ(pat.type, wire::id_type::fqdn);
  EXPECT_TRUE(must_parse("moon.example.org").matches(pat));
  EXPECT_TRUE(must_parse("a.b.EXAMPLE.org").matches(pat));
  EXPECT_FALSE(must_parse("example.org").matches(pat));
  EXPECT_FALSE(must_parse("moonexample.org").matches(pat));
  EXPECT_FALSE(must_parse("moon.example.com").matches(pat));
  EXPECT_FALSE(must_parse("user@moon.example.org").matches(pat));  // other type

  identity mail = must_parse("*@example.org");
  EXPECT_EQ(mail.type, wire::id_type::rfc822_addr);
  EXPECT_TRUE(must_parse("user@example.org").matches(mail));
  EXPECT_FALSE(must_parse("user@sub.example.org").matches(mail));
  EXPECT_FALSE(must_parse("@example.org").matches(mail));
}

TEST(AuthIdentity, ExactMatch) {
  EXPECT_TRUE(must_parse("Moon.Example").matches(must_parse("moon.example")));
  EXPECT_TRUE(must_parse("10.0.0.1").matches(must_parse("10.0.0.1")));
  EXPECT_FALSE(must_parse("10.0.0.2").matches(must_parse("10.0.0.1")));
  EXPECT_FALSE(must_parse("@#0a0b").matches(must_parse("@#0a0b0c")));
  EXPECT_TRUE(must_parse("C=CH,O=Example,CN=moon").matches(must_parse("C=CH, O=Example, CN=moon")));
}

TEST(AuthIdentity, DnWildcardValue) {
  identity pat = must_parse("C=CH, O=Example, CN=*");
  EXPECT_TRUE(must_parse("C=CH, O=Example, CN=moon").matches(pat));
  EXPECT_TRUE(must_parse("C=CH, O=example, CN=sun").matches(pat));
  EXPECT_FALSE(must_parse("C=DE, O=Example, CN=moon").matches(pat));
  EXPECT_FALSE(must_parse("C=CH, O=Example").matches(pat));
  EXPECT_FALSE(must_parse("C=CH, O=Example, OU=x, CN=moon").matches(pat));
}

TEST(AuthIdentity, OddInputsFailCleanlyOrRoundTrip) {
  for (const char* s : {"=", ",", "\\", "\"", "C=\\", "C=CH+", "+", "@#", "%", "C=CH,,CN=x", "CN=a\\2", "CN=\\41BC",
                        "CN=\"a\"b", "C==CH", "1.2.3.4.5", "::", "[::1]", "*", "@*", "x@", "@@", ";CN=x", "CN=x;"}) {
    auto r = identity::parse(s);
    if (!r.ok()) {
      EXPECT_FALSE(r.err().message.empty()) << s;
      continue;
    }
    auto back = identity::parse(r->to_string());
    ASSERT_TRUE(back.ok()) << s << " -> " << r->to_string();
    EXPECT_EQ(back->type, r->type) << s;
    EXPECT_EQ(back->data, r->data) << s << " -> " << r->to_string();
  }
  EXPECT_EQ(must_parse("CN=\\41BC").to_string(), "CN=ABC");  // RFC 4514 hex escape
}

TEST(AuthIdentity, Errors) {
  EXPECT_FALSE(identity::parse("").ok());
  EXPECT_FALSE(identity::parse("   ").ok());
  EXPECT_FALSE(identity::parse("@").ok());
  EXPECT_FALSE(identity::parse("moon example").ok());
  auto r = identity::parse("fqdn:a\x01" "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
}

}  // namespace
}  // namespace aike::auth
