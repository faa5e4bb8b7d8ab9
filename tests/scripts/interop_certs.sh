#!/usr/bin/env bash
# Interop with strongSwan's charon, public-key authentication (RFC 7427 signatures):
# certificates with ECDSA P-256, Ed25519 and RSA (PSS) keys from one test CA, and raw public
# keys (Ed25519), each initiated by aiked and by charon.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup certs

KINDS=(ecdsa ed25519 rsa)
A=$WORK/a
B=$WORK/b
mkdir -p "$B/x509" "$B/x509ca" "$B/private" "$B/pubkey" "$WORK/pki"
P=$WORK/pki

genkey() {  # genkey KIND FILE
  case $1 in
    ecdsa) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
  esac
}

genkey ecdsa "$P/ca.key"
openssl req -x509 -new -key "$P/ca.key" -subj "/C=CH/O=aike interop/CN=aike interop CA" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/ca.crt" 2>/dev/null ||
  fail "cannot make the test CA"
cert() {  # cert KIND NAME: key + certificate for NAME.test signed by the CA
  genkey "$1" "$P/$2.key"
  openssl req -new -key "$P/$2.key" -subj "/C=CH/O=aike interop/CN=$2.test" -out "$P/$2.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s.test\nkeyUsage=critical,digitalSignature\n' "$2" >"$P/$2.ext"
  openssl x509 -req -in "$P/$2.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 1 \
    -extfile "$P/$2.ext" -out "$P/$2.crt" 2>/dev/null || fail "cannot sign the certificate of $2"
}
for k in "${KINDS[@]}"; do
  cert "$k" "a-$k"
  cert "$k" "b-$k"
  cp "$P/b-$k.crt" "$B/x509/"
  cp "$P/b-$k.key" "$B/private/"
done
cp "$P/ca.crt" "$B/x509ca/"
genkey ed25519 "$P/a-raw.key"
genkey ed25519 "$P/b-raw.key"
openssl pkey -in "$P/a-raw.key" -pubout -out "$P/a-raw.pub" 2>/dev/null
openssl pkey -in "$P/b-raw.key" -pubout -out "$P/b-raw.pub" 2>/dev/null
cp "$P/b-raw.key" "$B/private/"
cp "$P/a-raw.pub" "$P/b-raw.pub" "$B/pubkey/"

# --- charon (B): a responder and an initiator connection per kind ---
{
  echo "connections {"
  for k in "${KINDS[@]}" raw; do
    if [ "$k" = raw ]; then
      lauth="auth = pubkey
                pubkeys = b-raw.pub
                id = b-raw.test"
      rauth="auth = pubkey
                 pubkeys = a-raw.pub
                 id = a-raw.test"
    else
      lauth="auth = pubkey
                certs = b-$k.crt
                id = b-$k.test"
      rauth="auth = pubkey
                 id = a-$k.test"
    fi
    for role in resp init; do
      echo "  $role-$k { local_addrs = 10.250.0.2
          remote_addrs = 10.250.0.1
          proposals = aes256gcm16-prfsha256-x25519
          local { $lauth }
          remote { $rauth }
          children { $role-net-$k { local_ts = 10.2.0.0/24
                                    remote_ts = 10.1.0.0/24
                                    esp_proposals = aes256gcm16 } } }"
    done
  done
  echo "}"
} >"$B/swanctl.conf"
charon_start "$NS_B" "$B"

# --- aiked (A) ---
{
  aiked_daemon_section "$A"
  for k in "${KINDS[@]}" raw; do
    if [ "$k" = raw ]; then
      local_creds="pubkeys = [\"$P/a-raw.pub\"]
private_key = \"$P/a-raw.key\""
      remote_creds="pubkeys = [\"$P/b-raw.pub\"]"
    else
      local_creds="certs = [\"$P/a-$k.crt\"]
private_key = \"$P/a-$k.key\""
      remote_creds="cacerts = [\"$P/ca.crt\"]"
    fi
    cat <<CONF
[connections.c-$k]
local_addrs = ["10.250.0.1"]
remote_addrs = ["10.250.0.2"]
proposals = ["aes256gcm16-prfsha256-x25519"]
unique = "never"
[connections.c-$k.local]
auth = "pubkey"
id = "a-$k.test"
$local_creds
[connections.c-$k.remote]
auth = "pubkey"
id = "b-$k.test"
$remote_creds
[connections.c-$k.children.net-$k]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
esp_proposals = ["aes256gcm16"]
CONF
  done
} >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

for k in "${KINDS[@]}" raw; do
  out=$(aikectl_in "$NS_A" "$A" initiate --child "net-$k" --timeout 10) || fail "aiked -> charon ($k): $out"
  expect_same_sas "$NS_A" "$A" "$B" "c-$k" "aes256gcm16-prfsha256-x25519" "resp-$k"
  echo "ok: aiked -> charon, $k"
  swanctl_in "$B" --initiate --child "init-net-$k" --timeout 10 >"$B/initiate-$k.log" 2>&1 ||
    fail "charon -> aiked ($k): $(tail -5 "$B/initiate-$k.log")"
  expect_same_sas "$NS_A" "$A" "$B" "c-$k" "aes256gcm16-prfsha256-x25519" "init-$k"
  echo "ok: charon -> aiked, $k"
done
# charon logged which signature scheme it verified; RSA must have been PSS (RFC 7427).
grep -q "RSA_EMSA_PSS" "$B/charon.log" || fail "charon did not see an RSASSA-PSS signature from aiked"
aiked_stop "$A"
echo "interop_certs: all passed"
