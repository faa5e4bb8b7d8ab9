#!/usr/bin/env bash
# Stress: aiked <-> aiked (kernel = "null", two network namespaces), N IKE SAs (AIKE_REKEY_STRESS_N,
# default 5,000) with short lifetimes and rand_time on both sides, so time-based CHILD_SA and IKE
# SA rekeys with jitter run all the time. Once the first time-based rekeys are under way, a
# `rekey --all` runs while `terminate --ike-id` calls hit random SAs. Then:
#   - rekey --all finished: every matched CHILD_SA reported rekeyed or failed, an error line per
#     failure, failures only for SAs that were terminated, rekeyed + failed == matched, and
#     matched - terminated <= rekeyed;
#   - both sides list exactly N - K IKE SAs (K terminated) and N - K CHILD_SAs, one per IKE SA,
#     no IKE SPI and no CHILD_SA SPI twice, A's outbound SPIs are B's inbound SPIs and back;
#   - the time-based rekeys were spread over time by the jitter (from the daemons' logs: many
#     different seconds, no second with a large share);
#   - terminate --all ends everything on both sides.
# The CHILD_SAs' rekey_time - rand_time (40 s, the earliest time-based rekey after a rekey) is longer
# than `rekey --all` plus the checks take here, so the checks see a quiet moment: every CHILD_SA
# was rekeyed by `rekey --all` at most that long ago. IKE SA rekeys go on meanwhile (they keep
# the CHILD_SAs), so IKE SPIs are only compared on each side.
#   AIKE_REKEY_STRESS_N   IKE SAs (default 5000)
#   KEEP_WORK=1           keep the work folder
set -u
export LC_ALL=C
AIKE_BUILD=$(cd "$1" && pwd)
N=${AIKE_REKEY_STRESS_N:-5000}
K=$((N / 50 > 0 ? N / 50 : 1))  # IKE SAs terminated during the rekey
BOUND=$((120 + N / 20))         # seconds any one phase may take before it counts as a hang
for tool in ip jq shuf; do command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }; done
. "$(dirname "$0")/../scripts/lib/netns.sh"
. "$(dirname "$0")/../scripts/lib/aiked_conf.sh"
ns_setup rekeystress
A=$WORK/a
B=$WORK/b

side() {  # side NAME LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_NET REMOTE_NET
  aiked_peer_daemon "$WORK/$1" "$2" '{ default = "info" }' 'half_open_cookie_threshold = 100000000'
  aiked_psk_conn load "$2" "$3" "$4" "$5" 'unique = "never"
rekey_time = "50s"
rand_time = "40s"
life_time = "600s"'
  aiked_child load net "10.$6.0.0/24" "10.$7.0.0/24" aes256gcm16 'rekey_time = "90s"
rand_time = "50s"
life_time = "600s"'
  aiked_psk_secret rekey-stress-secret "a.test b.test"
}
aiked_pair_conf side
aiked_pair_start
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# Time-based rekeys a daemon started (its log): CHILD_SAs, IKE SAs (only timers rekey IKE SAs here).
timed_child() { grep -h "}: rekey_time reached, rekeying" "$1/aiked.log"; }
timed_ike() { grep -h "IKE SA rekey_time reached, rekeying" "$1/aiked.log"; }
has_timed_rekeys() { [ "$(timed_child "$1" | wc -l)" -ge "$2" ]; }

t0=$(now)
out=$(ctl_a initiate --ike load --count "$N" --timeout "$BOUND" 2>&1) || fail "initiate --count $N failed: $out"
t_up=$(now)
wait_until 60 sh -c "[ \$(ip netns exec $NS_B $AIKECTL --token-file $B/token stats --json | jq .ike_sas_established) -eq $N ]" ||
  fail "B does not list $N IKE SAs"
echo "ok: $N IKE SAs up in $(secs "$t0" "$t_up") s"

# Wait until time-based rekeys run on both sides (the earliest come rekey_time - rand_time
# after establishment), then rekey everything while terminates hit random SAs.
wait_until 60 has_timed_rekeys "$A" 5 || fail "A started no time-based CHILD_SA rekey"
wait_until 30 has_timed_rekeys "$B" 5 || fail "B started no time-based CHILD_SA rekey"
timed_before=$(($(timed_child "$A" | wc -l) + $(timed_child "$B" | wc -l)))
ctl_a list-sas --json | jq -r '.[].id' | shuf -n "$K" >"$WORK/terminated"
t1=$(now)
ctl_a rekey --all --timeout "$BOUND" --json >"$WORK/rekey.json" 2>"$WORK/rekey.err" &
REKEY=$!
STARTED_PIDS+=($REKEY)
TERMS=()
while read -r id; do
  ctl_a terminate --ike-id "$id" >>"$WORK/terminate.out" 2>&1 &
  TERMS+=($!)
