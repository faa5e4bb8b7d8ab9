#!/usr/bin/env bash
# Reauthentication (RFC 7296 §2.8.3, make-before-break) between two aiked (kernel = "null"). A's
# connection "timed" has reauth_time = 6s (rand_time 1s); B answers with unique = "replace" and
# no reauth_time. After A's timer: a new IKE SA with new SPIs on both sides, the old one gone on
# both, exactly one IKE SA with one CHILD_SA each, and A's CHILD_SA kept its reqid. Then on
# demand, on connection "demand" (no reauth_time, so no timer interferes):
# `aikectl rekey --ike-id N --reauth` on B (B, the responder so far, initiates the new SA to the
# address the old SA has, since its connection allows %any) and `rekey --ike NAME --reauth` on A.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup reauth
A=$WORK/a
B=$WORK/b

daemon() {  # daemon DIR LISTEN
  aiked_daemon_section "$1" "$2"
  aiked_psk_secret reauth-test-secret
}
conn() {  # conn NAME LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS EXTRA
  aiked_psk_conn "$1" "$2" "$3" "$4" "$5" "$8"
  aiked_child "$1" net "$6" "$7"
}
{ daemon "$A" 10.250.0.1
  conn timed 10.250.0.1 10.250.0.2 a1.test b.test 10.1.0.0/24 10.2.0.0/24 \
    'reauth_time = "6s"
rand_time = "1s"'
  conn demand 10.250.0.1 10.250.0.2 a2.test b.test 10.1.1.0/24 10.2.0.0/24 ''; } >"$A/aiked.toml"
{ daemon "$B" 10.250.0.2
  conn timed 10.250.0.2 %any b.test a1.test 10.2.0.0/24 10.1.0.0/24 'unique = "replace"'
  conn demand 10.250.0.2 %any b.test a2.test 10.2.0.0/24 10.1.1.0/24 'unique = "replace"'; } >"$B/aiked.toml"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"

CONN=timed
sas() { aikectl_in "$1" "$2" list-sas --ike "$CONN" --json; }

for c in timed demand; do
  out=$(aikectl_in "$NS_A" "$A" initiate --ike $c --timeout 10) || fail "initiate $c: $out"
done

# one_sa NS DIR: true when DIR's aiked has exactly one IKE SA of $CONN, ESTABLISHED, with one INSTALLED
# CHILD_SA; prints "local_spi remote_spi reqid id spi_in".
one_sa() {
  local j
  j=$(sas "$1" "$2") || return 1
  [ "$(jq length <<<"$j")" = 1 ] || return 1
  [ "$(jq -r '.[0].state' <<<"$j")" = ESTABLISHED ] || return 1
  [ "$(jq -r '.[0].children | length' <<<"$j")" = 1 ] || return 1
  [ "$(jq -r '.[0].children[0].state' <<<"$j")" = INSTALLED ] || return 1
  jq -r '.[0] | "\(.local_spi) \(.remote_spi) \(.children[0].reqid) \(.id) \(.children[0].spi_in)"' <<<"$j"
}

# reauthed OLD_A OLD_B: both sides show one IKE SA with one CHILD_SA, new SPIs (none of the old
# SA's), the same pair on both sides, and the CHILD_SAs agree.
reauthed() {
  local old_l=$1 old_r=$2 a b
  a=$(one_sa "$NS_A" "$A") || return 1
  b=$(one_sa "$NS_B" "$B") || return 1
  read -r al ar _ _ ain <<<"$a"
  read -r bl br _ _ bin <<<"$b"
  for s in "$al" "$ar"; do [ "$s" != "$old_l" ] && [ "$s" != "$old_r" ] || return 1; done
  [ "$al" = "$br" ] && [ "$ar" = "$bl" ] || return 1
  [ "$(sas "$NS_B" "$B" | jq -r '.[0].children[0].spi_out')" = "$ain" ] || return 1
  [ "$(sas "$NS_A" "$A" | jq -r '.[0].children[0].spi_out')" = "$bin" ] || return 1
}

first=$(one_sa "$NS_A" "$A") || fail "no single IKE SA with one CHILD_SA after initiate: $(sas "$NS_A" "$A")"
read -r l0 r0 reqid_a id0 _ <<<"$first"
wait_until 5 one_sa "$NS_B" "$B" || fail "B has no single IKE SA: $(sas "$NS_B" "$B")"
read -r _ _ reqid_b _ _ <<<"$(one_sa "$NS_B" "$B")"
echo "ok: IKE SA [$id0] $l0/$r0 up, CHILD_SA reqid $reqid_a on A, $reqid_b on B"

# 1. A's reauth_time: 5..6 s after establishment.
wait_until 20 reauthed "$l0" "$r0" ||
  fail "no reauthentication by A's reauth_time within 20 s: A $(sas "$NS_A" "$A" | jq -c .); B $(sas "$NS_B" "$B" | jq -c .)"
