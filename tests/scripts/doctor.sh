#!/usr/bin/env bash
# `aikectl doctor` against real kernel state in fresh network namespaces:
#  - a clean namespace and no aiked: no findings, exit 0, and it says that aiked did not answer;
#  - two overlapping out policies with different reqids (`ip xfrm policy add`, the "several subnets
#    as separate tunnels" mistake): an overlapping-reqids finding, exit 1, in text and --json;
#  - an ESP SA no policy uses (only where the kernel accepts ESP states; here it says it cannot);
#  - aiked running with kernel = "xfrm" and a policy in aike's priority band that none of its
#    CHILD_SAs owns: a stale finding that names the running daemon;
#  - aiked with a reqid_range / policy_priority_base of its own: doctor judges by that band (from
#    stats --json), or by --reqid-range; without aiked by the default band, and says so;
#  - a live CHILD_SA (two aiked, kernel = "null") and an out policy in aike's band with its
#    selectors but another reqid (the shared-reqid case): not stale, judged by the selectors from
#    list-sas --json; the same selectors reversed on an out policy are stale.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup doctor
A=$WORK/a
B=$WORK/b
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || { echo "SKIP: no XFRM in this kernel"; exit 77; }

doctor_in() {  # doctor_in NS DIR ARGS... (output in $OUT, exit code in $RC)
  local ns=$1 dir=$2
  shift 2
  OUT=$(ip netns exec "$ns" "$AIKECTL" --token-file "$dir/token" ${AIKE_CONTROL_PORT:+--uri "tcp://127.0.0.1:$AIKE_CONTROL_PORT"} doctor "$@" 2>&1)
  RC=$?
}

# 1. Clean namespace, no daemon.
doctor_in "$NS_A" "$A"
[ "$RC" = 0 ] || fail "clean namespace: exit $RC, expected 0: $OUT"
grep -q "^no findings" <<<"$OUT" || fail "clean namespace: no 'no findings': $OUT"
grep -q "aiked did not answer" <<<"$OUT" || fail "clean namespace: does not say that aiked did not answer: $OUT"
doctor_in "$NS_A" "$A" --json
[ "$RC" = 0 ] || fail "clean namespace --json: exit $RC"
[ "$(jq '.findings | length' <<<"$OUT")" = 0 ] || fail "clean namespace --json: findings: $OUT"
echo "ok: clean namespace without aiked: no findings, exit 0, says aiked did not answer"

# 2. Two overlapping policies with different reqids.
ip -n "$NS_A" xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/24 dir out \
  tmpl src 10.250.0.1 dst 10.250.0.2 proto esp reqid 1 mode tunnel || fail "adding policy reqid 1"
ip -n "$NS_A" xfrm policy add src 10.1.5.0/24 dst 10.2.0.0/24 dir out \
  tmpl src 10.250.0.1 dst 10.250.0.2 proto esp reqid 2 mode tunnel || fail "adding policy reqid 2"
doctor_in "$NS_A" "$A"
[ "$RC" = 1 ] || fail "overlapping policies: exit $RC, expected 1: $OUT"
grep -q "^\[error\] overlapping-reqids: reqids 1 and 2" <<<"$OUT" || fail "no overlapping-reqids finding: $OUT"
grep -q "^  what to do: put the subnets of one tunnel into one CHILD_SA" <<<"$OUT" || fail "no advice: $OUT"
doctor_in "$NS_A" "$A" --json
[ "$RC" = 1 ] || fail "overlapping policies --json: exit $RC"
[ "$(jq -r '[.findings[] | select(.kind == "overlapping-reqids")][0].subject' <<<"$OUT")" = "reqids 1 and 2" ] ||
  fail "--json: no overlapping-reqids finding: $OUT"
echo "ok: two overlapping out policies with reqids 1 and 2 are reported (text and --json), exit 1"

