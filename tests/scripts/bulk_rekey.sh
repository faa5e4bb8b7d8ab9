#!/usr/bin/env bash
# Bulk rekey end to end (aiked <-> aiked, kernel = "null"): `aikectl rekey --all` blocks until
# every CHILD_SA's rekey completed (new SA in, old one out), prints progress and true counts, and
# the SPIs really change; `aikectl rekey --all --ike-sas` does the same for the IKE SAs (new IKE
# SPIs on both sides, the CHILD_SAs still there). Then a rekey --all runs while terminate --ike-id
# calls hit random SAs and a terminate --all ends the rest, and a rekey --all --ike-sas runs
# while a terminate --all does: both commands finish, rekeyed + failed == matched, no SA is left,
# and both daemons still answer.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
N=${BULK_REKEY_SAS:-300}
NG=$(echo "$N" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')  # as aikectl prints it: 5,000
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/aiked_conf.sh"
ns_setup bulkrekey
A=$WORK/a
B=$WORK/b

side() {  # side NAME LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_NET REMOTE_NET
  aiked_peer_daemon "$WORK/$1" "$2" '{ default = "info", ike = "info" }'
  aiked_psk_conn load "$2" "$3" "$4" "$5" 'unique = "never"'
  aiked_child load net "10.$6.0.0/24" "10.$7.0.0/24"
  aiked_psk_secret bulk-rekey-secret "a.test b.test"
}
aiked_pair_conf side
aiked_pair_start
# IKE SAs and CHILD_SAs a daemon lists
count_ike() { "$@" list-sas --json | jq 'length'; }
count_child() { "$@" list-sas --json | jq '[.[].children[]] | length'; }

# --- usage: a bad --timeout is a usage error; no matching CHILD_SA is a refusal
ctl_a rekey --all --timeout x >/dev/null 2>&1
[ $? -eq 2 ] || fail "rekey --timeout x must exit 2"
out=$(ctl_a rekey --all 2>&1)
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 3 ] || fail "rekey --all without SAs: exit $rc, want a failure: $out"
echo "$out" | grep -q "no matching CHILD_SA" || fail "rekey --all without SAs: $out"

out=$(ctl_a initiate --ike load --count "$N" --timeout 120 2>&1) || fail "initiate --count $N failed: $out"
echo "$out" | grep -q "established $NG / $NG" || fail "initiate did not report $N / $N: $out"
wait_until 30 aikectl_jq "$NS_B" "$B" "[.[].children[]] | length == $N" list-sas ||
  fail "B does not list $N CHILD_SAs"

# --- rekey --all of N CHILD_SAs: blocks, progress lines, N / N, new SPIs on both sides
ctl_a list-sas --json | jq -r '.[].children[].spi_in' | sort >"$WORK/spi.before"
[ "$(wc -l <"$WORK/spi.before")" -eq "$N" ] || fail "A lists $(wc -l <"$WORK/spi.before") CHILD_SAs, want $N"
t0=$(date +%s.%N)
out=$(ctl_a rekey --all --timeout 120 --progress 2>"$WORK/rekey.progress") || fail "rekey --all failed: $out"
t1=$(date +%s.%N)
echo "$out" | grep -qx "rekeyed $NG / $NG" || fail "rekey --all did not report $N / $N: $out"
grep -qE "^rekeyed [0-9,]+ / $NG$" "$WORK/rekey.progress" || fail "no progress line during rekey --all"
echo "rekey --all of $N CHILD_SAs: $(echo "$t1 - $t0" | bc) s, $(wc -l <"$WORK/rekey.progress") progress line(s)"
# It answered when every rekey was complete: the old SPIs are gone at once, on A and on B.
ctl_a list-sas --json | jq -r '.[].children[].spi_in' | sort >"$WORK/spi.after"
[ "$(wc -l <"$WORK/spi.after")" -eq "$N" ] || fail "after rekey A lists $(wc -l <"$WORK/spi.after") CHILD_SAs, want $N"
[ -z "$(comm -12 "$WORK/spi.before" "$WORK/spi.after")" ] || fail "some inbound SPIs did not change: $(comm -12 "$WORK/spi.before" "$WORK/spi.after" | head -3)"
ctl_a list-sas --json | jq -r '.[].children[].spi_out' | sort >"$WORK/spi_out.a"
b_spis_match() { ctl_b list-sas --json | jq -r '.[].children[].spi_in' | sort | cmp -s - "$WORK/spi_out.a"; }
wait_until 10 b_spis_match ||
  fail "B's inbound SPIs are not A's outbound SPIs after the rekey"