wait_until 3 grep -q "IKE SA reauth_time reached" "$A/aiked.log" || fail "A's reauthentication was not started by its timer"
read -r l1t r1t reqid1 id1 _ <<<"$(one_sa "$NS_A" "$A")"
[ "$reqid1" = "$reqid_a" ] || fail "A's CHILD_SA reqid changed from $reqid_a to $reqid1 in the reauthentication"
[ "$id1" != "$id0" ] || fail "A shows the same IKE SA [$id0] after the reauthentication"
[ "$(sas "$NS_A" "$A" | jq -r '.[0].initiator')" = true ] || fail "A is not the initiator of the new IKE SA"
# The old SA went after the new one was complete: deleted by A, or (B's unique = "replace") by B.
wait_until 3 grep -q "reauthentication complete: this IKE SA replaces IKE SA \[$id0\]" "$A/aiked.log" ||
  fail "A's new IKE SA [$id1] did not complete the reauthentication of [$id0]"
wait_until 3 grep -q "timed\[$id0\]: IKE SA closed: deleted" "$A/aiked.log" || fail "A's old IKE SA [$id0] was not deleted"
! grep -q "INITIAL_CONTACT" "$A/aiked.log" "$B/aiked.log" || fail "INITIAL_CONTACT seen in a reauthentication"
echo "ok: A's reauth_time: IKE SA [$id0] $l0/$r0 -> [$id1] $l1t/$r1t, one IKE SA with one CHILD_SA on both sides, reqid $reqid1 kept"
# It stays so (no second SA left behind, nothing deleted twice).
sleep 1
reauthed "$l0" "$r0" || fail "not settled after the reauthentication: A $(sas "$NS_A" "$A" | jq -c .); B $(sas "$NS_B" "$B" | jq -c .)"

# 2. On demand from B, the responder so far (no reauth_time there), by IKE SA id.
CONN=demand
read -r l1 r1 _ _ _ <<<"$(one_sa "$NS_A" "$A")" || fail "no single IKE SA of demand on A"
read -r _ _ reqid_b1 idb _ <<<"$(one_sa "$NS_B" "$B")"
out=$(aikectl_in "$NS_B" "$B" rekey --ike-id "$idb" --reauth) || fail "B: rekey --ike-id $idb --reauth: $out"
grep -q "reauthenticating 1 IKE SA" <<<"$out" || fail "B: rekey --reauth said: $out"
wait_until 10 reauthed "$l1" "$r1" ||
  fail "no reauthentication by B on demand: A $(sas "$NS_A" "$A" | jq -c .); B $(sas "$NS_B" "$B" | jq -c .)"
read -r l2 r2 reqid_b2 idb2 _ <<<"$(one_sa "$NS_B" "$B")"
[ "$reqid_b2" = "$reqid_b1" ] || fail "B's CHILD_SA reqid changed from $reqid_b1 to $reqid_b2"
[ "$(sas "$NS_B" "$B" | jq -r '.[0].initiator')" = true ] || fail "B is not the initiator of its new IKE SA"
echo "ok: B's rekey --ike-id $idb --reauth: -> [$idb2] $l2/$r2, reqid $reqid_b2 kept on B"

# 3. On demand from A, by connection name.
read -r la lb _ _ _ <<<"$(one_sa "$NS_A" "$A")"
out=$(aikectl_in "$NS_A" "$A" rekey --ike demand --reauth) || fail "A: rekey --ike demand --reauth: $out"
wait_until 10 reauthed "$la" "$lb" ||
  fail "no reauthentication by A on demand: A $(sas "$NS_A" "$A" | jq -c .); B $(sas "$NS_B" "$B" | jq -c .)"
echo "ok: A's rekey --ike demand --reauth: -> $(one_sa "$NS_A" "$A" | cut -d' ' -f1-2)"

# Usage errors.
out=$(aikectl_in "$NS_A" "$A" rekey --child net --reauth 2>&1) && fail "rekey --child --reauth was accepted: $out"
grep -q -- "--reauth needs --ike" <<<"$out" || fail "rekey --child --reauth said: $out"
out=$(aikectl_in "$NS_A" "$A" rekey --ike-id 999 --reauth 2>&1) && fail "rekey --reauth of a missing SA succeeded: $out"

# The timed connection reauthenticated again meanwhile and is still one IKE SA on both sides.
CONN=timed
wait_until 10 reauthed "$l1t" "$r1t" || fail "timed: no second reauthentication"
[ "$(grep -c "IKE SA reauth_time reached" "$A/aiked.log")" -ge 2 ] || fail "timed: A's timer did not fire again"
echo "ok: timed reauthenticated again by its timer"

aiked_stop "$A"
aiked_stop "$B"
echo "reauth: all passed"
