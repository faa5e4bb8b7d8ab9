#!/usr/bin/env bash
# Additional CHILD_SAs on one IKE SA (RFC 7296 §1.3.1) between two aiked (kernel = "null"):
# `initiate --child` puts a second CHILD_SA (with PFS) on the existing IKE SA instead of making
# another IKE SA; the responder's side initiates one too; a child the peer has no selectors for
# fails with TS_UNACCEPTABLE and the IKE SA stays; the second child is rekeyed and terminated by
# id; `initiate --ike` with several children brings them all up over one IKE SA; --count still
# makes new IKE SAs.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/aiked_conf.sh"
ns_setup childcreate
A=$WORK/a
B=$WORK/b

# side NAME LOCAL REMOTE LOCAL_ID REMOTE_ID L R: L/R the second octet of local/remote networks;
# A also has "stray", which B has no child for.
side() {
  aiked_peer_daemon "$WORK/$1" "$2" '{ default = "info", ike = "info" }'
  aiked_psk_conn site "$2" "$3" "$4" "$5"
  aiked_child site net "10.$6.0.0/24" "10.$7.0.0/24"
  aiked_child site second "10.$6.1.0/24" "10.$7.1.0/24" aes256gcm16-x25519
  aiked_child site back "10.$6.2.0/24" "10.$7.2.0/24" aes128gcm16
  [ "$1" != a ] || aiked_child site stray "10.$6.5.0/24" "10.$7.5.0/24"
  aiked_psk_secret child-create-secret "a.test b.test"
}
aiked_pair_conf side
aiked_pair_start
count_ike() { "$@" list-sas --json | jq 'length'; }
children_of() { "$@" list-sas --json | jq -r '[.[].children[].name] | sort | join(",")'; }
# children_on_one CTL...: the CHILD_SA names, but only if they all sit under one IKE SA
children_on_one() { "$@" list-sas --json | jq -r 'if length == 1 then [.[0].children[].name] | sort | join(",") else "IKE SAs: \(length)" end'; }
# is CMD... -- WANT: CMD prints WANT (for wait_until)
is() {
  local want=${*: -1}
  [ "$("${@:1:$#-2}")" = "$want" ]
}

# --- the first child: a new IKE SA
out=$(ctl_a initiate --child net 2>&1) || fail "initiate --child net: $out"
echo "$out" | grep -qx "established 1 / 1" || fail "initiate --child net: $out"
[ "$(children_on_one ctl_a)" = net ] || fail "A after the first child: $(children_on_one ctl_a)"
ike_id=$(ctl_a list-sas --json | jq '.[0].id')

# --- a second child (PFS) on the same IKE SA
out=$(ctl_a initiate --child second 2>&1) || fail "initiate --child second: $out"
echo "$out" | grep -qx "established 1 / 1" || fail "initiate --child second: $out"
[ "$(children_on_one ctl_a)" = net,second ] || fail "A: want net and second under one IKE SA: $(children_on_one ctl_a)"
[ "$(ctl_a list-sas --json | jq '.[0].id')" = "$ike_id" ] || fail "the second child did not go on the existing IKE SA"
wait_until 10 is children_on_one ctl_b -- net,second ||
  fail "B: want net and second under one IKE SA: $(children_on_one ctl_b)"
grep -q "creating CHILD_SA second{[0-9]*} with TS 10.1.1.0/24 === 10.2.1.0/24 and PFS group 31" "$A/aiked.log" ||
  fail "A did not log the CREATE_CHILD_SA with PFS"
# Both halves fit: A's inbound SPI is B's outbound one, and the reqids differ from net's.
a_second=$(ctl_a list-sas --json | jq -c '.[0].children[] | select(.name == "second")')
b_second=$(ctl_b list-sas --json | jq -c '.[0].children[] | select(.name == "second")')
[ "$(jq .spi_in <<<"$a_second")" = "$(jq .spi_out <<<"$b_second")" ] || fail "SPIs do not match: $a_second / $b_second"
[ "$(ctl_a list-sas --json | jq '[.[0].children[].reqid] | unique | length')" -eq 2 ] || fail "the two children share a reqid"
echo "ok: initiate --child second created the second CHILD_SA (PFS group 31) on the existing IKE SA"

# --- a child B has no selectors for: TS_UNACCEPTABLE, the IKE SA and its children stay
out=$(ctl_a initiate --child stray 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "initiate --child stray succeeded: $out"
echo "$out" | grep -q "stray: peer answered TS_UNACCEPTABLE" || fail "initiate --child stray does not name TS_UNACCEPTABLE: $out"
echo "$out" | grep -qx "established 0 / 1, 1 failed" || fail "initiate --child stray counts: $out"
[ "$(children_on_one ctl_a)" = net,second ] || fail "A after TS_UNACCEPTABLE: $(children_on_one ctl_a)"
[ "$(children_on_one ctl_b)" = net,second ] || fail "B after TS_UNACCEPTABLE: $(children_on_one ctl_b)"
[ "$(ctl_a list-sas --json | jq -r '.[0].state')" = ESTABLISHED ] || fail "the IKE SA is not ESTABLISHED after TS_UNACCEPTABLE"
echo "ok: a child B does not accept failed with TS_UNACCEPTABLE; the IKE SA and both children stay"

# --- the responder initiates a child on the same IKE SA
out=$(ctl_b initiate --child back 2>&1) || fail "B initiate --child back: $out"
[ "$(children_on_one ctl_b)" = back,net,second ] || fail "B after its own child: $(children_on_one ctl_b)"
wait_until 10 is children_of ctl_a -- back,net,second ||
  fail "A after B's child: $(children_of ctl_a)"
[ "$(count_ike ctl_a)" -eq 1 ] || fail "B's child made another IKE SA"
echo "ok: the responder created a CHILD_SA on the same IKE SA"

# --- the second child is rekeyed and terminated by id; the others stay
sid=$(ctl_a list-sas --json | jq '.[0].children[] | select(.name == "second") | .id')
spi_before=$(jq .spi_in <<<"$a_second")
out=$(ctl_a rekey --child-id "$sid" 2>&1) || fail "rekey --child-id $sid: $out"
echo "$out" | grep -qx "rekeyed 1 / 1" || fail "rekey --child-id $sid: $out"
a_second=$(ctl_a list-sas --json | jq -c '.[0].children[] | select(.name == "second")')
[ "$(jq .spi_in <<<"$a_second")" != "$spi_before" ] || fail "the second child's SPI did not change"
[ "$(children_on_one ctl_a)" = back,net,second ] || fail "A after the rekey: $(children_on_one ctl_a)"
sid=$(jq .id <<<"$a_second")
out=$(ctl_a terminate --child-id "$sid" 2>&1) || fail "terminate --child-id $sid: $out"
[ "$(children_on_one ctl_a)" = back,net ] || fail "A after terminating second: $(children_on_one ctl_a)"
wait_until 10 is children_of ctl_b -- back,net ||
  fail "B after A terminated second: $(children_of ctl_b)"
echo "ok: rekey and terminate --child-id of an additional CHILD_SA"

# --- initiate --ike on an IKE SA that is up: only the missing children; the stray one fails
out=$(ctl_a initiate --ike site 2>&1)
echo "$out" | grep -qx "established 3 / 4, 1 failed" || fail "initiate --ike site with the SA up: $out"
[ "$(children_on_one ctl_a)" = back,net,second ] || fail "A after initiate --ike: $(children_on_one ctl_a)"

# --- a new IKE SA with several children: IKE_AUTH carries the first, CREATE_CHILD_SA the rest
ctl_a terminate --ike site >/dev/null 2>&1 || fail "terminate --ike site"
wait_until 10 is count_ike ctl_b -- 0 ||
  fail "B still lists SAs after terminate"
out=$(ctl_a initiate --ike site 2>&1)
echo "$out" | grep -qx "established 3 / 4, 1 failed" || fail "initiate --ike site with four children: $out"
echo "$out" | grep -q "stray: peer answered TS_UNACCEPTABLE" || fail "initiate --ike site: $out"
[ "$(children_on_one ctl_a)" = back,net,second ] || fail "A after initiate --ike site: $(children_on_one ctl_a)"
[ "$(children_on_one ctl_b)" = back,net,second ] || fail "B after initiate --ike site: $(children_on_one ctl_b)"
echo "ok: initiate --ike with four children: one IKE SA, three CHILD_SAs, the stray one refused"

# --- --count still makes new IKE SAs
out=$(ctl_a initiate --ike site --count 3 2>&1) || fail "initiate --count 3: $out"
[ "$(count_ike ctl_a)" -eq 4 ] || fail "initiate --count 3 did not make three more IKE SAs: $(count_ike ctl_a)"
echo "ok: initiate --count 3 made three new IKE SAs"
# --count 1 is one more IKE SA too (a load generator adding SAs one at a time), not a CHILD_SA
# on an IKE SA that exists (that is initiate without --count)
out=$(ctl_a initiate --ike site --count 1 2>&1) || fail "initiate --count 1: $out"
[ "$(count_ike ctl_a)" -eq 5 ] || fail "initiate --count 1 did not make a new IKE SA: $(count_ike ctl_a) IKE SAs"
echo "ok: initiate --count 1 made a new IKE SA"

ctl_a version >/dev/null || fail "aiked A stopped answering"
ctl_b version >/dev/null || fail "aiked B stopped answering"
aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
