// write_ike_pcap OUT.pcap KEYS.txt: runs IKE_SA_INIT, IKE_AUTH (PSK, one CHILD_SA) and an
// INFORMATIONAL DELETE between two engines for several IKE suites, and writes
//   OUT.pcap  every datagram as a classic pcap (Ethernet/IPv4/UDP, 10.0.0.1 <-> 10.0.0.2:500)
//   KEYS.txt  Wireshark's "ikev2_decryption_table" UAT records (SPIs, SK_e*, SK_a*, algorithms)
// so tests/scripts/tshark_wire_check.sh can have tshark, an IKEv2 dissector nobody here wrote,
// read and decrypt what the engine puts on the wire.
//
// Only suites whose ciphers Wireshark 4.0 can decrypt are used (it has AES-CBC and AES-GCM, but no
// ChaCha20-Poly1305, in its IKEv2 table).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/proposal/parser.hpp"
#include "engine/proposal/selection.hpp"
#include "engine/sa/in_memory_pair.hpp"
#include "engine/wire/constants.hpp"

namespace {

using namespace aike;

constexpr const char* suites[] = {"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048",
                                  "aes256-sha384-ecp384"};

// --- pcap framing (libpcap classic format, LINKTYPE_ETHERNET) ---

void put16be(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void put_le(bytes& b, std::uint32_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint16_t ipv4_header_checksum(const std::uint8_t* h, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

class pcap_writer {
 public:
  pcap_writer() {
    put_le(out_, 0xa1b2c3d4, 4);  // magic: microsecond timestamps, written little-endian
    put_le(out_, 2, 2);           // version 2.4
    put_le(out_, 4, 2);
    put_le(out_, 0, 4);  // thiszone
    put_le(out_, 0, 4);  // sigfigs
    put_le(out_, 65535, 4);
    put_le(out_, 1, 4);  // LINKTYPE_ETHERNET
  }

  // One IPv4/UDP datagram. Port 4500 carries the 4-octet non-ESP marker first (RFC 3948).
  void add(const sa::send_datagram& d) {
    bytes udp_payload;
    if (d.local.port == 4500 || d.remote.port == 4500) udp_payload.assign(4, 0);
    udp_payload.insert(udp_payload.end(), d.data.begin(), d.data.end());

    bytes frame;
    const std::uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, d.remote.addr.octets[3]};
    const std::uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, d.local.addr.octets[3]};
    frame.insert(frame.end(), dst_mac, dst_mac + 6);
    frame.insert(frame.end(), src_mac, src_mac + 6);
    put16be(frame, 0x0800);

    const std::size_t ip_at = frame.size();
    const auto udp_len = static_cast<std::uint16_t>(8 + udp_payload.size());
    frame.push_back(0x45);  // IPv4, 20-octet header
    frame.push_back(0);
    put16be(frame, static_cast<std::uint16_t>(20 + udp_len));
    put16be(frame, ip_id_++);
    put16be(frame, 0x4000);  // DF
    frame.push_back(64);     // TTL
    frame.push_back(17);     // UDP
    put16be(frame, 0);       // checksum, filled below
    frame.insert(frame.end(), d.local.addr.octets.begin(), d.local.addr.octets.begin() + 4);
    frame.insert(frame.end(), d.remote.addr.octets.begin(), d.remote.addr.octets.begin() + 4);
    const std::uint16_t sum = ipv4_header_checksum(frame.data() + ip_at, 20);
    frame[ip_at + 10] = static_cast<std::uint8_t>(sum >> 8);
    frame[ip_at + 11] = static_cast<std::uint8_t>(sum);

    put16be(frame, d.local.port);
    put16be(frame, d.remote.port);
    put16be(frame, udp_len);
    put16be(frame, 0);  // no UDP checksum (allowed for IPv4, RFC 768)
    frame.insert(frame.end(), udp_payload.begin(), udp_payload.end());

    put_le(out_, 1700000000 + packets_ / 1000, 4);
    put_le(out_, (packets_ % 1000) * 1000, 4);
    put_le(out_, static_cast<std::uint32_t>(frame.size()), 4);
    put_le(out_, static_cast<std::uint32_t>(frame.size()), 4);
    out_.insert(out_.end(), frame.begin(), frame.end());
    ++packets_;
  }

  const bytes& data() const { return out_; }
  std::uint32_t packets() const { return packets_; }

 private:
  bytes out_;
  std::uint32_t packets_ = 0;
  std::uint16_t ip_id_ = 1;
};

// --- Wireshark's IKEv2 decryption table ---

std::string hex(bytes_view b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

std::string hex64(std::uint64_t v) {
  bytes b;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return hex(b);
}

// The names are the entries of Wireshark's own enums for the UAT (packet-isakmp.c); it rejects
// the whole record when one is unknown, so an unsupported algorithm fails the check loudly.
std::string wireshark_encr_name(std::uint16_t encr, std::uint16_t bits) {
  const std::string size = std::to_string(bits);
  if (encr == wire::encr::aes_cbc) return "AES-CBC-" + size + " [RFC3602]";
  if (encr == wire::encr::aes_gcm_8) return "AES-GCM-" + size + " with 8 octet ICV [RFC5282]";
  if (encr == wire::encr::aes_gcm_12) return "AES-GCM-" + size + " with 12 octet ICV [RFC5282]";
  if (encr == wire::encr::aes_gcm_16) return "AES-GCM-" + size + " with 16 octet ICV [RFC5282]";
  return "unsupported encryption " + std::to_string(encr);
}

std::string wireshark_integ_name(std::uint16_t integ) {
  switch (integ) {
    case wire::integ::none: return "NONE [RFC4306]";
    case wire::integ::hmac_sha1_96: return "HMAC_SHA1_96 [RFC2404]";
    case wire::integ::hmac_sha2_256_128: return "HMAC_SHA2_256_128 [RFC4868]";
    case wire::integ::hmac_sha2_384_192: return "HMAC_SHA2_384_192 [RFC4868]";
    case wire::integ::hmac_sha2_512_256: return "HMAC_SHA2_512_256 [RFC4868]";
    default: return "unsupported integrity " + std::to_string(integ);
  }
}

// One UAT line. Byte fields are bare hex (a quoted field would be read as literal characters);
// the two algorithm fields are quoted enum names.
std::string uat_record(const sa::ike_sa& sa) {
  const auto& k = sa.keys_for_debugging();
  const auto alg = proposal::algorithms_of(sa.selected_ike_proposal());
  auto q = [](const std::string& s) { return "\"" + s + "\""; };
  return hex64(sa.spi_i()) + "," + hex64(sa.spi_r()) + "," + hex(k.sk_ei) + "," + hex(k.sk_er) + "," +
         q(wireshark_encr_name(alg.encr, alg.encr_key_bits)) + "," + hex(k.sk_ai) + "," + hex(k.sk_ar) + "," +
         q(wireshark_integ_name(alg.integ)) + "\n";
}

// --- the exchanges ---

std::shared_ptr<sa::connection> make_conn(const char* suite, const char* me, const char* peer, const char* local_ts,
                                          const char* remote_ts) {
  auto c = std::make_shared<sa::connection>();
  c->name = "pcap";
  c->ike_proposals = *proposal::parse_ike_proposals({suite});
  c->local.id = *auth::identity::parse(me);
  c->remote.id = *auth::identity::parse(peer);
  c->secrets.push_back({{}, to_bytes("a pre-shared key for the tshark wire check")});
  sa::child_config ch;
  ch.name = "net";
  ch.local_ts = {*ts::selector::parse(local_ts)};
  ch.remote_ts = {*ts::selector::parse(remote_ts)};
  ch.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16", "aes128-sha256"});
  c->children.push_back(ch);
  return c;
}

bool run_suite(const char* suite, pcap_writer& pcap, std::string& keys) {
  auto a = make_conn(suite, "moon.example", "sun.example", "10.1.0.0/24", "10.2.0.0/24");
  auto b = make_conn(suite, "sun.example", "moon.example", "10.2.0.0/24", "10.1.0.0/24");
  sa::in_memory_pair pair(a, b);
  pair.on_wire = [&](const sa::send_datagram& d, bool) { pcap.add(d); };
  const auto before = pcap.packets();
  pair.start();
  pair.run();
  if (pair.initiator->state() != sa::ike_state::established || !pair.responder ||
      pair.responder->state() != sa::ike_state::established || pair.installed_a.size() != 1) {
    std::fprintf(stderr, "write_ike_pcap: %s: handshake failed: %s / %s\n", suite, pair.closed_a.c_str(),
                 pair.closed_b.c_str());
    for (const auto& l : pair.logs) std::fprintf(stderr, "  %s\n", l.c_str());
    return false;
  }
  keys += uat_record(*pair.initiator);  // the responder's keys are the same; checked below
  if (pair.initiator->keys_for_debugging().sk_ei != pair.responder->keys_for_debugging().sk_ei) {
    std::fprintf(stderr, "write_ike_pcap: %s: the two sides derived different SK_ei\n", suite);
    return false;
  }
  pair.initiator->request_delete();
  pair.collect_a();
  pair.run();
  if (pair.initiator->state() != sa::ike_state::closed || pair.responder->state() != sa::ike_state::closed) {
    std::fprintf(stderr, "write_ike_pcap: %s: DELETE did not close both SAs\n", suite);
    return false;
  }
  std::printf("%s: SPIi %s SPIr %s, %u datagrams\n", suite, hex64(pair.initiator->spi_i()).c_str(),
              hex64(pair.initiator->spi_r()).c_str(), pcap.packets() - before);
  return true;
}

bool write_file(const std::string& path, const void* data, std::size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: write_ike_pcap OUT.pcap KEYS.txt\n");
    return 2;
  }
  pcap_writer pcap;
  std::string keys;
  for (const char* s : suites)
    if (!run_suite(s, pcap, keys)) return 1;
  if (!write_file(argv[1], pcap.data().data(), pcap.data().size()) || !write_file(argv[2], keys.data(), keys.size())) {
    std::fprintf(stderr, "write_ike_pcap: cannot write %s or %s\n", argv[1], argv[2]);
    return 1;
  }
  return 0;
}
