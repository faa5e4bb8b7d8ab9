#!/usr/bin/env bash
# Daemon benchmark (docs/benchmarks.md, "Daemon vs charon"): for each N, N IKE SAs (each with one
# CHILD_SA) between two aiked, then terminate all; then the same workload between two strongSwan
# charon; prints setup rate, terminate time, resident memory per IKE SA, list-sas time and the
# ratios aiked/charon. A program that prints figures, never a test.
#
#   bench/daemon_vs_charon.sh [-b BUILD_DIR] [--charon-max N] [--no-charon] N...
#
#   -b BUILD_DIR     where aiked, aikectl and bench/vici_load are (default: build)
#   --charon-max N   run charon only for N up to this (larger N print "charon not run at N")
#   --no-charon      aiked only
#   --no-aiked       charon only
#   --max-half-open H  pace the load: keep at most H initiated IKE SAs not yet up, the same way
#                    for both daemons (default 1000); 0 = everything at once (`aikectl initiate
#                    --count N`, N vici initiate requests pipelined), which overruns the
#                    responders' 30 s half-open timeout at large N on this machine
#   --perf DIR       also record `perf record -g` of both aiked during setup and during terminate
#                    into DIR/aiked-{setup,terminate}-N.data (figures are then slower)
#   N...             numbers of IKE SAs (default: 1000 10000)
#
# Needs root (network namespaces) and strongSwan's charon with kernel-libipsec (Debian:
# strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins).
# Two namespaces joined by a veth pair, A = 10.250.0.1 (initiator), B = 10.250.0.2 (responder);
# every address lives inside them. Both daemons: IKE aes256gcm16-prfsha256-x25519, PSK, ESP
# aes256gcm16, unique = never, cookie / half-open limits out of the way, little logging.
# aiked: kernel = "null". charon: kernel-libipsec (this kernel has XFRM but no ESP, so
# kernel-netlink cannot install CHILD_SAs; libipsec keeps them in user space and makes charon use
# UDP encapsulation). Only the processes this script starts are ended, by PID; the namespaces and
# the work folder are removed at exit (KEEP_WORK=1 keeps the folder with the logs).
set -u

. "$(dirname "$0")/lib/options.sh"
bench_options 2,22 "1000 10000" "$@"

BENCH_NAME=daemon_vs_charon
. "$(dirname "$0")/lib/daemons.sh"
bench_netns_setup