[ "$(count_ike ctl_a)" -eq "$N" ] || fail "the rekey changed the number of IKE SAs"
echo "ok: rekey --all rekeyed $N / $N with progress; every SPI changed and both sides agree"

# --- rekey --all --ike-sas of N IKE SAs: blocks, progress, N / N, new IKE SPIs on both sides,
# the CHILD_SAs move over unchanged
ike_spis() { "$@" list-sas --json | jq -r '.[].local_spi' | sort; }
ike_spis ctl_a >"$WORK/ike.a.before"
ike_spis ctl_b >"$WORK/ike.b.before"
ctl_a list-sas --json | jq -r '.[].children[].spi_in' | sort >"$WORK/spi.before"
out=$(ctl_a rekey --all --ike-sas --timeout 120 --progress 2>"$WORK/ike.progress") || fail "rekey --all --ike-sas failed: $out"
echo "$out" | grep -qx "rekeyed $NG / $NG" || fail "rekey --all --ike-sas did not report $N / $N: $out"
grep -qE "^rekeyed [0-9,]+ / $NG$" "$WORK/ike.progress" || fail "no progress line during rekey --all --ike-sas"
# It answered once every old IKE SA was deleted: on A at once, on B once the DELETE arrived.
ike_spis ctl_a >"$WORK/ike.a.after"
[ "$(wc -l <"$WORK/ike.a.after")" -eq "$N" ] || fail "after the IKE rekey A lists $(wc -l <"$WORK/ike.a.after") IKE SAs, want $N"
[ -z "$(comm -12 "$WORK/ike.a.before" "$WORK/ike.a.after")" ] || fail "$(comm -12 "$WORK/ike.a.before" "$WORK/ike.a.after" | wc -l) IKE SPIs of A did not change: $(comm -12 "$WORK/ike.a.before" "$WORK/ike.a.after" | head -3 | tr "\n" " ")"
ike_spis ctl_b >"$WORK/ike.b.after"
[ "$(wc -l <"$WORK/ike.b.after")" -eq "$N" ] || fail "after the IKE rekey B lists $(wc -l <"$WORK/ike.b.after") IKE SAs, want $N"
[ -z "$(comm -12 "$WORK/ike.b.before" "$WORK/ike.b.after")" ] || fail "some IKE SPIs of B did not change"
[ "$(ctl_a list-sas --json | jq '[.[] | select(.state == "ESTABLISHED")] | length')" -eq "$N" ] || fail "not every IKE SA of A is ESTABLISHED after the IKE rekey"
ctl_a list-sas --json | jq -r '.[].children[] | select(.state == "INSTALLED") | .spi_in' | sort >"$WORK/spi.after"
cmp -s "$WORK/spi.before" "$WORK/spi.after" || fail "the CHILD_SAs of A changed with the IKE rekey"
[ "$(count_child ctl_b)" -eq "$N" ] || fail "B lists $(count_child ctl_b) CHILD_SAs after the IKE rekey, want $N"
# The new IKE SAs work: a CHILD_SA rekey over each of them.
out=$(ctl_a rekey --all --timeout 120) || fail "CHILD_SA rekey over the new IKE SAs failed: $out"
echo "$out" | grep -qx "rekeyed $NG / $NG" || fail "CHILD_SA rekey over the new IKE SAs: $out"
out=$(ctl_a rekey --child net --ike-sas 2>&1)
[ $? -eq 2 ] || fail "rekey --child --ike-sas must be a usage error: $out"
echo "ok: rekey --all --ike-sas rekeyed $N / $N IKE SAs with progress; new IKE SPIs on both sides, CHILD_SAs kept"

# --- JSON and --noblock
out=$(ctl_a rekey --ike-id "$(ctl_a list-sas --json | jq '.[0].id')" --json) || fail "rekey --ike-id --json failed: $out"
echo "$out" | jq -e '.matched == 1 and .completed == 1 and .failed == 0 and .not_done == []' >/dev/null ||
  fail "rekey --json: $out"
out=$(ctl_a rekey --all --noblock) || fail "rekey --noblock failed: $out"
echo "$out" | grep -qx "rekeying $N CHILD_SA(s)" || fail "rekey --noblock: $out"
wait_until 60 aikectl_jq "$NS_A" "$A" "[.[].children[] | select(.state == \"INSTALLED\")] | length == $N" list-sas ||
  fail "the --noblock rekeys did not settle"
echo "ok: rekey --json counts; --noblock answers at once"