done <"$WORK/terminated"
term_fail=0
for pid in "${TERMS[@]}"; do wait "$pid" || term_fail=$((term_fail + 1)); done
wait "$REKEY"
rekey_rc=$?
t2=$(now)
timed_during=$(($(timed_child "$A" | wc -l) + $(timed_child "$B" | wc -l) - timed_before))
r=$(cat "$WORK/rekey.json")
echo "rekey --all with $K terminates: $(echo "$r" | jq -c '{matched, completed, failed, not_done: (.not_done | length)}')" \
  "in $(secs "$t1" "$t2") s (exit $rekey_rc); $timed_during time-based CHILD_SA rekeys started meanwhile"
[ "$term_fail" -eq 0 ] || fail "$term_fail of $K terminate --ike-id calls failed: $(tail -5 "$WORK/terminate.out")"
echo "$r" | jq -e . >/dev/null 2>&1 || fail "rekey --all printed no JSON: $r $(cat "$WORK/rekey.err")"
# It matched every CHILD_SA, and the new SA of each time-based rekey in flight at that moment,
# less those of terminated IKE SAs already gone when rekey --all reached the registry (its aikectl
# starts first, but a terminate that connects sooner may complete before it).
matched=$(echo "$r" | jq .matched)
[ "$matched" -ge $((N - K)) ] && [ "$matched" -le $((N + N / 10)) ] ||
  fail "rekey --all matched $matched, want $N (+ rekeys in flight, - up to $K terminated before it)"
echo "$r" | jq -e '.not_done == [] and .completed + .failed == .matched' >/dev/null ||
  fail "rekey --all: not every CHILD_SA reported rekeyed or failed: $r"
echo "$r" | jq -e '(.errors | length) == .failed' >/dev/null || fail "failed rekeys without an error line: $r"
echo "$r" | jq -e ".failed <= $K + .matched - $N and .completed >= $((N - K))" >/dev/null ||
  fail "rekey --all: more failures than terminated IKE SAs ($K): $(echo "$r" | jq -c '.errors[:5]')"
# Each failure names its CHILD_SA: load[IKE_ID]{CHILD_ID}. Failures are for CHILD_SAs of the
# terminated IKE SAs, or for a CHILD_SA that a time-based rekey was replacing when rekey --all
# reached it ("the CHILD_SA is DELETING", "no such CHILD_SA (any more)", "the CHILD_SA was
# deleted before a rekey completed"): such an IKE SA must
# hold another CHILD_SA afterwards (checked below), so it was rekeyed after all.
echo "$r" | jq -r '.errors[]' >"$WORK/errors"
[ "$(grep -c '^load\[[0-9]*\]{[0-9]*}: ' "$WORK/errors")" -eq "$(echo "$r" | jq .failed)" ] ||
  fail "failures that name no CHILD_SA: $(head -5 "$WORK/errors")"
sort -u "$WORK/terminated" >"$WORK/terminated.sorted"
sed 's/^load\[\([0-9]*\)\]{\([0-9]*\)}: \(.*\)/\1 \2 \3/' "$WORK/errors" | sort -k1,1 >"$WORK/failures"
join -v1 "$WORK/failures" "$WORK/terminated.sorted" >"$WORK/superseded"
others=$(wc -l <"$WORK/superseded")
[ -z "$(grep -v -E '^[0-9]+ [0-9]+ (not rekeyed: the CHILD_SA is DELETING|no such CHILD_SA \(any more\)|the CHILD_SA was deleted before a rekey completed)$' "$WORK/superseded")" ] ||
  fail "rekeys failed on IKE SAs that were not terminated: $(grep -v -E 'DELETING|any more|deleted before' "$WORK/superseded" | head -5)"
[ "$timed_during" -gt 0 ] || fail "no time-based rekey ran during rekey --all"
echo "ok: rekeyed $(echo "$r" | jq .completed) + failed $(echo "$r" | jq .failed) == matched $matched; failures: $(( $(echo "$r" | jq .failed) - others )) on the $K terminated IKE SAs, $others on CHILD_SAs a time-based rekey was replacing"