# run_aiked N: sets R_* for the table.
run_aiked() {
  local n=$1 a=$WORK/aiked-a-$1 b=$WORK/aiked-b-$1 t0 t1 out ok
  bench_aiked_pair "$a" "$b"
  local rss_a0 rss_b0 rss_a rss_b
  rss_a0=$(astat "$NS_A" "$a" rss_bytes)
  rss_b0=$(astat "$NS_B" "$b" rss_bytes)
  R_LOAD=$(load)
  local tmo=$((n / 50 + 60)) pids c0
  pids="$(cat "$a/pid") $(cat "$b/pid")"
  perf_start "aiked-setup-$n" "${pids/ /,}"
  c0=$(cpu_ticks $pids)
  t0=$(now)
  # Up to H SAs the pacing has nothing to do: one blocking `initiate --count N`, which returns the
  # moment the last SA is up (the pacing loop only sees that at its next `stats`, 0.1-0.3 s later
  # on a loaded machine, which would count against aiked at N = 1,000).
  if [ "$MAX_HALF_OPEN" = 0 ] || [ "$n" -le "$MAX_HALF_OPEN" ]; then
    out=$(actl "$NS_A" "$a" initiate --ike c --count "$n" --timeout "$tmo" --json)
    t1=$(now)
    ok=$(jq -r .completed <<<"$out")
    [ "$ok" = "$n" ] || echo "warning: aiked established $ok of $n: $(jq -c '{failed, errors: .errors[:3], not_done: (.not_done|length)}' <<<"$out")" >&2
  else
    read -r ok t1 < <(aiked_initiate_paced "$NS_A" "$a" "$n" "$MAX_HALF_OPEN")
    [ "$ok" = "$n" ] || echo "warning: aiked established $ok of $n (paced; nothing changed for 30 s); initiator: $(actl "$NS_A" "$a" stats --json | jq -c '{ike_sas, half_open, by_state: (.by_state // .states), drops}'), responder: $(actl "$NS_B" "$b" stats --json | jq -c '{ike_sas, half_open, drops}')" >&2
  fi
  R_SETUP=$(elapsed "$t0" "$t1")
  R_CPU_UP=$(cpu_per_sa $(( $(cpu_ticks $pids) - c0 )) "$n")
  perf_stop
  R_UP="$ok"
  # The responder established each SA before sending the last IKE_AUTH response; check anyway.
  wait_field "$NS_B" "$b" ike_sas_established "$ok" 30 >/dev/null || echo "warning: aiked responder shows $(astat "$NS_B" "$b" ike_sas_established) established" >&2
  R_CHILD_A=$(astat "$NS_A" "$a" child_sas)
  R_CHILD_B=$(astat "$NS_B" "$b" child_sas)
  rss_a=$(astat "$NS_A" "$a" rss_bytes)
  rss_b=$(astat "$NS_B" "$b" rss_bytes)
  R_RSS_A=$(( (rss_a - rss_a0) / n ))
  R_RSS_B=$(( (rss_b - rss_b0) / n ))
  R_RSS_ABS="$((rss_a / 1048576))/$((rss_b / 1048576))"
  t0=$(now)
  actl "$NS_A" "$a" list-sas --json >"$a/list.json"
  t1=$(now)
  R_LIST=$(elapsed "$t0" "$t1")
  R_LISTED=$(jq '[.[] | select(.state == "ESTABLISHED" and .children[0].state == "INSTALLED")] | length' "$a/list.json")
  rm -f "$a/list.json"
  perf_start "aiked-terminate-$n" "${pids/ /,}"
  c0=$(cpu_ticks $pids)
  t0=$(now)
  out=$(actl "$NS_A" "$a" terminate --all --timeout 600 --json)
  t1=$(now)
  R_TERM=$(elapsed "$t0" "$t1")
  [ "$(jq -r .completed <<<"$out")" = "$ok" ] || echo "warning: aiked terminate: $(jq -c '{matched, completed, failed}' <<<"$out")" >&2
  local tb
  tb=$(wait_field "$NS_B" "$b" ike_sas 0 600) || echo "warning: aiked responder not empty: $tb" >&2
  R_TERM_B=$(elapsed "$t0" "$(now)")
  R_CPU_DOWN=$(cpu_per_sa $(( $(cpu_ticks $pids) - c0 )) "$n")
  perf_stop
  [ "$(astat "$NS_A" "$a" ike_sas)" = 0 ] || echo "warning: aiked initiator not empty after terminate --all" >&2
  R_LOAD="$R_LOAD -> $(load)"
  stop_pid "$(cat "$a/pid")"
  stop_pid "$(cat "$b/pid")"
}