# --- rekey --all while terminate --ike-id hits random SAs, then terminate --all
ctl_a rekey --all --timeout 120 --json >"$WORK/race.rekey" 2>"$WORK/race.rekey.err" &
REKEY=$!
STARTED_PIDS+=($REKEY)
ids=$(ctl_a list-sas --json | jq -r '.[].id' | shuf -n 20)
TERMS=()
for id in $ids; do
  ctl_a terminate --ike-id "$id" >/dev/null 2>&1 &
  TERMS+=($!)
done
ctl_b terminate --ike-id "$(ctl_b list-sas --json | jq -r '.[].id' | shuf -n 1)" >/dev/null 2>&1
out=$(ctl_a terminate --all --timeout 120 --json 2>&1)
term_rc=$?
wait "$REKEY"
rekey_rc=$?
for pid in "${TERMS[@]}"; do wait "$pid"; done
rekey_out=$(cat "$WORK/race.rekey")
echo "rekey during terminate: $(echo "$rekey_out" | jq -c '{matched, completed, failed, not_done: (.not_done | length)}') (exit $rekey_rc)"
echo "terminate --all: $(echo "$out" | jq -c '{matched, completed, failed, not_done: (.not_done | length)}') (exit $term_rc)"
[ $term_rc -eq 0 ] || fail "terminate --all during a rekey failed: $out"
echo "$rekey_out" | jq -e '.not_done == [] and (.completed + .failed == .matched) and .matched > 0' >/dev/null ||
  fail "rekey --all during terminates: counts do not add up or it did not finish: $rekey_out $(cat "$WORK/race.rekey.err")"
echo "$rekey_out" | jq -e '(.errors | length) == .failed' >/dev/null || fail "failed rekeys without an error line: $rekey_out"
wait_until 30 aikectl_jq "$NS_A" "$A" 'length == 0' list-sas ||
  fail "A still lists SAs after terminate --all"
wait_until 30 aikectl_jq "$NS_B" "$B" 'length == 0' list-sas ||
  fail "B still lists SAs after A's terminate --all"
ctl_a version >/dev/null || fail "aiked A stopped answering"
ctl_b version >/dev/null || fail "aiked B stopped answering"
echo "ok: rekey --all and terminates together: both finished, rekeyed + failed == matched, no SA left"

# --- rekey --all --ike-sas while a terminate --all runs: both finish, nothing half-done
out=$(ctl_a initiate --ike load --count "$N" --timeout 120 2>&1) || fail "initiate --count $N failed: $out"
wait_until 30 aikectl_jq "$NS_B" "$B" "length == $N" list-sas ||
  fail "B does not list $N IKE SAs"
before=$(grep -c "rekeying IKE SA" "$A/aiked.log")
ctl_a rekey --all --ike-sas --timeout 120 --json >"$WORK/race.ike" 2>"$WORK/race.ike.err" &
REKEY=$!
STARTED_PIDS+=($REKEY)
# terminate --all as soon as the first IKE rekeys went out, so that the two overlap
for _ in $(seq 1 500); do [ "$(grep -c "rekeying IKE SA" "$A/aiked.log")" -gt "$before" ] && break; sleep 0.01; done
out=$(ctl_a terminate --all --timeout 120 --json 2>&1)
term_rc=$?
wait "$REKEY"
rekey_rc=$?
rekey_out=$(cat "$WORK/race.ike")
echo "IKE rekey during terminate --all: $(echo "$rekey_out" | jq -c '{matched, completed, failed, not_done: (.not_done | length)}') (exit $rekey_rc)"
echo "terminate --all: $(echo "$out" | jq -c '{matched, completed, failed, not_done: (.not_done | length)}') (exit $term_rc)"
[ $term_rc -eq 0 ] || fail "terminate --all during an IKE rekey failed: $out"
echo "$out" | jq -e ".matched == $N and .completed == $N" >/dev/null || fail "terminate --all during an IKE rekey: $out"
echo "$rekey_out" | jq -e ".matched == $N and .not_done == [] and (.completed + .failed == .matched) and (.errors | length) == .failed" \
  >/dev/null || fail "rekey --all --ike-sas during terminate --all: counts do not add up: $rekey_out $(cat "$WORK/race.ike.err")"
wait_until 30 aikectl_jq "$NS_A" "$A" 'length == 0' list-sas ||
  fail "A still lists SAs after terminate --all"
wait_until 30 aikectl_jq "$NS_B" "$B" 'length == 0' list-sas ||
  fail "B still lists SAs after A's terminate --all"
ctl_a version >/dev/null || fail "aiked A stopped answering"
ctl_b version >/dev/null || fail "aiked B stopped answering"
echo "ok: rekey --all --ike-sas and terminate --all together: both finished, counts add up, no SA left"

