#!/usr/bin/env bash
# Bulk rekey benchmark (docs/benchmarks.md, "Bulk rekey (rekey_bench)"): for each N, N IKE SAs (one
# CHILD_SA each) between two aiked, then a rekey of every CHILD_SA, then a rekey of every IKE SA;
# then the same between two strongSwan charon (through vici), in the same run. Prints wall time,
# CPU µs per SA (both daemons), peak RSS (VmHWM) of each daemon during each rekey, whether the SA
# counts stayed and every SPI changed, and the ratios aiked/charon. A program that prints figures,
# never a test.
#
#   bench/rekey_bench.sh [-b BUILD_DIR] [--charon-max N] [--no-charon] [--no-aiked]
#                        [--max-half-open H] [--perf DIR] N...
#
#   -b BUILD_DIR     where aiked, aikectl and bench/vici_load are (default: build)
#   --charon-max N   run charon only for N up to this (larger N print "charon not run at N")
#   --no-charon      aiked only
#   --no-aiked       charon only
#   --max-half-open H  pacing of the set-up, as in daemon_vs_charon.sh (default 1000)
#   --perf DIR       also `perf record -g` both aiked during each rekey into
#                    DIR/aiked-{child,ike}-N.data (figures are then slower)
#   N...             numbers of IKE SAs (default: 10000)
#
# aiked: `aikectl rekey --all` (CHILD_SAs) and `aikectl rekey --all --ike-sas` (IKE SAs), which
# block until every rekey is complete (new SA in use, old one deleted) and count them.
# charon: one vici `rekey` request by name (child=net, then ike=c; charon answers once the rekeys
# are queued), then its `child-rekey` / `ike-rekey` events are counted until N arrived ("wall
# s"), then the script waits until both charons are idle (at most one clock tick of CPU in a
# second: the old SAs' DELETE exchanges are over; "settled s", to 1 s) and lists the SAs.
# Peak RSS: VmHWM of each daemon, reset before each rekey (`echo 5 > /proc/PID/clear_refs`).
# Needs root; the set-up (namespaces, daemons, configurations) is bench/lib/daemons.sh, the same
# as daemon_vs_charon.sh. Only the processes this script starts are ended, by PID.
set -u

. "$(dirname "$0")/lib/options.sh"
bench_options 2,29 "10000" "$@"

BENCH_NAME=rekey_bench
. "$(dirname "$0")/lib/daemons.sh"
bench_netns_setup