run_charon() {
  local n=$1 a=$WORK/charon-a-$1 b=$WORK/charon-b-$1 t0 t1 out
  bench_charon_pair "$a" "$b"
  local pa pb rss_a0 rss_b0 rss_a rss_b
  pa=$(cat "$a/pid")
  pb=$(cat "$b/pid")
  rss_a0=$(rss_of "$pa")
  rss_b0=$(rss_of "$pb")
  R_LOAD=$(load)
  local tmo=$((n / 20 + 60)) c0
  c0=$(cpu_ticks "$pa" "$pb")
  t0=$(now)
  "$VICI" "$a/charon.vici" initiate net c "$n" 128 "$MAX_HALF_OPEN" >"$a/initiate.log" 2>&1 || echo "warning: vici initiate: $(cat "$a/initiate.log")" >&2
  out=$("$VICI" "$a/charon.vici" wait-up "$n" "$tmo")
  # until the last change of the counts: with failed SAs, the moment the last one came up
  t1=$(awk '{ for (i = 1; i < NF; i++) if ($i == "last_change") print $(i + 1) }' <<<"$out")
  R_SETUP=$(elapsed "$t0" "$t1")
  [[ $out == done* ]] || echo "warning: charon did not set up $n IKE SAs ($tmo s at most): $out" >&2
  "$VICI" "$b/charon.vici" wait-up "$n" 30 >/dev/null || echo "warning: charon responder: $("$VICI" "$b/charon.vici" stats)" >&2
  R_CPU_UP=$(cpu_per_sa $(( $(cpu_ticks "$pa" "$pb") - c0 )) "$n")
  rss_a=$(rss_of "$pa")
  rss_b=$(rss_of "$pb")
  R_RSS_A=$(( (rss_a - rss_a0) / n ))
  R_RSS_B=$(( (rss_b - rss_b0) / n ))
  R_RSS_ABS="$((rss_a / 1048576))/$((rss_b / 1048576))"
  t0=$(now)
  swanctl --list-sas --raw --uri "unix://$a/charon.vici" >"$a/list.raw" 2>&1
  t1=$(now)
  R_LIST=$(elapsed "$t0" "$t1")
  R_LISTED=$(grep -o 'state=ESTABLISHED' "$a/list.raw" | wc -l)
  R_UP=$R_LISTED
  R_CHILD_A=$(grep -o 'state=INSTALLED' "$a/list.raw" | wc -l)
  R_CHILD_B=$(swanctl --list-sas --raw --uri "unix://$b/charon.vici" 2>/dev/null | grep -o 'state=INSTALLED' | wc -l)
  [ -n "${KEEP_WORK:-}" ] || rm -f "$a/list.raw"
  c0=$(cpu_ticks "$pa" "$pb")
  t0=$(now)
  "$VICI" "$a/charon.vici" terminate c >"$a/terminate.log" 2>&1 || echo "warning: vici terminate: $(cat "$a/terminate.log")" >&2
  out=$("$VICI" "$a/charon.vici" wait-empty 600) || echo "warning: charon initiator not empty: $out" >&2
  t1=$(now)
  R_TERM=$(elapsed "$t0" "$t1")
  out=$("$VICI" "$b/charon.vici" wait-empty 600) || echo "warning: charon responder not empty: $out" >&2
  R_TERM_B=$(elapsed "$t0" "$(now)")
  R_CPU_DOWN=$(cpu_per_sa $(( $(cpu_ticks "$pa" "$pb") - c0 )) "$n")
  R_LOAD="$R_LOAD -> $(load)"
  stop_pid "$pa"
  stop_pid "$pb"
}

# ---------------------------------------------------------------- run and print
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "aiked: $("$AIKED" --version 2>/dev/null | head -1)  build: $BUILD"
[ -z "$NO_CHARON" ] && echo "charon: strongSwan $(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null), kernel-libipsec"
echo "pacing: $([ "$MAX_HALF_OPEN" = 0 ] && echo "none (all N initiated at once)" || echo "at most $MAX_HALF_OPEN initiated IKE SAs not yet up")"
echo "load average at start: $(load)"
echo

declare -A ROW
row() {  # DAEMON N
  printf '| %7s | %-6s | %7s | %6s | %7s | %7s | %6s | %7s | %6s | %6s | %6s | %7s | %8s | %6s | %s |\n' \
    "$2" "$1" "$R_UP$([ "$R_UP" = "$2" ] || echo '!')" "$R_CHILD_A/$R_CHILD_B" "$(div "$R_UP" "$R_SETUP")" "$R_SETUP" "$R_CPU_UP" "$R_TERM" "$R_TERM_B" "$R_CPU_DOWN" \
    "$R_RSS_A" "$R_RSS_B" "$R_RSS_ABS" "$R_LIST" "$R_LOAD"
}
header='|       N | daemon |      up | child(A/B) |  SAs/s | setup s | CPU µs/SA up | term. s | both s | CPU µs/SA down | B/SA A | B/SA B | RSS MiB A/B | list s | load before -> after |'

