#include "engine/proposal/selection.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "engine/proposal/keywords.hpp"
#include "engine/proposal/parser.hpp"

namespace aike::proposal {

namespace {

using wire::transform_type;

const char* protocol_name(wire::protocol_id p) {
  switch (p) {
    case wire::protocol_id::ike: return "IKE";
    case wire::protocol_id::esp: return "ESP";
    case wire::protocol_id::ah: return "AH";
    case wire::protocol_id::none: break;
  }
  return "unknown-protocol";
}

// RFC 7296 §3.3.3: which transform types a proposal for each protocol may carry.
bool type_allowed(wire::protocol_id protocol, transform_type t) {
  switch (t) {
    case transform_type::encr: return protocol == wire::protocol_id::ike || protocol == wire::protocol_id::esp;
    case transform_type::prf: return protocol == wire::protocol_id::ike;
    case transform_type::integ:
    case transform_type::ke: return true;
    case transform_type::esn: return protocol == wire::protocol_id::esp || protocol == wire::protocol_id::ah;
  }
  return false;  // a type this implementation does not know
}

bool spi_size_ok(const wire::proposal& p, wire::protocol_id protocol) {
  // §3.3.1: 0 for IKE_SA_INIT, 8 when rekeying an IKE SA, 4 for ESP and AH.
  if (protocol == wire::protocol_id::ike) return p.spi.empty() || p.spi.size() == 8;
  return p.spi.size() == 4;
}

// Only the Key Length attribute is defined (§3.3.5); a transform with any other is one we do not
// understand and must not pick.
bool attributes_known(const wire::transform& t) {
  return std::all_of(t.attributes.begin(), t.attributes.end(), [](const wire::transform_attribute& a) {
    return a.type == wire::attr_key_length && a.tv;
  });
}

bool same_transform(const wire::transform& a, const wire::transform& b) {
  return a.type == b.type && a.id == b.id && a.key_length() == b.key_length() && attributes_known(a) &&
         attributes_known(b);
}

std::vector<const wire::transform*> of_type(const wire::proposal& p, transform_type t) {
  std::vector<const wire::transform*> out;
  for (const auto& x : p.transforms)
    if (x.type == t) out.push_back(&x);
  return out;
}

const wire::transform* find_same(const wire::transform& want, const std::vector<const wire::transform*>& in) {
  for (const auto* t : in)
    if (same_transform(want, *t)) return t;
  return nullptr;
}

// The outcome of choosing one transform of a type: `t` is the offered transform to echo, or
// nullptr when the offer lacked the type and the implicit NONE / "no ESN" was agreed.
struct pick {
  bool ok = false;
  const wire::transform* t = nullptr;
};

pick match_in(const wire::transform& candidate, const std::vector<const wire::transform*>& offered,
              std::uint16_t none_id) {
  if (offered.empty()) return {candidate.id == none_id && candidate.attributes.empty(), nullptr};
  if (const auto* o = find_same(candidate, offered)) return {true, o};
  return {};
}

// First of our candidates (in our order) that the offer allows; `hint` first if both allow it.
pick choose(const std::vector<wire::transform>& ours, const std::vector<const wire::transform*>& offered,
            std::uint16_t none_id, std::uint16_t hint = 0) {
  if (hint != 0) {
    for (const auto& c : ours)
      if (c.id == hint)
        if (auto p = match_in(c, offered, none_id); p.ok) return p;
  }
  for (const auto& c : ours)
    if (auto p = match_in(c, offered, none_id); p.ok) return p;
  return {};
}

// Our transforms of a type as candidates; a missing optional type stands for NONE.
std::vector<wire::transform> candidates(const wire::proposal& p, transform_type t, bool none_if_missing,
                                        std::uint16_t none_id, bool drop_none) {
  std::vector<wire::transform> out;
  for (const auto& x : p.transforms)
    if (x.type == t && !(drop_none && x.id == none_id)) out.push_back(x);
  if (out.empty() && none_if_missing) {
    wire::transform none;
    none.type = t;
    none.id = none_id;
    out.push_back(none);
  }
  return out;
}

std::optional<wire::proposal> match(const wire::proposal& ours, const wire::proposal& offer,
                                    wire::protocol_id protocol, std::uint16_t ke_hint) {
  const bool ike = protocol == wire::protocol_id::ike;

  pick prf;
  if (ike) {
    prf = choose(candidates(ours, transform_type::prf, false, 0, false), of_type(offer, transform_type::prf), 0);
    if (!prf.ok || prf.t == nullptr) return std::nullopt;
  }
  // IKE needs a real group; for a Child SA a missing KE type means "no PFS".
  const pick ke = choose(candidates(ours, transform_type::ke, !ike, wire::ke::none, ike),
                         of_type(offer, transform_type::ke), wire::ke::none, ke_hint);
  if (!ke.ok || (ike && (ke.t == nullptr || ke.t->id == wire::ke::none))) return std::nullopt;
  pick esn;
  if (!ike) {
    esn = choose(candidates(ours, transform_type::esn, true, wire::esn::no, false),
                 of_type(offer, transform_type::esn), wire::esn::no);
    if (!esn.ok) return std::nullopt;
  }

  const auto offered_encr = of_type(offer, transform_type::encr);
  const auto offered_integ = of_type(offer, transform_type::integ);
  for (const auto& e : ours.transforms) {
    if (e.type != transform_type::encr) continue;
    const wire::transform* encr = find_same(e, offered_encr);
    if (encr == nullptr) continue;
    // AEAD: integrity must be absent or NONE (RFC 5282 §8); otherwise one real integrity algorithm.
    const bool aead = is_aead(encr->id);
    pick chosen_integ;
    if (aead) {
      wire::transform none;
      none.type = transform_type::integ;
      chosen_integ = match_in(none, offered_integ, wire::integ::none);
    } else {
      chosen_integ = choose(candidates(ours, transform_type::integ, false, 0, true), offered_integ, 0);
      if (chosen_integ.ok && chosen_integ.t == nullptr) chosen_integ.ok = false;
    }
    if (!chosen_integ.ok) continue;

    wire::proposal out;
    out.number = offer.number;
    out.protocol = offer.protocol;
    out.spi = offer.spi;
    out.transforms.push_back(*encr);
    if (prf.t) out.transforms.push_back(*prf.t);
    if (chosen_integ.t) out.transforms.push_back(*chosen_integ.t);
    if (ke.t) out.transforms.push_back(*ke.t);
    if (esn.t) out.transforms.push_back(*esn.t);
    return out;
  }
  return std::nullopt;
}

bool acceptable_offer(const wire::proposal& p, wire::protocol_id protocol) {
  if (p.protocol != protocol || !spi_size_ok(p, protocol)) return false;
  return std::all_of(p.transforms.begin(), p.transforms.end(),
                     [&](const wire::transform& t) { return type_allowed(protocol, t.type); });
}

std::string name_of(const wire::transform& t) {
  wire::proposal one;
  one.transforms.push_back(t);
  return to_string(one);
}

}  // namespace

result<wire::proposal> select(const std::vector<wire::proposal>& offered,
                              const std::vector<wire::proposal>& local, wire::protocol_id protocol,
                              std::uint16_t ke_hint) {
  for (const auto& ours : local) {
    if (ours.protocol != protocol) continue;
    for (const auto& offer : offered) {
      if (!acceptable_offer(offer, protocol)) continue;
      if (auto chosen = match(ours, offer, protocol, ke_hint)) return std::move(*chosen);
    }
  }
  return make_error(errc::no_proposal_chosen, std::string("no acceptable ") + protocol_name(protocol) +
                                                  " proposal: offered " + to_string(offered) +
                                                  ", configured " + to_string(local));
}

result<wire::proposal> check_reply(const wire::proposal& reply, const std::vector<wire::proposal>& offered,
                                   wire::protocol_id protocol) {
  const std::string what = std::string("responder's ") + protocol_name(protocol) + " proposal #" +
                           std::to_string(reply.number) + " (" + to_string(reply) + ")";
  if (reply.protocol != protocol)
    return make_error(errc::invalid_syntax, what + " has protocol " + protocol_name(reply.protocol));
  const auto ours = std::find_if(offered.begin(), offered.end(), [&](const wire::proposal& p) {
    return p.number == reply.number && p.protocol == protocol;
  });
  if (ours == offered.end())
    return make_error(errc::no_proposal_chosen, what + ": we offered no proposal with that number");
  if (!spi_size_ok(reply, protocol) || (protocol == wire::protocol_id::ike && reply.spi.size() != ours->spi.size()))
    return make_error(errc::invalid_syntax, what + ": SPI of " + std::to_string(reply.spi.size()) + " octets");

  int count[6] = {};
  for (const auto& t : reply.transforms) {
    if (!type_allowed(protocol, t.type))
      return make_error(errc::invalid_syntax,
                        what + ": transform type " + std::to_string(static_cast<int>(t.type)) + " not allowed");
    if (find_same(t, of_type(*ours, t.type)) == nullptr)
      return make_error(errc::no_proposal_chosen, what + ": '" + name_of(t) + "' was not offered");
    ++count[static_cast<int>(t.type)];
  }
  auto n = [&](transform_type t) { return count[static_cast<int>(t)]; };
  auto offered_has = [&](transform_type t) { return !of_type(*ours, t).empty(); };
  auto fail = [&](const std::string& why) { return make_error(errc::invalid_syntax, what + ": " + why); };
  for (int t = 1; t <= 5; ++t)
    if (count[t] > 1)
      return fail("more than one transform of type " + std::to_string(t));

  if (offered_has(transform_type::encr) && n(transform_type::encr) != 1) return fail("no encryption algorithm");
  const auto encr = of_type(reply, transform_type::encr);
  const bool aead = !encr.empty() && is_aead(encr.front()->id);
  const auto integ = of_type(reply, transform_type::integ);
  if (aead) {
    if (!integ.empty() && integ.front()->id != wire::integ::none)
      return fail("integrity algorithm together with an AEAD cipher");
  } else if (integ.empty() || integ.front()->id == wire::integ::none) {
    return fail("no integrity algorithm");
  }
  if (protocol == wire::protocol_id::ike) {
    if (n(transform_type::prf) != 1) return fail("no PRF");
    const auto ke = of_type(reply, transform_type::ke);
    if (ke.empty() || ke.front()->id == wire::ke::none) return fail("no key exchange group");
  } else {
    // Leaving out a type is read as its NONE value, which is fine only if we offered that value.
    auto offered_id = [&](transform_type t, std::uint16_t id) {
      const auto ts = of_type(*ours, t);
      return std::any_of(ts.begin(), ts.end(), [&](const wire::transform* x) { return x->id == id; });
    };
    if (offered_has(transform_type::ke) && n(transform_type::ke) == 0 &&
        !offered_id(transform_type::ke, wire::ke::none))
      return fail("no KE transform although we require PFS");
    if (offered_has(transform_type::esn) && n(transform_type::esn) == 0 &&
        !offered_id(transform_type::esn, wire::esn::no))
      return fail("no ESN transform although we require ESN");
  }
  return reply;
}

algorithms algorithms_of(const wire::proposal& selected) {
  algorithms a;
  bool seen[6] = {};
  for (const auto& t : selected.transforms) {
    const int type = static_cast<int>(t.type);
    if (type < 1 || type > 5 || seen[type]) continue;
    seen[type] = true;
    switch (t.type) {
      case transform_type::encr:
        a.encr = t.id;
        a.encr_key_bits = t.key_length().value_or(t.id == wire::encr::chacha20_poly1305 ? 256 : 0);
        break;
      case transform_type::prf: a.prf = t.id; break;
      case transform_type::integ: a.integ = t.id; break;
      case transform_type::ke: a.ke = t.id; break;
      case transform_type::esn: a.esn = t.id; break;
    }
  }
  return a;
}

std::uint16_t preferred_ke_group(const std::vector<wire::proposal>& local) {
  for (const auto& p : local)
    for (const auto& t : p.transforms)
      if (t.type == transform_type::ke && t.id != wire::ke::none) return t.id;
  return 0;
}

bool accepts_ke_group(const std::vector<wire::proposal>& local, std::uint16_t group) {
  for (const auto& p : local)
    for (const auto& t : p.transforms)
      if (t.type == transform_type::ke && t.id == group) return true;
  return false;
}

std::vector<wire::proposal> with_ke_group_first(std::vector<wire::proposal> local, std::uint16_t group) {
  std::vector<wire::proposal> out;
  for (auto& p : local) {
    auto is_group = [&](const wire::transform& t) { return t.type == transform_type::ke && t.id == group; };
    const auto it = std::find_if(p.transforms.begin(), p.transforms.end(), is_group);
    if (it == p.transforms.end()) continue;
    // Move the group to the place of the first KE transform, keeping the others' order.
    const auto first_ke = std::find_if(p.transforms.begin(), p.transforms.end(),
                                       [](const wire::transform& t) { return t.type == transform_type::ke; });
    std::rotate(first_ke, it, it + 1);
    out.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < out.size() && i < 255; ++i) out[i].number = static_cast<std::uint8_t>(i + 1);
  return out;
}

}  // namespace aike::proposal
