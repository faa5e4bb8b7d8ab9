#!/usr/bin/env bash
# Additional CHILD_SAs on one IKE SA with strongSwan's charon (RFC 7296 §1.3.1): aiked creates a
# second CHILD_SA (with PFS) on the IKE SA it set up, and charon lists both under one IKE SA;
# a child whose selectors charon does not accept fails with TS_UNACCEPTABLE and the IKE SA stays;
# charon creates a third CHILD_SA on the same IKE SA (`swanctl --initiate --child back`), and a
# child of charon's that aiked has no selectors for is refused by aiked with TS_UNACCEPTABLE;
# INVALID_KE_PAYLOAD from charon makes aiked retry once with the group charon names.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup ichild
export CHARON_REUSE_IKESA=yes
# charon's kernel-libipsec routes a CHILD_SA's traffic from a local address inside its selectors.
for n in 1 2 3 6; do ip -n "$NS_B" addr add "10.2.$n.1/32" dev lo; done

# --- charon (B) ---
cat >"$WORK/b/swanctl.conf" <<'CONF'
connections {
  site {
    local_addrs = 10.250.0.2
    remote_addrs = 10.250.0.1
    proposals = aes256gcm16-prfsha256-x25519
    local { auth = psk
            id = b.test }
    remote { auth = psk
             id = a.test }
    children {
      net { local_ts = 10.2.0.0/24
            remote_ts = 10.1.0.0/24
            esp_proposals = aes256gcm16 }
      second { local_ts = 10.2.1.0/24
               remote_ts = 10.1.1.0/24
               esp_proposals = aes256gcm16-x25519 }
      back { local_ts = 10.2.2.0/24
             remote_ts = 10.1.2.0/24
             esp_proposals = aes256gcm16 }
      third { local_ts = 10.2.3.0/24
              remote_ts = 10.1.3.0/24
              esp_proposals = aes256gcm16-ecp256 }
      bstray { local_ts = 10.2.6.0/24
               remote_ts = 10.1.6.0/24
               esp_proposals = aes256gcm16 }
    }
  }
}
secrets { ike-1 { secret = interop-child-secret } }
CONF
charon_start "$NS_B" "$WORK/b"