results=()
for n in "${NS_LIST[@]}"; do
  if [ -n "$NO_AIKED" ]; then
    results+=("| $(printf '%7s' "$n") | aiked  | aiked not run (--no-aiked) |")
  else
    echo "== N = $n: aiked" >&2
    run_aiked "$n"
    results+=("$(row aiked "$n")")
    ROW[aiked_rate_$n]=$(div "$R_UP" "$R_SETUP")
    ROW[aiked_term_$n]=$R_TERM
    ROW[aiked_rss_$n]=$(( (R_RSS_A + R_RSS_B) / 2 ))
    ROW[aiked_list_$n]=$R_LIST
    ROW[aiked_cpu_$n]=$R_CPU_UP
  fi
  if [ -n "$NO_CHARON" ] || { [ -n "$CHARON_MAX" ] && [ "$n" -gt "$CHARON_MAX" ]; }; then
    results+=("| $(printf '%7s' "$n") | charon | charon not run at N = $n (--charon-max ${CHARON_MAX:-, --no-charon}); no figures, nothing extrapolated |")
    continue
  fi
  echo "== N = $n: charon" >&2
  run_charon "$n"
  results+=("$(row charon "$n")")
  ROW[charon_rate_$n]=$(div "$R_UP" "$R_SETUP")
  ROW[charon_term_$n]=$R_TERM
  ROW[charon_rss_$n]=$(( (R_RSS_A + R_RSS_B) / 2 ))
  ROW[charon_list_$n]=$R_LIST
  ROW[charon_cpu_$n]=$R_CPU_UP
done

echo "$header"
echo '|--------:|--------|--------:|-----------:|-------:|--------:|-------:|--------:|-------:|-------:|-------:|-------:|------------:|-------:|------|'
printf '%s\n' "${results[@]}"
cat <<'EXPLAIN'
  up: IKE SAs established (aiked: initiate --count's completed; charon: ESTABLISHED in list-sas at A),
  "!" when fewer than N; SAs/s = up / setup s
  child(A/B): CHILD_SAs installed on A / on B at N; setup s: from the first request to the last
  IKE SA up on the initiator; term. s: terminate all until the initiator has
  none; both s: until the responder has none too; CPU µs/SA: user+system time of both daemons
  (all threads) during setup / terminate, divided by N (load-independent, unlike the rates);
  B/SA: (RSS at N - RSS idle) / N, bytes, per side;
  list s: `aikectl list-sas --json` / `swanctl --list-sas --raw` at N on the initiator
EXPLAIN
echo
echo "Ratios aiked / charon. Targets: setup rate >= 10 (higher is better); memory per SA <= 0.5;"
echo "terminate --all of 100,000 IKE SAs < 5 s (absolute). Time and CPU ratios: lower is better."
echo '|       N | setup rate | CPU per SA up | terminate time | memory per SA | list-sas time | aiked terminate s |'
echo '|--------:|-----------:|--------------:|---------------:|--------------:|--------------:|------------------:|'
for n in "${NS_LIST[@]}"; do
  if [ -z "${ROW[charon_rate_$n]:-}" ] || [ -z "${ROW[aiked_rate_$n]:-}" ]; then
    printf '| %7s | not both daemons run at N = %s: no ratios | | | | | %17s |\n' "$n" "$n" "${ROW[aiked_term_$n]:--}"
    continue
  fi
  printf '| %7s | %10s | %13s | %14s | %13s | %13s | %17s |\n' "$n" \
    "$(ratio "${ROW[aiked_rate_$n]}" "${ROW[charon_rate_$n]}")" \
    "$(ratio "${ROW[aiked_cpu_$n]}" "${ROW[charon_cpu_$n]}")" \
    "$(ratio "${ROW[aiked_term_$n]}" "${ROW[charon_term_$n]}")" \
    "$(ratio "${ROW[aiked_rss_$n]}" "${ROW[charon_rss_$n]}")" \
    "$(ratio "${ROW[aiked_list_$n]}" "${ROW[charon_list_$n]}")" "${ROW[aiked_term_$n]}"
done
echo "load average at end: $(load)"
