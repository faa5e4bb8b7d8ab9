#!/usr/bin/env bash
# Whole-daemon kernel MIGRATE: two aiked with kernel = "xfrm"; A gets a second address and the
# test sends XFRM_MSG_MIGRATE (tests/tools/xfrm_migrate) for each of the CHILD_SA's policies,
# moving the tunnel 10.250.0.1 <-> 10.250.0.2 to 10.250.0.3 <-> 10.250.0.2, as a Mobile IPv6
# daemon would. aiked must follow: the kernel's announcement reaches the xfrm listener, the
# registry routes it to the IKE SA of that reqid, the IKE SA moves its local address (list-sas and
# the log show it), and the next exchange (a CHILD_SA rekey) goes from the new address: the peer
# sees 10.250.0.3. Then the same with a MIGRATE that names the kernel reqid of a CHILD_SA that is
# gone, kept by another CHILD_SA's shared policies. Skips (77) when the kernel refuses XFRM_MSG_MIGRATE.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
MIGRATE=$AIKE_BUILD/tests/xfrm_migrate
[ -x "$MIGRATE" ] || { echo "SKIP: $MIGRATE not built"; exit 77; }
ns_setup migd
A=$WORK/a
B=$WORK/b
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || { echo "SKIP: no XFRM in this kernel"; exit 77; }

daemon() {  # daemon DIR LISTEN
  aiked_daemon_section "$1" | sed -e 's/^kernel = "null"/kernel = "xfrm"/' -e "s/^listen = .*/listen = [\"$2\"]/"
  echo '[secrets.psk]'
  echo 'secret = "xfrm-migrate-secret"'
}
conn() {  # conn LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_psk_conn site "$1" "$2" "$3" "$4"
  aiked_child site net "$5" "$6"
}
# A listens on the wildcard address, so it can send from the address it moves to.
{ daemon "$A" 0.0.0.0; conn 10.250.0.1 10.250.0.2 a.test b.test 10.1.0.0/24 10.2.0.0/24; } >"$A/aiked.toml"
{ daemon "$B" 10.250.0.2; conn 10.250.0.2 10.250.0.1 b.test a.test 10.2.0.0/24 10.1.0.0/24; } >"$B/aiked.toml"
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"

# initiate succeeds only once the CHILD_SA is installed; a kernel without ESP (the test machines)
# refuses its SAs, and the IKE SA, the CHILD_SA's record (with its reqid) and its policies stay —
# which is all a MIGRATE of policies needs.
out=$(aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 2>&1) ||
  grep -q "net: the kernel did not install the CHILD_SA: .*ESP SA" <<<"$out" || fail "initiate net: $out"
sas=$(aikectl_in "$NS_A" "$A" list-sas --json) || fail "list-sas: $sas"
reqid=$(jq -r '.[0].children[0].reqid // empty' <<<"$sas")
child=$(jq -r '.[0].children[0].id // empty' <<<"$sas")
[ -n "$reqid" ] && [ "$(jq -r '.[0].local_addr' <<<"$sas")" = 10.250.0.1 ] || fail "no IKE SA with CHILD_SA net from 10.250.0.1: $sas"

# tmpl DIR SRC DST: "TMPL_SRC TMPL_DST REQID" of A's policy (SRC -> DST, DIR).
tmpl() {
  ip -n "$NS_A" xfrm policy list | awk -v sel="src $2 dst $3" -v dir="$1" '
    /^src / { on = (index($0, sel) == 1); d = ""; next }
    on && /dir / { d = $2 }
    on && d == dir && /tmpl src/ { s = $3; t = $5 }
    on && d == dir && /reqid/ { for (i = 1; i <= NF; i++) if ($i == "reqid") print s, t, $(i+1); on = 0 }'
}
expect_tmpls() {  # expect_tmpls LOCAL WHEN
  local want_out="$1 10.250.0.2 $reqid" want_in="10.250.0.2 $1 $reqid"
  [ "$(tmpl out 10.1.0.0/24 10.2.0.0/24)" = "$want_out" ] || fail "$2: out policy template '$(tmpl out 10.1.0.0/24 10.2.0.0/24)', expected '$want_out': $(ip -n "$NS_A" xfrm policy)"
  for d in in fwd; do
    [ "$(tmpl $d 10.2.0.0/24 10.1.0.0/24)" = "$want_in" ] || fail "$2: $d policy template '$(tmpl $d 10.2.0.0/24 10.1.0.0/24)', expected '$want_in': $(ip -n "$NS_A" xfrm policy)"
  done
}
expect_tmpls 10.250.0.1 "before the MIGRATE"
echo "ok: CHILD_SA net (reqid $reqid) has out/in/fwd policies for 10.250.0.1 <-> 10.250.0.2"