# 3. An SA without a policy, where the kernel has ESP.
if ip -n "$NS_A" xfrm state add src 10.250.0.1 dst 10.250.0.2 proto esp spi 0xc0ffee01 reqid 77 mode tunnel \
  aead 'rfc4106(gcm(aes))' 0x0102030405060708091011121314151617181920 128 2>"$A/state.err"; then
  doctor_in "$NS_A" "$A" --json
  [ "$(jq -r '[.findings[] | select(.kind == "sa-without-policy")][0].subject' <<<"$OUT")" = "reqid 77" ] ||
    fail "no sa-without-policy finding for reqid 77: $OUT"
  echo "ok: an ESP SA no policy uses is reported"
else
  doctor_in "$NS_A" "$A"
  grep -q "refuses ESP states" <<<"$OUT" || fail "kernel without ESP: doctor does not say so: $OUT"
  echo "ok (partly): this kernel refuses ESP states ($(head -1 "$A/state.err")); doctor says so, the SA check is not exercised here"
fi

# 4. aiked running with kernel = "xfrm": a policy in aike's band that no CHILD_SA of it owns.
{ aiked_daemon_section "$B" | sed -e 's/^kernel = "null"/kernel = "xfrm"/' -e 's/^listen = .*/listen = ["10.250.0.2"]/'; } >"$B/aiked.toml"
aiked_start "$NS_B" "$B"
doctor_in "$NS_B" "$B"
[ "$RC" = 0 ] || fail "aiked running, nothing installed: exit $RC: $OUT"
grep -q "aiked answered: 0 CHILD_SAs" <<<"$OUT" || fail "doctor did not get aiked's view: $OUT"
# reqid 0x0a1e0009 lies in aike's range, priority 1510000 in its band (kernel/xfrm_ownership.hpp).
ip -n "$NS_B" xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir out priority 1510000 \
  tmpl src 10.250.0.2 dst 10.250.0.1 proto esp reqid 0x0a1e0009 mode tunnel || fail "adding an aike-band policy"
doctor_in "$NS_B" "$B" --json
[ "$RC" = 1 ] || fail "stale policy: exit $RC: $OUT"
stale=$(jq -r '[.findings[] | select(.kind == "stale")][0].what' <<<"$OUT")
grep -q "no CHILD_SA of the running aiked" <<<"$stale" || fail "no stale finding naming the running aiked: $OUT"
grep -q "reqid 169738249" <<<"$stale" || fail "the stale finding does not name the reqid: $stale"
echo "ok: with aiked running, a policy in aike's band that none of its CHILD_SAs owns is reported as stale"
ip -n "$NS_B" xfrm policy delete src 10.2.0.0/24 dst 10.1.0.0/24 dir out
aiked_stop "$B"

# 5. aiked with a band and range of its own ([kernel] reqid_range, policy_priority_base): doctor
# takes them from the daemon (stats --json), so a policy in that band no CHILD_SA owns is stale,
# and one in the default band (not aiked's now) is not aike's at all.
{ aiked_daemon_section "$B" | sed -e 's/^kernel = "null"/kernel = "xfrm"/' -e 's/^listen = .*/listen = ["10.250.0.2"]/'
  printf '[kernel]\nreqid_range = "0x00100000-0x00100fff"\npolicy_priority_base = 2000000\n'; } >"$B/aiked.toml"
rm -f "$B/token"
aiked_start "$NS_B" "$B"
st=$(aikectl_in "$NS_B" "$B" stats --json) || fail "stats --json: $st"
[ "$(jq -c .kernel <<<"$st")" = '{"backend":"xfrm","reqid_range":"0x00100000-0x00100fff","policy_priority_base":2000000}' ] ||
  fail "stats --json: kernel object $(jq -c .kernel <<<"$st")"
ip -n "$NS_B" xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir out priority 2010000 \
  tmpl src 10.250.0.2 dst 10.250.0.1 proto esp reqid 0x00100009 mode tunnel || fail "adding a policy in aiked's band"
ip -n "$NS_B" xfrm policy add src 10.2.5.0/24 dst 10.1.5.0/24 dir out priority 1510000 \
  tmpl src 10.250.0.2 dst 10.250.0.1 proto esp reqid 0x0a1e0009 mode tunnel || fail "adding a policy in the default band"