# --- both sides: N - K IKE SAs, one CHILD_SA each, no SPI twice, the two sides agree
M=$((N - K))
check_side() {  # check_side NAME LIST_JSON
  local name=$1 f=$2
  [ "$(jq length "$f")" -eq "$M" ] || fail "$name lists $(jq length "$f") IKE SAs, want $M"
  [ "$(jq '[.[] | select((.children | length) != 1)] | length' "$f")" -eq 0 ] ||
    fail "$name: IKE SAs without exactly one CHILD_SA: $(jq -c '[.[] | select((.children | length) != 1) | {id, children: [.children[] | {id, state}]}] | .[:5]' "$f")"
  [ "$(jq '[.[].children[] | select(.state != "INSTALLED")] | length' "$f")" -eq 0 ] || fail "$name: CHILD_SAs not INSTALLED"
  [ -z "$(jq -r '.[].local_spi' "$f" | sort | uniq -d)" ] || fail "$name: an IKE SPI twice"
  [ -z "$(jq -r '.[].children[].spi_in' "$f" | sort | uniq -d)" ] || fail "$name: an inbound SPI twice"
  [ -z "$(jq -r '.[].children[].spi_out' "$f" | sort | uniq -d)" ] || fail "$name: an outbound SPI twice"
  [ -z "$(jq -r '.[].children[].reqid' "$f" | sort | uniq -d)" ] || fail "$name: a reqid twice"
}
settled() {
  ctl_a list-sas --json >"$WORK/a.json" && ctl_b list-sas --json >"$WORK/b.json" || return 1
  jq -r '.[].children[].spi_out' "$WORK/a.json" | sort >"$WORK/a.out"
  jq -r '.[].children[].spi_in' "$WORK/b.json" | sort | cmp -s - "$WORK/a.out" || return 1
  jq -r '.[].children[].spi_in' "$WORK/a.json" | sort >"$WORK/a.in"
  jq -r '.[].children[].spi_out' "$WORK/b.json" | sort | cmp -s - "$WORK/a.in"
}
# The last DELETEs of the rekeys may still be on their way.
wait_until 20 settled || {
  echo "A out / B in differ by $(comm -3 "$WORK/a.out" <(jq -r '.[].children[].spi_in' "$WORK/b.json" | sort) | wc -l) SPIs" >&2
  fail "A's and B's CHILD_SA SPIs do not match"
}
for s in a b; do
  st=$(ctl_$s stats --json)
  echo "$st" | jq -e ".ike_sas == $M and .child_sas == $M" >/dev/null || fail "$s stats: $(echo "$st" | jq -c '{ike_sas, child_sas}'), want $M / $M"
done
check_side A "$WORK/a.json"
check_side B "$WORK/b.json"
while read -r ike child _; do
  now_child=$(jq --argjson i "$ike" '.[] | select(.id == $i) | .children[0].id' "$WORK/a.json")
  [ -n "$now_child" ] && [ "$now_child" != "$child" ] ||
    fail "load[$ike]: its rekey of {$child} failed, and it holds {${now_child:-nothing}} now: not rekeyed"
done <"$WORK/superseded"
t3=$(now)
echo "ok: both sides list $M IKE SAs with one CHILD_SA each, no SPI or reqid twice, SPIs agree (checks $(secs "$t2" "$t3") s)"

# --- jitter: time-based rekeys over many seconds, none with a large share
wait_until 90 has_timed_rekeys "$A" $((N / 4)) || fail "A: only $(timed_child "$A" | wc -l) time-based CHILD_SA rekeys"
spread() {  # spread LABEL LINES_FILE: distinct seconds and the busiest second
  local total secs_n top
  total=$(wc -l <"$2")
  secs_n=$(cut -c1-19 "$2" | sort -u | wc -l)
  top=$(cut -c1-19 "$2" | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
  echo "$1: $total time-based rekeys over $secs_n different seconds, at most $top in one second"
  [ "$secs_n" -ge 10 ] || fail "$1: the time-based rekeys fell into only $secs_n seconds"
  [ $((top * 4)) -le "$total" ] || fail "$1: $top of $total time-based rekeys in one second"
}
timed_child "$A" >"$WORK/timed.a"
timed_child "$B" >"$WORK/timed.b"
timed_ike "$A" >"$WORK/ike.a"
timed_ike "$B" >"$WORK/ike.b"
cat "$WORK/ike.a" "$WORK/ike.b" >"$WORK/ike.ab"
spread "A CHILD_SA" "$WORK/timed.a"
spread "B CHILD_SA" "$WORK/timed.b"
spread "IKE SA (A and B)" "$WORK/ike.ab"
echo "collisions: $(grep -ch 'rekey collision' "$A/aiked.log" "$B/aiked.log" | paste -sd+ | bc) log lines"
echo "ok: the jitter spread the time-based rekeys"

# --- the end: terminate --all leaves nothing on either side
out=$(ctl_a terminate --all --timeout "$BOUND" 2>&1) || fail "terminate --all: $out"
wait_until 60 sh -c "[ \$(ip netns exec $NS_B $AIKECTL --token-file $B/token stats --json | jq .ike_sas) -eq 0 ]" ||
  fail "B still has IKE SAs after terminate --all"
[ "$(ctl_a stats --json | jq .ike_sas)" -eq 0 ] || fail "A still has IKE SAs after terminate --all"
aiked_stop "$A"
aiked_stop "$B"
echo "PASS (total $(secs "$t0" "$(now)") s)"