# The host moves: A gets 10.250.0.3 (kept when 10.250.0.1 goes: promote_secondaries), and the
# MIGRATE of each of net's three policies moves the tunnel there.
ip netns exec "$NS_A" sysctl -qw net.ipv4.conf.veth0.promote_secondaries=1 || fail "promote_secondaries"
ip -n "$NS_A" addr add 10.250.0.3/24 dev veth0 || fail "adding 10.250.0.3 to A"
for m in "out 10.1.0.0/24 10.2.0.0/24 10.250.0.1 10.250.0.2 10.250.0.3 10.250.0.2" \
         "in 10.2.0.0/24 10.1.0.0/24 10.250.0.2 10.250.0.1 10.250.0.2 10.250.0.3" \
         "fwd 10.2.0.0/24 10.1.0.0/24 10.250.0.2 10.250.0.1 10.250.0.2 10.250.0.3"; do
  # shellcheck disable=SC2086
  err=$(ip netns exec "$NS_A" "$MIGRATE" $m "$reqid" 2>&1)
  rc=$?
  [ "$rc" = 77 ] && { echo "SKIP: $err"; exit 77; }
  [ "$rc" = 0 ] || fail "xfrm_migrate $m $reqid: $err"
done
expect_tmpls 10.250.0.3 "after the MIGRATE"
echo "ok: the kernel accepted XFRM_MSG_MIGRATE for out/in/fwd; the policies' templates are 10.250.0.3 <-> 10.250.0.2"

local_addr() { aikectl_in "$NS_A" "$A" list-sas --json | jq -r '.[0].local_addr'; }
wait_until 5 test "$(local_addr)" = 10.250.0.3 ||
  fail "aiked did not follow the MIGRATE: list-sas shows local_addr $(local_addr): $(aikectl_in "$NS_A" "$A" list-sas --json)"
grep -q "net{$child}: kernel MIGRATE (reqid $reqid) moved its SAs and policies from 10.250.0.1 <-> 10.250.0.2 to 10.250.0.3 <-> 10.250.0.2" "$A/aiked.log" ||
  fail "no 'kernel MIGRATE' line for net{$child} in A's log"
grep -q "kernel MIGRATE: IKE SA endpoints 10.250.0.1 <-> 10.250.0.2 moved to 10.250.0.3 <-> 10.250.0.2" "$A/aiked.log" ||
  fail "no line for the IKE SA's move in A's log"
echo "ok: aiked followed: list-sas shows local_addr 10.250.0.3, the log has the kernel MIGRATE lines"

# The old address goes: an exchange now works only if aiked sends from 10.250.0.3 and the peer
# answers there. A CHILD_SA rekey (on a kernel without ESP the new SAs are refused again, after
# the exchange completed on both sides).
ip -n "$NS_A" addr del 10.250.0.1/24 dev veth0 || fail "removing 10.250.0.1 from A"
out=$(aikectl_in "$NS_A" "$A" rekey --child net 2>&1) ||
  grep -q "the kernel did not install the new SA" <<<"$out" || fail "rekey --child net from 10.250.0.3: $out"
a=$(aikectl_in "$NS_A" "$A" list-sas --json) || fail "list-sas on A: $a"
b=$(aikectl_in "$NS_B" "$B" list-sas --json) || fail "list-sas on B: $b"
new=$(jq -r '.[0].children[0].id' <<<"$a")
[ "$new" != "$child" ] || fail "the rekey did not replace net{$child}: $a"
a_out=$(jq -r '.[0].children[0].spi_out' <<<"$a")
b_in=$(jq -r '.[0].children[0].spi_in' <<<"$b")
[ "$a_out" = "$b_in" ] || fail "A's new outbound SPI $a_out is not B's inbound $b_in: A $a, B $b"
[ "$(jq -r '.[0].local_addr' <<<"$a")" = 10.250.0.3 ] || fail "A's IKE SA moved again: $a"
grep -qE "CHILD_SA net\{[0-9]+\} rekeyed \{[0-9]+\}" "$B/aiked.log" || fail "B did not log the rekey of net{$child}"
expect_tmpls 10.250.0.3 "after the rekey"
echo "ok: with 10.250.0.1 gone, rekey --child net completed with B (net{$child} -> net{$new}, SPI $a_out); the policies stay on 10.250.0.3"

