#!/usr/bin/env bash
# Interop with strongSwan's charon over a path that does not pass IP fragments: IKE_AUTH with a
# three-certificate chain (root CA -> intermediate -> end entity, RSA 3072) on both sides is far
# larger than the 1280-octet MTU, so it only gets through as IKE fragments (RFC 7383).
#  1. aiked with fragmentation = "no" cannot bring the SA up (the path really drops it);
#  2. aiked -> charon and charon -> aiked with fragmentation on both sides succeed, and both
#     logs show that fragments were sent.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
command -v nft >/dev/null || { echo "SKIP: nft (Debian package nftables) is missing"; exit 77; }
ns_setup frag

# --- the path: MTU 1280 both ways, and every IP fragment dropped on arrival (netdev ingress
# sees the fragments before any reassembly) ---
for n in "$NS_A" "$NS_B"; do
  ip -n "$n" link set veth0 mtu 1280
  ip netns exec "$n" nft -f - <<'NFT' || fail "cannot install the nftables rule that drops IP fragments"
table netdev aike_frag {
  chain in {
    type filter hook ingress device "veth0" priority -500; policy accept;
    ip frag-off & 0x3fff != 0 counter drop
  }
}
NFT
done
dropped_fragments() {  # dropped_fragments NS: packets the rule dropped so far
  ip netns exec "$1" nft list chain netdev aike_frag in | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# --- the PKI ---
A=$WORK/a
B=$WORK/b
P=$WORK/pki
mkdir -p "$B/x509" "$B/x509ca" "$B/private" "$P"
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" 2>/dev/null || fail "cannot make $1"; }
rsa "$P/root.key"
openssl req -x509 -new -key "$P/root.key" -subj "/C=CH/O=aike interop/CN=aike fragments root CA" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$P/root.crt" 2>/dev/null || fail "cannot make the root CA"
sign() {  # sign NAME ISSUER EXTFILE-TEXT: NAME.key/.crt, issued by ISSUER
  rsa "$P/$1.key"
  openssl req -new -key "$P/$1.key" -subj "/C=CH/O=aike interop/CN=$1" -out "$P/$1.csr" 2>/dev/null
  printf '%b' "$3" >"$P/$1.ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -CAcreateserial -days 1 \
    -extfile "$P/$1.ext" -out "$P/$1.crt" 2>/dev/null || fail "cannot sign the certificate of $1"
}
sign intermediate root 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
sign a.test intermediate 'subjectAltName=DNS:a.test\nkeyUsage=critical,digitalSignature\n'
sign b.test intermediate 'subjectAltName=DNS:b.test\nkeyUsage=critical,digitalSignature\n'
cp "$P/b.test.crt" "$B/x509/"
cp "$P/b.test.key" "$B/private/"
cp "$P/root.crt" "$P/intermediate.crt" "$B/x509ca/"

# --- charon (B): fragmentation = yes, fragment_size 1280 (its default) ---
{
  echo "connections {"
  for role in resp init; do
    echo "  $role { local_addrs = 10.250.0.2
          remote_addrs = 10.250.0.1
          proposals = aes256gcm16-prfsha256-x25519
          fragmentation = yes
          local { auth = pubkey
                  certs = b.test.crt
                  id = b.test }
          remote { auth = pubkey
                   id = a.test }
          children { $role-net { local_ts = 10.2.0.0/24
                                 remote_ts = 10.1.0.0/24
                                 esp_proposals = aes256gcm16 } } }"
  done
  echo "}"
} >"$B/swanctl.conf"
charon_start "$NS_B" "$B"

# --- aiked (A): one connection that may fragment, one that must not. As responder aiked answers
# IKE_SA_INIT with the first connection whose addresses match (the identity picks the connection
# only in IKE_AUTH), so "frag" comes first: its IKEV2_FRAGMENTATION_SUPPORTED answers charon. ---
{
  aiked_daemon_section "$A"
  for c in frag nofrag; do
    cat <<CONF
[connections.$c]
local_addrs = ["10.250.0.1"]
remote_addrs = ["10.250.0.2"]
proposals = ["aes256gcm16-prfsha256-x25519"]
unique = "never"
fragmentation = $([ $c = frag ] && echo '"yes"' || echo '"no"')
fragment_size = 1280
[connections.$c.local]
auth = "pubkey"
id = "a.test"
certs = ["$P/a.test.crt", "$P/intermediate.crt"]
private_key = "$P/a.test.key"
[connections.$c.remote]
auth = "pubkey"
id = "b.test"
cacerts = ["$P/root.crt"]
[connections.$c.children.net-$c]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
esp_proposals = ["aes256gcm16"]
CONF
  done
} >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

# 1. Without IKE fragmentation the IKE_AUTH request does not get through this path.
out=$(aikectl_in "$NS_A" "$A" initiate --child net-nofrag --timeout 8 2>&1) &&
  fail "IKE_AUTH without fragmentation got through a path that drops IP fragments: $out"
drops_b=$(dropped_fragments "$NS_B")
echo "ok: without fragmentation IKE_AUTH fails ($drops_b IP fragments dropped at charon's side)"
[ "${drops_b:-0}" -gt 0 ] || fail "no IP fragment was dropped: the unfragmented IKE_AUTH failed for another reason"
aikectl_in "$NS_A" "$A" terminate --ike nofrag >/dev/null 2>&1

# 2. aiked initiates, with fragmentation.
out=$(aikectl_in "$NS_A" "$A" initiate --child net-frag --timeout 15) || fail "aiked -> charon: $out"
expect_same_sas "$NS_A" "$A" "$B" "frag" "aes256gcm16-prfsha256-x25519" "resp"
echo "ok: aiked -> charon with IKE fragments"

# 3. charon initiates.
swanctl_in "$B" --initiate --child "init-net" --timeout 15 >"$B/initiate.log" 2>&1 ||
  fail "charon -> aiked: $(tail -5 "$B/initiate.log")"
expect_same_sas "$NS_A" "$A" "$B" "frag" "aes256gcm16-prfsha256-x25519" "init"
echo "ok: charon -> aiked with IKE fragments"

# Both sides fragmented: aiked's request (as initiator) and response (as responder), charon's
# likewise; charon reassembled aiked's fragments.
grep -q "sending IKE_AUTH request of .* as [0-9]* fragments" "$A/aiked.log" || fail "aiked sent no fragmented IKE_AUTH request"
grep -q "sending IKE_AUTH response of .* as [0-9]* fragments" "$A/aiked.log" || fail "aiked sent no fragmented IKE_AUTH response"
grep -qi "splitting IKE message" "$B/charon.log" || fail "charon logged no fragmented message"
grep -qi "reassembled fragmented IKE message" "$B/charon.log" || fail "charon logged no reassembled message"
grep -o "sending IKE_AUTH [a-z]* of [0-9]* octets as [0-9]* fragments of at most [0-9]* octets" "$A/aiked.log" | sort -u
grep -io "splitting IKE message ([0-9]* bytes) into [0-9]* fragments" "$B/charon.log" | sort -u
aiked_stop "$A"
echo "interop_fragments: all passed"