# --- SAs terminated while their rekey is in flight count as failed: B is stopped (SIGSTOP), so
# no rekey can complete; a forced terminate --all on A ends every SA meanwhile.
M=50
out=$(ctl_a initiate --ike load --count $M --timeout 60 2>&1) || fail "initiate --count $M failed: $out"
before=$(grep -c "rekeying CHILD_SA" "$A/aiked.log")
kill -STOP "$(cat "$B/aiked.pid")"
ctl_a rekey --all --timeout 60 --json >"$WORK/stuck.rekey" 2>&1 &
REKEY=$!
STARTED_PIDS+=($REKEY)
wait_until 10 sh -c "[ \$(grep -c 'rekeying CHILD_SA' $A/aiked.log) -ge $((before + M)) ]" ||
  { kill -CONT "$(cat "$B/aiked.pid")"; fail "A did not start $M rekeys"; }
# A second rekey of the same CHILD_SAs waits for the ones in flight; after --timeout it names them.
out=$(ctl_a rekey --all --timeout 1 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "rekey --timeout 1 with a stopped peer: exit $rc, want 1: $out"
echo "$out" | grep -qx "rekeyed 0 / $M" || fail "rekey --timeout 1 with a stopped peer: $out"
[ "$(echo "$out" | grep "^not finished in time: " | grep -o 'load\[[0-9]*\]{[0-9]*}' | sort -u | wc -l)" -eq $M ] ||
  fail "rekey --timeout 1 did not name the $M unfinished CHILD_SAs: $out"
out=$(ctl_a terminate --all --force --json 2>&1)
term_rc=$?
wait "$REKEY"
kill -CONT "$(cat "$B/aiked.pid")"
rekey_out=$(cat "$WORK/stuck.rekey")
echo "rekey with a stopped peer, then terminate --all --force: $(echo "$rekey_out" | jq -c '{matched, completed, failed}')"
[ $term_rc -eq 0 ] || fail "terminate --all --force failed: $out"
echo "$rekey_out" | jq -e ".matched == $M and .failed == $M and .completed == 0 and .not_done == [] and (.errors | length) == $M" \
  >/dev/null || fail "the rekeys of terminated SAs were not all counted as failed: $rekey_out"
[ "$(count_ike ctl_a)" -eq 0 ] || fail "A still lists SAs after terminate --all --force"
out=$(ctl_b terminate --all --force 2>&1) || fail "terminate --all --force on B: $out"
ctl_a version >/dev/null || fail "aiked A stopped answering"
ctl_b version >/dev/null || fail "aiked B stopped answering"
echo "ok: CHILD_SAs whose IKE SA was terminated mid-rekey count as failed; nothing hangs"

# --- the same for IKE SA rekeys: B stopped, rekey --all --ike-sas, terminate --all --force
out=$(ctl_a initiate --ike load --count $M --timeout 60 2>&1) || fail "initiate --count $M failed: $out"
before=$(grep -c "rekeying IKE SA" "$A/aiked.log")
kill -STOP "$(cat "$B/aiked.pid")"
ctl_a rekey --all --ike-sas --timeout 60 --json >"$WORK/stuck.ike" 2>&1 &
REKEY=$!
STARTED_PIDS+=($REKEY)
wait_until 10 sh -c "[ \$(grep -c 'rekeying IKE SA' $A/aiked.log) -ge $((before + M)) ]" ||
  { kill -CONT "$(cat "$B/aiked.pid")"; fail "A did not start $M IKE rekeys"; }
out=$(ctl_a terminate --all --force --json 2>&1)
term_rc=$?
wait "$REKEY"
kill -CONT "$(cat "$B/aiked.pid")"
rekey_out=$(cat "$WORK/stuck.ike")
echo "IKE rekey with a stopped peer, then terminate --all --force: $(echo "$rekey_out" | jq -c '{matched, completed, failed}')"
[ $term_rc -eq 0 ] || fail "terminate --all --force failed: $out"
echo "$rekey_out" | jq -e ".matched == $M and .failed == $M and .completed == 0 and .not_done == [] and (.errors | length) == $M" \
  >/dev/null || fail "the IKE rekeys of terminated SAs were not all counted as failed: $rekey_out"
out=$(ctl_b terminate --all --force 2>&1) || fail "terminate --all --force on B: $out"
ctl_a version >/dev/null || fail "aiked A stopped answering"
echo "ok: IKE SAs terminated mid-rekey count as failed; nothing hangs"

aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