aiked_stop "$A"
aiked_stop "$B"

# A MIGRATE names the *kernel* reqid (kernel/shared_reqids.hpp). A second, independent IKE SA's
# CHILD_SA net (own reqid R2) shares the first one's policies and so their template reqid R1; once
# the first IKE SA is gone, nothing of aiked has reqid R1 any more, yet a MIGRATE of R1 moves the
# second CHILD_SA's policies, and aiked must follow it with the second IKE SA.
ip -n "$NS_A" addr add 10.250.0.1/24 dev veth0 || fail "adding 10.250.0.1 back to A"
rm -f "$A/token" "$B/token"
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
for n in 1 2; do
  out=$(aikectl_in "$NS_A" "$A" initiate --child net --count 1 --timeout 10 2>&1) ||
    grep -q "net: the kernel did not install the CHILD_SA: .*ESP SA" <<<"$out" || fail "initiate net ($n): $out"
done
sas=$(aikectl_in "$NS_A" "$A" list-sas --json) || fail "list-sas: $sas"
[ "$(jq length <<<"$sas")" = 2 ] || fail "expected two IKE SAs on A: $sas"
first_ike=$(jq -r 'sort_by(.id) | .[0].id' <<<"$sas")
r1=$(jq -r 'sort_by(.id) | .[0].children[0].reqid' <<<"$sas")
r2=$(jq -r 'sort_by(.id) | .[1].children[0].reqid' <<<"$sas")
child2=$(jq -r 'sort_by(.id) | .[1].children[0].id' <<<"$sas")
[ "$r1" != "$r2" ] || fail "the two CHILD_SAs have one reqid $r1: $sas"
out=$(aikectl_in "$NS_A" "$A" terminate --ike-id "$first_ike" 2>&1) || fail "terminate --ike-id $first_ike: $out"
wait_until 5 test "$(aikectl_in "$NS_A" "$A" list-sas --json | jq length)" = 1 || fail "IKE SA $first_ike did not go"
reqid=$r1
expect_tmpls 10.250.0.1 "with the first IKE SA gone"
echo "ok: net{$child2} (reqid $r2) keeps the shared policies, whose templates name reqid $r1 of the CHILD_SA that is gone"
for m in "out 10.1.0.0/24 10.2.0.0/24 10.250.0.1 10.250.0.2 10.250.0.3 10.250.0.2" \
         "in 10.2.0.0/24 10.1.0.0/24 10.250.0.2 10.250.0.1 10.250.0.2 10.250.0.3" \
         "fwd 10.2.0.0/24 10.1.0.0/24 10.250.0.2 10.250.0.1 10.250.0.2 10.250.0.3"; do
  # shellcheck disable=SC2086
  err=$(ip netns exec "$NS_A" "$MIGRATE" $m "$r1" 2>&1) || fail "xfrm_migrate $m $r1: $err"
done
expect_tmpls 10.250.0.3 "after the MIGRATE of reqid $r1"
wait_until 5 test "$(local_addr)" = 10.250.0.3 ||
  fail "aiked did not follow the MIGRATE of kernel reqid $r1 (net{$child2} has reqid $r2): list-sas shows local_addr $(local_addr)"
grep -q "net{$child2}: kernel MIGRATE (reqid $r1, its kernel reqid; its own is $r2) moved its SAs and policies from 10.250.0.1 <-> 10.250.0.2 to 10.250.0.3 <-> 10.250.0.2" "$A/aiked.log" ||
  fail "no 'kernel MIGRATE' line for net{$child2} in A's log"
echo "ok: the MIGRATE of kernel reqid $r1 reached net{$child2} (reqid $r2); its IKE SA moved to 10.250.0.3"

aiked_stop "$A"
aiked_stop "$B"
echo "xfrm_migrate_daemon: all passed"