# --- aiked (A) ---
{
  aiked_daemon_section "$WORK/a"
  aiked_psk_secret interop-child-secret
  aiked_psk_conn site 10.250.0.1 10.250.0.2 a.test b.test
  aiked_child site net 10.1.0.0/24 10.2.0.0/24
  aiked_child site second 10.1.1.0/24 10.2.1.0/24 aes256gcm16-x25519
  aiked_child site back 10.1.2.0/24 10.2.2.0/24
  aiked_child site third 10.1.3.0/24 10.2.3.0/24 aes256gcm16-x25519-ecp256
  aiked_child site stray 10.1.5.0/24 10.2.5.0/24
} >"$WORK/a/aiked.toml"
aiked_start "$NS_A" "$WORK/a"
ctl_a() { aikectl_in "$NS_A" "$WORK/a" "$@"; }
# charon's IKE SAs, and the names of its INSTALLED CHILD_SAs (sorted), from swanctl --list-sas
charon_ike_count() { swanctl_in "$WORK/b" --list-sas 2>/dev/null | grep -c '^site: #'; }
charon_children() {
  swanctl_in "$WORK/b" --list-sas 2>/dev/null | sed -n 's/^  \([a-z]*\): #[0-9]*, reqid [0-9]*, INSTALLED.*/\1/p' | sort | paste -sd,
}
aiked_children() { ctl_a list-sas --json | jq -r 'if length == 1 then [.[0].children[] | select(.state == "INSTALLED") | .name] | sort | join(",") else "IKE SAs: \(length)" end'; }
# is CMD... -- WANT: CMD prints WANT (for wait_until)
is() {
  local want=${*: -1}
  [ "$("${@:1:$#-2}")" = "$want" ]
}
# expect_same_child NAME: aiked's and charon's halves of CHILD_SA NAME have crossed SPIs.
expect_same_child() {
  local c cin cout raw
  c=$(ctl_a list-sas --json | jq -c ".[0].children[] | select(.name == \"$1\")")
  cin=$(jq -r .spi_in <<<"$c")
  cout=$(jq -r .spi_out <<<"$c")
  raw=$(swanctl_in "$WORK/b" --list-sas --raw 2>&1)
  grep -q "name=$1 .*spi-in=$cout spi-out=$cin" <<<"$raw" ||
    fail "charon's $1 does not have aiked's SPIs reversed ($cin/$cout): $raw"
}

# --- aiked: the first child makes the IKE SA, the second goes on it
out=$(ctl_a initiate --child net --timeout 10 2>&1) || fail "initiate --child net: $out"
expect_same_sas "$NS_A" "$WORK/a" "$WORK/b" site aes256gcm16-prfsha256-x25519 site
out=$(ctl_a initiate --child second --timeout 10 2>&1) || fail "initiate --child second: $out"
echo "$out" | grep -qx "established 1 / 1" || fail "initiate --child second: $out"
[ "$(aiked_children)" = net,second ] || fail "aiked: want net and second under one IKE SA: $(aiked_children)"
[ "$(charon_ike_count)" -eq 1 ] || fail "charon lists $(charon_ike_count) IKE SAs, want 1: $(swanctl_in "$WORK/b" --list-sas)"
[ "$(charon_children)" = net,second ] || fail "charon: want net and second: $(swanctl_in "$WORK/b" --list-sas)"
expect_same_child second
swanctl_in "$WORK/b" --list-sas | grep -A3 '^  second:' | grep -q 'AES_GCM_16-256/CURVE_25519' ||
  fail "charon's second CHILD_SA is not keyed with PFS x25519: $(swanctl_in "$WORK/b" --list-sas)"
echo "ok: aiked -> charon: second CHILD_SA (PFS x25519) on the existing IKE SA; charon lists both under one IKE SA"

# --- aiked: a child charon has no selectors for
out=$(ctl_a initiate --child stray --timeout 10 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "initiate --child stray succeeded: $out"
echo "$out" | grep -q "stray: peer answered TS_UNACCEPTABLE" || fail "initiate --child stray: $out"
[ "$(aiked_children)" = net,second ] || fail "aiked after TS_UNACCEPTABLE: $(aiked_children)"
[ "$(charon_ike_count)" -eq 1 ] && [ "$(charon_children)" = net,second ] ||
  fail "charon after TS_UNACCEPTABLE: $(swanctl_in "$WORK/b" --list-sas)"
echo "ok: aiked -> charon: a child charon does not accept failed with TS_UNACCEPTABLE; the IKE SA stays"

# --- aiked offers x25519 first for "third", charon wants ecp256: INVALID_KE_PAYLOAD, one retry
out=$(ctl_a initiate --child third --timeout 10 2>&1) || fail "initiate --child third: $out"
grep -q "peer asked for KE group 19 for CHILD_SA third, retrying" "$WORK/a/aiked.log" || fail "aiked did not retry third with group 19"
[ "$(charon_children)" = net,second,third ] || fail "charon after third: $(swanctl_in "$WORK/b" --list-sas)"
expect_same_child third
out=$(ctl_a terminate --child third --timeout 10 2>&1) || fail "terminate --child third: $out"
echo "ok: aiked -> charon: INVALID_KE_PAYLOAD for a new CHILD_SA retried with charon's group 19"

# --- charon creates a child on the same IKE SA
swanctl_in "$WORK/b" --initiate --child back --timeout 10 >"$WORK/b/back.log" 2>&1 ||
  fail "charon --initiate --child back: $(tail -5 "$WORK/b/back.log")"
[ "$(charon_ike_count)" -eq 1 ] || fail "charon made another IKE SA for back: $(swanctl_in "$WORK/b" --list-sas)"
[ "$(charon_children)" = back,net,second ] || fail "charon after back: $(swanctl_in "$WORK/b" --list-sas)"
wait_until 5 is aiked_children -- back,net,second ||
  fail "aiked after charon's back: $(aiked_children)"
expect_same_child back
echo "ok: charon -> aiked: CREATE_CHILD_SA for back on the same IKE SA"

# --- charon: a child aiked has no selectors for
swanctl_in "$WORK/b" --initiate --child bstray --timeout 10 >"$WORK/b/bstray.log" 2>&1 &&
  fail "charon's bstray came up: $(tail -5 "$WORK/b/bstray.log")"
grep -q "received TS_UNACCEPTABLE notify" "$WORK/b/bstray.log" || fail "charon did not get TS_UNACCEPTABLE for bstray: $(tail -5 "$WORK/b/bstray.log")"
grep -q "CHILD_SA not created (TS_UNACCEPTABLE)" "$WORK/a/aiked.log" || fail "aiked did not log its TS_UNACCEPTABLE"
[ "$(charon_ike_count)" -eq 1 ] && [ "$(charon_children)" = back,net,second ] ||
  fail "charon after bstray: $(swanctl_in "$WORK/b" --list-sas)"
[ "$(aiked_children)" = back,net,second ] || fail "aiked after bstray: $(aiked_children)"
echo "ok: charon -> aiked: a child aiked does not accept is refused with TS_UNACCEPTABLE; the IKE SA stays"

# --- the additional child is rekeyed and deleted from aiked's side; charon follows
sid=$(ctl_a list-sas --json | jq '.[0].children[] | select(.name == "second") | .id')
out=$(ctl_a rekey --child-id "$sid" --timeout 10 2>&1) || fail "rekey --child-id $sid: $out"
echo "$out" | grep -qx "rekeyed 1 / 1" || fail "rekey --child-id $sid: $out"
expect_same_child second
sid=$(ctl_a list-sas --json | jq '.[0].children[] | select(.name == "second") | .id')
out=$(ctl_a terminate --child-id "$sid" --timeout 10 2>&1) || fail "terminate --child-id $sid: $out"
wait_until 5 is charon_children -- back,net ||
  fail "charon after aiked deleted second: $(swanctl_in "$WORK/b" --list-sas)"
[ "$(aiked_children)" = back,net ] || fail "aiked after deleting second: $(aiked_children)"
echo "ok: rekey and delete of the additional CHILD_SA, charon agrees"

aiked_stop "$WORK/a"
echo "interop_child_create: all passed"
