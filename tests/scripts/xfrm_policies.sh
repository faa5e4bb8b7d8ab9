#!/usr/bin/env bash
# Two aiked with kernel = "xfrm" in network namespaces: a CHILD_SA with two local subnets gets
# in/out/fwd policies for every subnet pair, all with ONE reqid; after `kill -9` the stale policies
# stay in the kernel until the next aiked starts and removes them (and only them: a foreign policy
# survives); a clean stop removes everything aiked installed.
# On kernels without ESP (as on the CI machines) the SAs cannot be installed: aiked reports the
# kernel's refusal for the CHILD_SA and keeps the policies (traffic is dropped, never sent in the clear).
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup xfrm
A=$WORK/a
B=$WORK/b

ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || { echo "SKIP: no XFRM in this kernel"; exit 77; }

daemon() {  # daemon DIR LISTEN
  aiked_daemon_section "$1" | sed -e 's/^kernel = "null"/kernel = "xfrm"/' -e "s/^listen = .*/listen = [\"$2\"]/"
  echo '[secrets.psk]'
  echo 'secret = "xfrm-policies-secret"'
}
conn() {  # conn LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_psk_conn site "$1" "$2" "$3" "$4"
  aiked_child site net "$5" "$6"
}
{ daemon "$A" 10.250.0.1; conn 10.250.0.1 10.250.0.2 a.test b.test '["10.1.0.0/24", "10.1.1.0/24"]' '["10.2.0.0/24"]'; } >"$A/aiked.toml"
{ daemon "$B" 10.250.0.2; conn 10.250.0.2 10.250.0.1 b.test a.test '["10.2.0.0/24"]' '["10.1.0.0/24", "10.1.1.0/24"]'; } >"$B/aiked.toml"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"

# aike's policies are those in its priority band (1,500,000 .. 1,565,535).
aike_policies() { ip -n "$1" xfrm policy list | awk '/priority/ { for (i = 1; i < NF; i++) if ($i == "priority" && $(i+1) >= 1500000 && $(i+1) < 1565536) n++ } END { print n + 0 }'; }
reqids() { ip -n "$1" xfrm policy list | grep -o 'reqid [0-9]*' | sort -u; }
has_policies() { [ "$(aike_policies "$1")" = "$2" ]; }

# initiate succeeds only once the CHILD_SA is installed: a kernel without ESP makes it fail
# with the kernel's refusal (checked below), the IKE SA and the policies stay.
out=$(aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 2>&1) ||
  grep -q "net: the kernel did not install the CHILD_SA: .*ESP SA" <<<"$out" || fail "initiate net: $out"
wait_until 5 has_policies "$NS_A" 6 || fail "A: expected 6 aike policies, have $(aike_policies "$NS_A"): $(ip -n "$NS_A" xfrm policy)"
wait_until 5 has_policies "$NS_B" 6 || fail "B: expected 6 aike policies, have $(aike_policies "$NS_B"): $(ip -n "$NS_B" xfrm policy)"
for ns in "$NS_A" "$NS_B"; do
  pol=$(ip -n "$ns" xfrm policy list)
  for d in in out fwd; do
    n=$(grep -c "dir $d " <<<"$pol")
    [ "$n" = 2 ] || fail "$ns: $n '$d' policies, expected 2: $pol"
  done
  [ "$(reqids "$ns" | wc -l)" = 1 ] || fail "$ns: policies carry more than one reqid: $(reqids "$ns" | tr '\n' ' ')"
  grep -q "proto esp reqid .* mode tunnel" <<<"$pol" || fail "$ns: no ESP tunnel template: $pol"
done
grep -q "10.1.1.0/24" <<<"$(ip -n "$NS_A" xfrm policy list)" || fail "A: no policy for the second local subnet"
echo "ok: two local subnets -> 6 policies per side (in/out/fwd × 2), one reqid ($(reqids "$NS_A" | tr -d '\n'))"

# Keyed ESP SAs (the SPIs reserved with ALLOCSPI are larval "proto esp" states without keys).
keyed() { ip -n "$NS_A" xfrm state list | grep -cE '^[[:space:]]+(aead|enc) '; }
if [ "$(keyed)" != 0 ]; then
  [ "$(keyed)" = 2 ] || fail "A: expected 2 keyed ESP SAs: $(ip -n "$NS_A" xfrm state)"
  echo "ok: the kernel holds both ESP SAs"
else
  grep -q "installing CHILD_SA net.*failed: .*ESP SA" "$A/aiked.log" || fail "A: no report of the refused SA install"
  echo "ok: this kernel refuses ESP states; aiked reported it: $(grep -o 'failed: .*' "$A/aiked.log" | head -1 | cut -c1-160)"
fi

# Crash: kill -9 leaves the policies; a foreign policy is added next to them.
kill -9 "$(cat "$A/aiked.pid")"
wait_until 5 sh -c "! kill -0 $(cat "$A/aiked.pid") 2>/dev/null" || fail "aiked did not die"
has_policies "$NS_A" 6 || fail "A: kill -9 should leave the 6 policies, have $(aike_policies "$NS_A")"
ip -n "$NS_A" xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out priority 100 || fail "adding the foreign policy"
rm -f "$A/token"
aiked_start "$NS_A" "$A"
wait_until 5 grep -q "reconciled kernel state: removed 6 policies" "$A/aiked.log" ||
  fail "A: restart did not report removing the 6 stale policies"
has_policies "$NS_A" 0 || fail "A: stale policies survive the restart: $(ip -n "$NS_A" xfrm policy)"
ip -n "$NS_A" xfrm policy list | grep -q "src 10.9.0.0/24 dst 10.8.0.0/24" || fail "A: the foreign policy was removed"
echo "ok: after kill -9 the restarted aiked removed the 6 stale policies and kept the foreign one"

# Clean stop on B removes everything it installed.
aiked_stop "$B"
has_policies "$NS_B" 0 || fail "B: policies left after a clean stop: $(ip -n "$NS_B" xfrm policy)"
[ -z "$(ip -n "$NS_B" xfrm state list)" ] || fail "B: SAs left after a clean stop"
aiked_stop "$A"
echo "ok: a clean stop removes every policy and SA aiked installed"
echo "xfrm_policies: all passed"
