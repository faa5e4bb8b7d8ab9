#!/usr/bin/env bash
# aikectl import-swanctl on a real configuration: the responder swanctl.conf that
# interop_psk.sh gives charon is converted to aiked.toml, aiked runs it in charon's place
# (namespace B), charon initiates from namespace A with the mirrored config, and both sides must
# show the same established SA with the same traffic selectors.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
command -v swanctl >/dev/null && [ -x /usr/lib/ipsec/charon ] || { echo "SKIP: strongSwan not installed"; exit 77; }
ns_setup import
A=$WORK/a
B=$WORK/b

# --- the responder swanctl.conf of interop_psk.sh, as charon gets it there ---
cat >"$B/swanctl.conf" <<'CONF'
connections {
  resp { local_addrs = 10.250.0.2
          remote_addrs = 10.250.0.1
          proposals = aes256gcm16-prfsha256-x25519,aes128-sha256-modp2048,aes256-sha384-ecp384,chacha20poly1305-prfsha512-curve448
          local { auth = psk
                  id = b.test }
          remote { auth = psk
                   id = a.test }
          children { net { local_ts = 10.2.0.0/24
                           remote_ts = 10.1.0.0/24,10.1.1.0/24
                           esp_proposals = aes256gcm16,aes128-sha256 } } }
}
secrets { ike-1 { secret = interop-psk-secret } }
CONF

"$AIKECTL" import-swanctl "$B/swanctl.conf" -o "$B/imported.toml" 2>"$B/import.err"
rc=$?
[ "$rc" = 0 ] || fail "import-swanctl exited with $rc: $(cat "$B/import.err")"
[ ! -s "$B/import.err" ] || fail "import-swanctl reported items for a fully convertible file: $(cat "$B/import.err")"
grep -q "converted from $B/swanctl.conf" "$B/imported.toml" || fail "no comment naming the source file"
[ "$(stat -c %a "$B/imported.toml")" = 600 ] || fail "the output (with the PSK) is not mode 0600"

# The converted file plus the [daemon] table of this test (the import writes none).
{
  cat "$B/imported.toml"
  echo
  aiked_peer_daemon "$B" 10.250.0.2 '{ default = "info", ike = "debug" }'
} >"$B/aiked.toml"
aiked_start "$NS_B" "$B"

# --- charon (A): the mirrored initiator ---
cat >"$A/swanctl.conf" <<'CONF'
connections {
  init { local_addrs = 10.250.0.1
         remote_addrs = 10.250.0.2
         proposals = aes128-sha256-modp2048
         local { auth = psk
                 id = a.test }
         remote { auth = psk
                  id = b.test }
         children { cnet { local_ts = 10.1.0.0/24,10.1.1.0/24
                           remote_ts = 10.2.0.0/24
                           esp_proposals = aes128-sha256 } } }
}
secrets { ike-1 { secret = interop-psk-secret } }
CONF
charon_start "$NS_A" "$A"

swanctl_in "$A" --initiate --child cnet --timeout 10 >"$A/initiate.log" 2>&1 ||
  fail "charon -> aiked with the imported config: $(tail -5 "$A/initiate.log")"

# Same SPIs, states and proposal on both sides (expect_same_sas takes aiked's side first).
expect_same_sas "$NS_B" "$B" "$A" resp aes128-sha256-prfsha256-modp2048 init
sas=$(aikectl_in "$NS_B" "$B" list-sas --ike resp --json) || fail "list-sas failed"
lts=$(jq -r '.[0].children[0].local_ts | join(" ")' <<<"$sas")
rts=$(jq -r '.[0].children[0].remote_ts | join(" ")' <<<"$sas")
[ "$lts" = "10.2.0.0/24" ] || fail "aiked local_ts '$lts'"
[ "$rts" = "10.1.0.0/24 10.1.1.0/24" ] || fail "aiked remote_ts '$rts'"
raw=$(swanctl_in "$A" --list-sas --ike init --raw 2>&1)
grep -q "local-ts=\[10.1.0.0/24 10.1.1.0/24\]" <<<"$raw" || fail "charon's local traffic selectors differ: $raw"
grep -q "remote-ts=\[10.2.0.0/24\]" <<<"$raw" || fail "charon's remote traffic selectors differ: $raw"
echo "ok: charon -> aiked running the imported swanctl.conf, same SA and selectors on both sides"

# --- what cannot be carried over is reported, and the rest still loads ---
cat >"$B/partial.conf" <<'CONF'
connections {
  rw { pools = vpool
       local { auth = psk
               id = b.test }
       remote { auth = psk }
       children { c { ah_proposals = sha256 } } }
}
CONF
"$AIKECTL" import-swanctl "$B/partial.conf" -o "$B/partial.toml" 2>"$B/partial.err"
rc=$?
[ "$rc" = 1 ] || fail "import-swanctl of a partly convertible file exited with $rc"
grep -q "^$B/partial.conf:2: connections.rw.pools: " "$B/partial.err" || fail "pools not reported: $(cat "$B/partial.err")"
grep -q "^$B/partial.conf:6: connections.rw.children.c.ah_proposals: " "$B/partial.err" ||
  fail "ah_proposals not reported: $(cat "$B/partial.err")"
[ -s "$B/partial.toml" ] || fail "no TOML written for a partly convertible file"

printf 'connections {\n  rw {\n' >"$B/broken.conf"
"$AIKECTL" import-swanctl "$B/broken.conf" -o "$B/broken.toml" 2>"$B/broken.err"
rc=$?
[ "$rc" = 2 ] || fail "import-swanctl of a file with a syntax error exited with $rc"
grep -q "^$B/broken.conf:3: section 'rw' opened at line 2 is not closed" "$B/broken.err" ||
  fail "unexpected parse error message: $(cat "$B/broken.err")"
"$AIKECTL" import-swanctl "$B/missing.conf" -o "$B/missing.toml" 2>"$B/missing.err"
rc=$?
[ "$rc" = 2 ] || fail "import-swanctl of a missing file exited with $rc"
grep -q "cannot read '$B/missing.conf'" "$B/missing.err" || fail "unexpected message: $(cat "$B/missing.err")"
[ ! -e "$B/missing.toml" ] || fail "a TOML was written for a missing input"
echo "ok: unsupported items reported (exit 1), syntax errors and unreadable input exit 2"

aiked_stop "$B"
echo "import_swanctl: all passed"
