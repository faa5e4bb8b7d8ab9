#!/usr/bin/env bash
# Interop with strongSwan's charon: reauthentication (RFC 7296 §2.8.3, make-before-break).
# 1. aiked's connection "ar" has reauth_time = 8s (rand_time 1s): aiked starts a new IKE SA to
#    charon, recreates the CHILD_SA on it (same reqid on aiked) and deletes the old IKE SA;
#    charon must end with exactly one IKE SA of that connection, with new SPIs and one CHILD_SA,
#    the same as aiked's. It happens again 7..8 s later, and `aikectl rekey --ike-id N --reauth`
#    does the same on demand.
# 2. charon's connection "cr" has reauth_time = 8s (make_before_break = yes); aiked answers with
#    unique = "keep" (a new SA from the old one's address is a reauthentication, so the old SA
#    goes, not the new one): aiked must end with exactly one IKE SA, new SPIs, one CHILD_SA.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup reauth

{
  echo "connections {"
  swanctl_psk_conn ar b.test a1.test ar 10.2.0.0/24 10.1.0.0/24 aes256gcm16 "rekey_time = 0" "rekey_time = 0"
  swanctl_psk_conn cr b2.test a2.test cr 10.2.0.0/24 10.1.1.0/24 aes256gcm16 "rekey_time = 0
       reauth_time = 8s
       rand_time = 1s
       over_time = 60s" "rekey_time = 0"
  echo "}"
  swanctl_psk_secret interop-reauth-secret
} >"$WORK/b/swanctl.conf"
CHARON_EXTRA="make_before_break = yes" charon_start "$NS_B" "$WORK/b"

{
  aiked_daemon_section "$WORK/a"
  aiked_psk_secret interop-reauth-secret
  aiked_psk_conn ar 10.250.0.1 10.250.0.2 a1.test b.test 'reauth_time = "8s"
rand_time = "1s"'
  aiked_child ar ar 10.1.0.0/24 10.2.0.0/24 aes256gcm16 'rekey_time = "0"'
  aiked_psk_conn cr 10.250.0.1 10.250.0.2 a2.test b2.test 'unique = "keep"'
  aiked_child cr cr 10.1.1.0/24 10.2.0.0/24 aes256gcm16 'rekey_time = "0"'
} >"$WORK/a/aiked.toml"
aiked_start "$NS_A" "$WORK/a"

sas() { aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$1" --json; }
field() { sas "$1" | jq -r ".[-1].$2"; }

# reauthed CONN OLD_L OLD_R: aiked shows exactly one established IKE SA of CONN with one
# CHILD_SA and none of the old SPIs; charon shows exactly one IKE SA of CONN with the same SPIs,
# established, and one CHILD_SA whose SPIs are aiked's the other way round.
reauthed() {
  local conn=$1 old_l=$2 old_r=$3 a l r cin cout raw
  a=$(sas "$conn") || return 1
  [ "$(jq 'length' <<<"$a")" = 1 ] || return 1
  [ "$(jq -r '.[0].state' <<<"$a")" = ESTABLISHED ] || return 1
  [ "$(jq -r '.[0].children | length' <<<"$a")" = 1 ] || return 1
  [ "$(jq -r '.[0].children[0].state' <<<"$a")" = INSTALLED ] || return 1
  l=$(jq -r '.[0].local_spi' <<<"$a")
  r=$(jq -r '.[0].remote_spi' <<<"$a")
  for s in "$l" "$r"; do [ "$s" != "$old_l" ] && [ "$s" != "$old_r" ] || return 1; done
  cin=$(jq -r '.[0].children[0].spi_in' <<<"$a")
  cout=$(jq -r '.[0].children[0].spi_out' <<<"$a")
  raw=$(swanctl_in "$WORK/b" --list-sas --ike "$conn" --raw 2>&1) || return 1
  [ "$(grep -o 'initiator-spi=' <<<"$raw" | wc -l)" = 1 ] || return 1
  [ "$(grep -o 'spi-in=' <<<"$raw" | wc -l)" = 1 ] || return 1
  grep -q "$l" <<<"$raw" && grep -q "$r" <<<"$raw" || return 1
  grep -q "state=ESTABLISHED" <<<"$raw" && grep -q "spi-in=$cout" <<<"$raw" && grep -q "spi-out=$cin" <<<"$raw" || return 1
}

state_of() { echo "aiked $(sas "$1" | jq -c .); charon $(swanctl_in "$WORK/b" --list-sas --ike "$1" --raw 2>&1)"; }

# --- 1. aiked reauthenticates ---
out=$(aikectl_in "$NS_A" "$WORK/a" initiate --ike ar --timeout 10) || fail "initiate ar: $out"
expect_same_sas "$NS_A" "$WORK/a" "$WORK/b" ar "aes256gcm16-prfsha256-x25519" ar
reqid=$(field ar children[0].reqid)
for round in timer timer demand; do
  read -r old_l old_r old_id <<<"$(sas ar | jq -r '.[-1] | "\(.local_spi) \(.remote_spi) \(.id)"')"
  if [ "$round" = demand ]; then
    out=$(aikectl_in "$NS_A" "$WORK/a" rekey --ike-id "$old_id" --reauth) || fail "rekey --ike-id $old_id --reauth: $out"
    grep -q "reauthenticating 1 IKE SA" <<<"$out" || fail "rekey --reauth said: $out"
  fi
  wait_until 20 reauthed ar "$old_l" "$old_r" || fail "ar: no clean reauthentication by aiked ($round): $(state_of ar)"
  [ "$(field ar children[0].reqid)" = "$reqid" ] || fail "ar: the CHILD_SA's reqid changed from $reqid to $(field ar children[0].reqid)"
  [ "$(field ar initiator)" = true ] || fail "ar: aiked is not the initiator of the new IKE SA"
  echo "ok: aiked reauthenticated ar ($round): [$old_id] $old_l/$old_r -> [$(field ar id)] $(field ar local_spi)/$(field ar remote_spi), charon has one IKE SA with one CHILD_SA, reqid $reqid kept"
done
wait_until 3 grep -q "IKE SA reauth_time reached" "$WORK/a/aiked.log" || fail "aiked's reauthentication was not started by its timer"

# --- 2. charon reauthenticates ---
swanctl_in "$WORK/b" --initiate --child cr >"$WORK/b/initiate.log" 2>&1 || fail "swanctl --initiate cr: $(cat "$WORK/b/initiate.log")"
wait_until 5 reauthed cr 0 0 || fail "cr: not up: $(state_of cr)"
for round in 1 2; do
  old_l=$(field cr local_spi)
  old_r=$(field cr remote_spi)
  wait_until 25 reauthed cr "$old_l" "$old_r" || fail "cr: no clean reauthentication by charon (round $round): $(state_of cr)"
  [ "$(field cr initiator)" = false ] || fail "cr: aiked is the initiator of charon's new IKE SA"
  echo "ok: charon reauthenticated cr (round $round): $old_l/$old_r -> $(field cr local_spi)/$(field cr remote_spi), aiked has one IKE SA with one CHILD_SA"
done

# The other connection was not disturbed: still one IKE SA each.
wait_until 20 reauthed ar 0 0 || fail "ar: not one IKE SA at the end: $(state_of ar)"
aiked_stop "$WORK/a"
echo "interop_reauth: all passed"