# Peak resident memory since the last reset, MiB (VmHWM); reset_hwm PID... starts a new peak.
load1() { cut -d' ' -f1 /proc/loadavg; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
reset_hwm() { local p; for p in "$@"; do echo 5 >"/proc/$p/clear_refs"; done; }
# same_count_none_common BEFORE AFTER: "all N" when the two sorted lists have as many lines and
# none in common. For aiked's CHILD_SAs the lines are "IKE-SA-id SPI", so that an SPI another SA
# had before (28 random bits: about 0.4 such coincidences expected at 10,000) is no false alarm.
same_count_none_common() {
  local nb na common
  nb=$(wc -l <"$1")
  na=$(wc -l <"$2")
  common=$(comm -12 "$1" "$2" | wc -l)
  if [ "$nb" = "$na" ] && [ "$common" = 0 ]; then echo "all $na"; else echo "NO ($common of $na kept, $nb before)"; fi
}

# One result row: DAEMON N PHASE — from the R_* variables.
ROWS=()
declare -A FIG
add_row() {
  ROWS+=("$(printf '| %7s | %-6s | %-5s | %13s | %8s | %8s | %9s | %9s | %11s | %14s | %s | %s |' \
    "$2" "$1" "$3" "$R_DONE" "$R_WALL" "$R_SETTLED" "$R_CPU" "$R_RSS0" "$R_HWM" "$R_COUNTS" "$R_SPIS" "$R_LOAD")")
  echo "${ROWS[-1]}" >&2  # as it comes, for long runs
  FIG[$1_$3_wall_$2]=$R_WALL_NUM
  FIG[$1_$3_cpu_$2]=$R_CPU
  FIG[$1_$3_hwm_$2]=$R_HWM_SUM
}

# ---------------------------------------------------------------- aiked
# aiked_phase NS_A A NS_B B N PHASE(child|ike) PIDS: one bulk rekey, sets R_*.
aiked_phase() {
  local a=$2 b=$4 n=$5 phase=$6 pa pb out t0 t1 c0 tmo extra=()
  pa=$(cat "$a/pid")
  pb=$(cat "$b/pid")
  tmo=$((n / 50 + 120))
  [ "$phase" = ike ] && extra=(--ike-sas)
  actl "$NS_A" "$a" list-sas --json >"$a/before.json"
  jq -r '.[] | "\(.id) \(.children[].spi_in)"' "$a/before.json" | sort >"$a/child.before"
  jq -r '.[].local_spi' "$a/before.json" | sort >"$a/ike.before"
  actl "$NS_B" "$b" list-sas --json | jq -r '.[].local_spi' | sort >"$b/ike.before"
  R_RSS0="$(rss_mib "$pa")/$(rss_mib "$pb")"
  R_LOAD=$(load1)
  reset_hwm "$pa" "$pb"
  perf_start "aiked-$phase-$n" "$pa,$pb"
  c0=$(cpu_ticks "$pa" "$pb")
  t0=$(now)
  out=$(actl "$NS_A" "$a" rekey --all "${extra[@]}" --timeout "$tmo" --json)
  t1=$(now)
  R_CPU=$(cpu_per_sa $(( $(cpu_ticks "$pa" "$pb") - c0 )) "$n")
  perf_stop
  R_HWM="$(hwm_mib "$pa")/$(hwm_mib "$pb")"
  R_HWM_SUM=$(( $(hwm_mib "$pa") + $(hwm_mib "$pb") ))
  R_WALL=$(elapsed "$t0" "$t1")
  R_WALL_NUM=$R_WALL
  R_SETTLED="="
  R_DONE="$(jq -r '"\(.completed)/\(.matched)" + (if .failed > 0 then " \(.failed)f" else "" end) + (if (.not_done | length) > 0 then " \(.not_done | length)nd" else "" end)' <<<"$out")"
  jq -e '.failed == 0 and .not_done == []' <<<"$out" >/dev/null ||
    echo "warning: aiked rekey ($phase): $(jq -c '{matched, completed, failed, errors: .errors[:3], not_done: (.not_done | length)}' <<<"$out")" >&2
  R_LOAD="$R_LOAD -> $(load1)"
  # The counts must not change; the SPIs must (A's inbound CHILD_SA SPIs for a CHILD rekey, the
  # IKE SPIs of both sides for an IKE rekey, whose CHILD_SAs keep theirs).
  actl "$NS_A" "$a" list-sas --json >"$a/after.json"
  jq -r '.[] | "\(.id) \(.children[].spi_in)"' "$a/after.json" | sort >"$a/child.after"
  jq -r '.[].local_spi' "$a/after.json" | sort >"$a/ike.after"
  actl "$NS_B" "$b" list-sas --json | jq -r '.[].local_spi' | sort >"$b/ike.after"
  local ia ca ib cb
  ia=$(astat "$NS_A" "$a" ike_sas_established)
  ca=$(jq '[.[].children[] | select(.state == "INSTALLED")] | length' "$a/after.json")
  ib=$(astat "$NS_B" "$b" ike_sas_established)
  cb=$(astat "$NS_B" "$b" child_sas)
  R_COUNTS="$ia+$ca/$ib+$cb$([ "$ia$ca$ib$cb" = "$n$n$n$n" ] || echo ' !')"
  if [ "$phase" = child ]; then
    R_SPIS="child in A: $(same_count_none_common "$a/child.before" "$a/child.after")"
  else
    R_SPIS="IKE A: $(same_count_none_common "$a/ike.before" "$a/ike.after"), IKE B: $(same_count_none_common "$b/ike.before" "$b/ike.after"), child kept: $(comm -12 "$a/child.before" "$a/child.after" | wc -l)"
  fi
  rm -f "$a/before.json" "$a/after.json"
}

run_aiked() {
  local n=$1 a=$WORK/aiked-a-$1 b=$WORK/aiked-b-$1 out ok tmo
  bench_aiked_pair "$a" "$b"
  tmo=$((n / 50 + 60))
  local t0
  t0=$(now)
  if [ "$MAX_HALF_OPEN" = 0 ] || [ "$n" -le "$MAX_HALF_OPEN" ]; then
    out=$(actl "$NS_A" "$a" initiate --ike c --count "$n" --timeout "$tmo" --json)
    ok=$(jq -r .completed <<<"$out")
  else
    read -r ok _ < <(aiked_initiate_paced "$NS_A" "$a" "$n" "$MAX_HALF_OPEN")
  fi
  echo "   aiked: $ok of $n IKE SAs up in $(elapsed "$t0" "$(now)") s" >&2
  [ "$ok" = "$n" ] || echo "warning: aiked established $ok of $n" >&2
  wait_field "$NS_B" "$b" ike_sas_established "$ok" 60 >/dev/null || echo "warning: aiked responder shows $(astat "$NS_B" "$b" ike_sas_established) established" >&2
  for phase in child ike; do
    echo "   aiked: rekey of every $phase SA" >&2
    aiked_phase "$NS_A" "$a" "$NS_B" "$b" "$n" "$phase"
    add_row aiked "$n" "$phase"
  done
  actl "$NS_A" "$a" terminate --all --force --timeout 600 >/dev/null
  stop_pid "$(cat "$a/pid")"
  stop_pid "$(cat "$b/pid")"
}

# ---------------------------------------------------------------- charon
# charon_list DIR: the raw SA list of the charon at DIR.
charon_list() { swanctl --list-sas --raw --uri "unix://$1/charon.vici" 2>/dev/null; }
# charon_spis RAW KEY: sorted values of KEY (initiator-spi, spi-in, ...)
charon_spis() { grep -o "$2=[0-9a-f]*" "$1" | cut -d= -f2 | sort; }
# charon_installed_spis RAW: sorted inbound SPIs of the INSTALLED CHILD_SAs only (charon keeps a
# rekeyed CHILD_SA listed for delete_rekeyed_delay, 5 s by default, after its DELETE)
charon_installed_spis() { grep -o 'state=INSTALLED[^{}]*spi-in=[0-9a-f]*' "$1" | grep -o 'spi-in=[0-9a-f]*' | cut -d= -f2 | sort; }

# charon_quiet PIDS...: waits until both charons used at most one clock tick of CPU in one second
# (the old SAs' DELETE exchanges are over); prints the epoch time of the last busy second's end.
charon_quiet() {
  local c last t_busy
  t_busy=$(now)
  last=$(cpu_ticks "$@")
  for _ in $(seq 1 600); do
    sleep 1
    c=$(cpu_ticks "$@")
    [ $((c - last)) -le 1 ] && break
    last=$c
    t_busy=$(now)
  done
  echo "$t_busy"
}

charon_phase() {
  local a=$1 b=$2 n=$3 phase=$4 pa pb out t0 c0 tmo last ts
  pa=$(cat "$a/pid")
  pb=$(cat "$b/pid")
  tmo=$((n / 5 + 120))
  charon_list "$a" >"$a/before.raw"
  charon_list "$b" >"$b/before.raw"
  R_RSS0="$(rss_mib "$pa")/$(rss_mib "$pb")"
  R_LOAD=$(load1)
  reset_hwm "$pa" "$pb"
  c0=$(cpu_ticks "$pa" "$pb")
  t0=$(now)
  # as many rekey events as there are SAs now (fewer than N when earlier steps lost some); a
  # rekey whose IKE SA fails sends none, so the count stops when none came for 60 s ("stalled")
  local cur
  cur=$("$VICI" "$a/charon.vici" stats | awk '{ print $2 }')
  if [ "$phase" = child ]; then
    out=$("$VICI" "$a/charon.vici" rekey child net "$cur" "$tmo" 60)
  else
    out=$("$VICI" "$a/charon.vici" rekey ike c "$cur" "$tmo" 60)
  fi
  [[ $out == done* ]] || echo "warning: charon rekey ($phase) of $cur: $out" >&2
  last=$(awk '{ for (i = 1; i < NF; i++) if ($i == "last_event") print $(i + 1) }' <<<"$out")
  [ -n "$last" ] && [ "${last%.*}" != 0 ] || last=$(now)
  ts=$(charon_quiet "$pa" "$pb")
  R_CPU=$(cpu_per_sa $(( $(cpu_ticks "$pa" "$pb") - c0 )) "$cur")  # per SA there to rekey
  R_HWM="$(hwm_mib "$pa")/$(hwm_mib "$pb")"
  R_HWM_SUM=$(( $(hwm_mib "$pa") + $(hwm_mib "$pb") ))
  R_WALL=$(elapsed "$t0" "$last")
  R_SETTLED=$(elapsed "$t0" "$ts")
  # compared with aiked's wall time, which includes deleting the old SAs: the later of the two
  R_WALL_NUM=$(awk -v a="$R_WALL" -v b="$R_SETTLED" 'BEGIN { print (b > a ? b : a) }')
  R_DONE="$(awk '{ for (i = 1; i < NF; i++) { if ($i == "events") e = $(i + 1); if ($i == "matches") m = $(i + 1) } } END { print e "/" m }' <<<"$out")$([[ $out == stalled* ]] && echo ' st')"
  R_LOAD="$R_LOAD -> $(load1)"
  charon_list "$a" >"$a/after.raw"
  charon_list "$b" >"$b/after.raw"
  local ia ca ib cb
  ia=$(grep -o 'state=ESTABLISHED' "$a/after.raw" | wc -l)
  ca=$(grep -o 'state=INSTALLED' "$a/after.raw" | wc -l)
  ib=$(grep -o 'state=ESTABLISHED' "$b/after.raw" | wc -l)
  cb=$(grep -o 'state=INSTALLED' "$b/after.raw" | wc -l)
  R_COUNTS="$ia+$ca/$ib+$cb$([ "$ia$ca$ib$cb" = "$n$n$n$n" ] || echo ' !')"
  local f
  for f in "$a/before.raw" "$a/after.raw" "$b/before.raw" "$b/after.raw"; do
    charon_installed_spis "$f" >"$f.child"
    charon_spis "$f" initiator-spi >"$f.ike"
  done
  if [ "$phase" = child ]; then
    R_SPIS="child in A: $(same_count_none_common "$a/before.raw.child" "$a/after.raw.child")"
  else
    R_SPIS="IKE A: $(same_count_none_common "$a/before.raw.ike" "$a/after.raw.ike"), IKE B: $(same_count_none_common "$b/before.raw.ike" "$b/after.raw.ike"), child kept: $(comm -12 "$a/before.raw.child" "$a/after.raw.child" | wc -l)"
  fi
  rm -f "$a"/*.raw* "$b"/*.raw*
}

run_charon() {
  local n=$1 a=$WORK/charon-a-$1 b=$WORK/charon-b-$1 out t0
  bench_charon_pair "$a" "$b"
  t0=$(now)
  "$VICI" "$a/charon.vici" initiate net c "$n" 128 "$MAX_HALF_OPEN" >"$a/initiate.log" 2>&1 || echo "warning: vici initiate: $(cat "$a/initiate.log")" >&2
  out=$("$VICI" "$a/charon.vici" wait-up "$n" $((n / 20 + 60)))
  "$VICI" "$b/charon.vici" wait-up "$n" 30 >/dev/null
  echo "   charon: $out ($(elapsed "$t0" "$(now)") s)" >&2
  # The rekeys are of the SAs that are up: with some lost during set-up, N is what is there.
  local up
  up=$(charon_list "$a" | grep -o 'state=ESTABLISHED' | wc -l)
  [ "$up" = "$n" ] || echo "warning: charon has $up of $n IKE SAs up; rekeying those" >&2
  for phase in child ike; do
    echo "   charon: rekey of every $phase SA" >&2
    charon_phase "$a" "$b" "$up" "$phase"
    add_row charon "$n" "$phase"
  done
  "$VICI" "$a/charon.vici" terminate c >/dev/null 2>&1
  stop_pid "$(cat "$a/pid")"
  stop_pid "$(cat "$b/pid")"
}

# ---------------------------------------------------------------- run and print
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "aiked: $("$AIKED" --version 2>/dev/null | head -1)  build: $BUILD"
[ -z "$NO_CHARON" ] && echo "charon: strongSwan $(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null), kernel-libipsec"
echo "load average at start: $(load)"
echo

for n in "${NS_LIST[@]}"; do
  if [ -z "$NO_AIKED" ]; then
    echo "== N = $n: aiked" >&2
    run_aiked "$n"
  fi
  if [ -n "$NO_CHARON" ] || { [ -n "$CHARON_MAX" ] && [ "$n" -gt "$CHARON_MAX" ]; }; then
    ROWS+=("| $(printf '%7s' "$n") | charon | -     | charon not run at N = $n (--charon-max ${CHARON_MAX:-, --no-charon}); no figures, nothing extrapolated |")
    continue
  fi
  echo "== N = $n: charon" >&2
  run_charon "$n"
done

echo '|       N | daemon | rekey | done/matched  |   wall s | settled s | CPU µs/SA | RSS MiB A/B | peak MiB A/B | IKE+CHILD A/B | SPIs changed | load 1 min before -> after |'
echo '|--------:|--------|-------|--------------:|---------:|----------:|----------:|------------:|-------------:|--------------:|---|---|'
printf '%s\n' "${ROWS[@]}"
cat <<'EXPLAIN'
  rekey: child = every CHILD_SA, ike = every IKE SA (the CHILD_SAs move over).
  done/matched: aiked: rekeys completed / SAs the command addressed (as `aikectl rekey --json`
  counts them; "Nf" failed, "Nnd" not done in time); charon: rekey events received / matches
  of the vici `rekey` request ("st": no event for 60 s, the rest never came).
  wall s: aiked: until `aikectl rekey` returned (every new SA in use, every old one deleted);
  charon: until the last rekey event. settled s (charon): until both charons were idle again
  (the old SAs deleted; to 1 s).
  CPU µs/SA: user + system time of both daemons during the rekey (until settled for charon) / N.
  RSS MiB A/B: before the rekey; peak MiB A/B: VmHWM during it (reset before).
  IKE+CHILD A/B: established IKE SAs + installed CHILD_SAs on A / on B afterwards ("!" if not N).
EXPLAIN
echo
echo "Ratios aiked / charon (lower is better):"
echo "(wall time: aiked's until \`aikectl rekey\` returned against charon's until settled, or its last event if later)"
echo '|       N | rekey | wall time | CPU per SA | peak RSS (A+B) |'
echo '|--------:|-------|----------:|-----------:|---------------:|'
for n in "${NS_LIST[@]}"; do
  for phase in child ike; do
    if [ -z "${FIG[aiked_${phase}_wall_$n]:-}" ] || [ -z "${FIG[charon_${phase}_wall_$n]:-}" ]; then
      printf '| %7s | %-5s | not both daemons run at N = %s: no ratios | | |\n' "$n" "$phase" "$n"
      continue
    fi
    printf '| %7s | %-5s | %9s | %10s | %14s |\n' "$n" "$phase" \
      "$(ratio "${FIG[aiked_${phase}_wall_$n]}" "${FIG[charon_${phase}_wall_$n]}")" \
      "$(ratio "${FIG[aiked_${phase}_cpu_$n]}" "${FIG[charon_${phase}_cpu_$n]}")" \
      "$(ratio "${FIG[aiked_${phase}_hwm_$n]}" "${FIG[charon_${phase}_hwm_$n]}")"
  done
done
echo "load average at end: $(load)"