doctor_in "$NS_B" "$B" --json
[ "$RC" = 1 ] || fail "configured band: exit $RC: $OUT"
stale=$(jq -r '[.findings[] | select(.kind == "stale")] | map(.what) | join(" | ")' <<<"$OUT")
grep -q "reqid 1048585" <<<"$stale" || fail "the policy in aiked's configured band (reqid 0x00100009) is not stale: $OUT"
grep -q "reqid 169738249" <<<"$stale" && fail "the policy in the default band, not aiked's, is called stale: $OUT"
jq -r '.notes[]' <<<"$OUT" | grep -q "0x00100000-0x00100fff or a policy priority in 2000000-2065535 (aiked's" ||
  fail "doctor does not say it uses aiked's band: $OUT"
echo "ok: with aiked's own band, its policy there is stale and the default band's is not aike's"
doctor_in "$NS_B" "$B" --reqid-range 0x0a1e0000-0x0a1effff
grep -q "0x0a1e0000-0x0a1effff or a policy priority in 2000000-2065535 (aiked's .*; the reqid range from --reqid-range)" <<<"$OUT" ||
  fail "--reqid-range does not replace the range: $OUT"
doctor_in "$NS_B" "$B" --reqid-range 5-1
[ "$RC" = 2 ] && grep -q "aikectl doctor: --reqid-range 5-1" <<<"$OUT" || fail "a bad --reqid-range: exit $RC: $OUT"
echo "ok: --reqid-range replaces the range; a bad one is a usage error"
ip -n "$NS_B" xfrm policy delete src 10.2.0.0/24 dst 10.1.0.0/24 dir out
ip -n "$NS_B" xfrm policy delete src 10.2.5.0/24 dst 10.1.5.0/24 dir out
aiked_stop "$B"

# 6. No aiked: the default band, and the report says so.
doctor_in "$NS_B" "$B"
grep -q "(the defaults: aiked did not answer" <<<"$OUT" || fail "without aiked doctor does not say it uses the default band: $OUT"
echo "ok: without aiked doctor says it judges by the default band"

# 7. A live CHILD_SA whose kernel reqid is not its own (kernel/shared_reqids.hpp): a policy with
# its selectors is held by them, whatever its template reqid; reversed selectors are not.
doctor_side() {
  aiked_peer_daemon "$WORK/$1" "$2" '{ default = "info" }'
  aiked_psk_conn site "$2" "$3" "$4" "$5"
  aiked_child site net "10.$6.0.0/24" "10.$7.0.0/24"
  aiked_psk_secret doctor-secret "a.test b.test"
}
aiked_pair_conf doctor_side
rm -f "$A/token" "$B/token"
aiked_pair_start
out=$(ctl_a initiate --child net 2>&1) || fail "initiate --child net: $out"
own=$(ctl_a list-sas --json | jq '.[0].children[0].reqid')
[ -n "$own" ] && [ "$own" != null ] || fail "no CHILD_SA in A's list-sas"
other=$((own + 64))
ip -n "$NS_A" xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 1510000 \
  tmpl src 10.250.0.1 dst 10.250.0.2 proto esp reqid "$other" mode tunnel || fail "adding the CHILD_SA's out policy"
ip -n "$NS_A" xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir out priority 1510000 \
  tmpl src 10.250.0.1 dst 10.250.0.2 proto esp reqid "$other" mode tunnel || fail "adding a reversed out policy"
doctor_in "$NS_A" "$A" --json
stale=$(jq -r '[.findings[] | select(.kind == "stale")] | map(.what) | join(" | ")' <<<"$OUT")
grep -q "out 10.2.0.0/24 -> 10.1.0.0/24" <<<"$stale" || fail "the reversed out policy is not stale: $OUT"
grep -q "out 10.1.0.0/24 -> 10.2.0.0/24" <<<"$stale" &&
  fail "the out policy with the live CHILD_SA's selectors (reqid $other, its own $own) is called stale: $OUT"
echo "ok: a policy with a live CHILD_SA's selectors but another reqid is not stale; reversed selectors are"
ip -n "$NS_A" xfrm policy delete src 10.1.0.0/24 dst 10.2.0.0/24 dir out
ip -n "$NS_A" xfrm policy delete src 10.2.0.0/24 dst 10.1.0.0/24 dir out
aiked_stop "$WORK/a"
aiked_stop "$WORK/b"
echo "doctor: all passed"
