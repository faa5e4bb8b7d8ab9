#!/usr/bin/env bash
# Stress: two aiked on loopback in a network namespace of their own (127.0.0.1 and 127.0.0.2,
# kernel = "null"), N IKE SAs with one CHILD_SA each (AIKE_STRESS_N, default 10,000). Both sides
# run an updown script that calls aikectl: `stats` on every up event; `list-sas --json` and
# `terminate --ike-id <another SA> --noblock` on every down event. Then `terminate --all` on one
# side must complete, both sides must end with 0 IKE SAs, every script must have run and ended,
# and no aikectl or script process may be left. Nothing here waits on a clock except the
# generous bounds that turn a hang into a failure. Prints how long each phase took.
#   AIKE_STRESS_N          IKE SAs (default 10000)
#   AIKE_STRESS_PARALLEL   daemon.updown.max_parallel on both sides (default 8)
#   KEEP_WORK=1            keep the work folder (configs, logs, script records)
set -u
BUILD=$(cd "$1" && pwd)
AIKED=$BUILD/aiked
AIKECTL=$BUILD/aikectl
N=${AIKE_STRESS_N:-10000}
PAR=${AIKE_STRESS_PARALLEL:-8}
BOUND=$((600 + N / 5))  # seconds any one phase may take before it counts as a hang
. "$(dirname "$0")/../scripts/lib/aiked_conf.sh"

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for a network namespace"; exit 77; fi
for tool in ip jq; do command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }; done

NS=aike-stress-$$
WORK=$(mktemp -d /tmp/aike-stress.XXXXXX)
STARTED_PIDS=()

dump_logs() {
  for f in "$WORK"/*/aiked.log "$WORK"/*/errors; do
    [ -f "$f" ] || continue
    echo "---- $f (last 30 lines)" >&2
    tail -30 "$f" >&2
  done
}
fail() {
  echo "FAIL: $*" >&2
  dump_logs
  exit 1
}
cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  ip netns del "$NS" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS" || fail "cannot create network namespace"
ip -n "$NS" link set lo up

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# side NAME ADDR PEER_ADDR PEER_NAME CONTROL_PORT LOCAL_NET REMOTE_NET
side() {
  local name=$1 addr=$2 peer=$3 peer_name=$4 port=$5 lnet=$6 rnet=$7 dir=$WORK/$1
  mkdir -p "$dir"
  # The updown script. Each run appends one line when it starts and one when it ends (small
  # O_APPEND writes do not interleave); failures of aikectl calls go to $dir/errors.
  cat >"$dir/updown.sh" <<SCRIPT
#!/bin/sh
D='$dir'
ctl() { '$AIKECTL' --uri tcp://127.0.0.1:$port --token-file "\$D/token" "\$@"; }
echo "\$PLUTO_VERB \$PLUTO_UNIQUEID" >>"\$D/started"
case "\$PLUTO_VERB" in
  up-*)
    ctl stats >/dev/null 2>"\$D/err.\$\$" || echo "stats exit \$? (\$PLUTO_UNIQUEID): \$(cat "\$D/err.\$\$")" >>"\$D/errors"
    ;;
  down-*)
    if ctl list-sas --json >"\$D/list.\$\$" 2>"\$D/err.\$\$"; then
      ids=\$(grep -o '"name":"load","id":[0-9]*' "\$D/list.\$\$" | cut -d: -f3 | grep -vx "\$PLUTO_UNIQUEID")
      n=\$(printf '%s\n' "\$ids" | grep -c .)
      if [ "\$n" -gt 0 ]; then
        other=\$(printf '%s\n' "\$ids" | sed -n "\$((PLUTO_UNIQUEID % n + 1))p")
        ctl terminate --ike-id "\$other" --noblock >/dev/null 2>"\$D/err.\$\$"
        rc=\$?
        # 1 = nothing matched: the chosen SA ended meanwhile, which is fine.
        [ \$rc -le 1 ] || echo "terminate exit \$rc (\$PLUTO_UNIQUEID -> \$other): \$(cat "\$D/err.\$\$")" >>"\$D/errors"
      fi
    else
      echo "list-sas exit \$? (\$PLUTO_UNIQUEID): \$(cat "\$D/err.\$\$")" >>"\$D/errors"
    fi
    ;;
esac
rm -f "\$D/list.\$\$" "\$D/err.\$\$"
echo "\$PLUTO_VERB \$PLUTO_UNIQUEID" >>"\$D/ended"
SCRIPT
  chmod 755 "$dir/updown.sh"
  : >"$dir/started"
  : >"$dir/ended"
  {
    aiked_peer_daemon "$dir" "$addr" '{ default = "info", ctl = "debug" }' "control = \"127.0.0.1:$port\"
half_open_cookie_threshold = 100000000
[daemon.updown]
max_parallel = $PAR
timeout = \"120s\""
    aiked_psk_secret stress-secret
    aiked_psk_conn load "$addr" "$peer" "$name.stress" "$peer_name.stress" 'unique = "never"'
    aiked_child load net "$lnet" "$rnet" aes256gcm16 "updown = \"$dir/updown.sh\""
  } >"$dir/aiked.toml"
  "$AIKED" --check-config -c "$dir/aiked.toml" >"$dir/check.log" 2>&1 || fail "config invalid: $(cat "$dir/check.log")"
  ip netns exec "$NS" "$AIKED" -c "$dir/aiked.toml" >"$dir/aiked.log" 2>&1 &
  STARTED_PIDS+=($!)
  echo $! >"$dir/aiked.pid"
  for _ in $(seq 1 100); do [ -s "$dir/token" ] && break; sleep 0.1; done
  [ -s "$dir/token" ] || fail "aiked $name did not start"
}

ctl() {  # ctl a|b ARGS...
  local s=$1 port=4510
  shift
  [ "$s" = b ] && port=4511
  ip netns exec "$NS" timeout "$BOUND" "$AIKECTL" --uri "tcp://127.0.0.1:$port" --token-file "$WORK/$s/token" "$@"
}
stat_of() { ctl "$1" stats --json | jq -r ".$2"; }
lines() { grep -c "$2" "$WORK/$1/$3" 2>/dev/null; }
# wait_for WHAT COMMAND...: polls COMMAND until it succeeds; a hang fails after BOUND seconds.
wait_for() {
  local what=$1 end=$(($(date +%s) + BOUND))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "hang: $what (after $BOUND s)"
    sleep 0.5
  done
}
idle() { [ "$(stat_of "$1" updown_running)" = 0 ] && [ "$(stat_of "$1" updown_queued)" = 0 ]; }
has_sas() { [ "$(stat_of "$1" "$2")" = "$3" ]; }
ran() { [ "$(lines "$1" "^$2" ended)" = "$3" ]; }

side a 127.0.0.1 127.0.0.2 b 4510 10.1.0.0/24 10.2.0.0/24
side b 127.0.0.2 127.0.0.1 a 4511 10.2.0.0/24 10.1.0.0/24

# One aikectl call, for scale (the scripts make 4 per SA: stats on each side, list-sas and
# terminate on each side).
t=$(now)
for _ in 1 2 3 4 5 6 7 8 9 10; do ctl a stats >/dev/null || fail "aikectl stats"; done
one_call=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 100 }')

# 1. N IKE SAs, each with its CHILD_SA; every up script runs `aikectl stats`.
t0=$(now)
out=$(ctl a initiate --ike load --count "$N" --timeout "$BOUND") || fail "initiate --count $N: $out"
t_init=$(now)
wait_for "b to list $N established IKE SAs" has_sas b ike_sas_established "$N"
for s in a b; do
  wait_for "$s: $N up scripts" ran "$s" up-client "$N"
  wait_for "$s: updown idle after the ups" idle "$s"
done
t1=$(now)
[ "$(stat_of a ike_sas)" = "$N" ] || fail "a has $(stat_of a ike_sas) IKE SAs, expected $N"
[ "$(stat_of b ike_sas)" = "$N" ] || fail "b has $(stat_of b ike_sas) IKE SAs, expected $N"
echo "ok: $N IKE SAs up in $(secs "$t0" "$t_init") s, all up scripts done after $(secs "$t0" "$t1") s"

# 2. terminate --all on a, while every down script on both sides lists the SAs and terminates
#    another one.
t2=$(now)
out=$(ctl a terminate --all --timeout "$BOUND") || fail "terminate --all: $out"
t_term=$(now)
echo "terminate --all: $(tail -1 <<<"$out")"
wait_for "b to reach 0 IKE SAs" has_sas b ike_sas 0
for s in a b; do
  wait_for "$s: $N down scripts" ran "$s" down-client "$N"
  wait_for "$s: updown idle after the downs" idle "$s"
done
t3=$(now)
echo "ok: terminate --all returned after $(secs "$t2" "$t_term") s, every down script done after $(secs "$t2" "$t3") s"

# 3. The books balance.
for s in a b; do
  [ "$(stat_of "$s" ike_sas)" = 0 ] || fail "$s still has $(stat_of "$s" ike_sas) IKE SAs"
  [ "$(stat_of "$s" child_sas)" = 0 ] || fail "$s still has $(stat_of "$s" child_sas) CHILD_SAs"
  started=$(wc -l <"$WORK/$s/started")
  ended=$(wc -l <"$WORK/$s/ended")
  [ "$started" = $((2 * N)) ] || fail "$s: $started scripts started, expected $((2 * N))"
  [ "$ended" = "$started" ] || fail "$s: $started scripts started but $ended ended"
  [ "$(lines "$s" '^up-client' started)" = "$N" ] || fail "$s: up scripts: $(lines "$s" '^up-client' started)"
  [ "$(lines "$s" '^down-client' started)" = "$N" ] || fail "$s: down scripts: $(lines "$s" '^down-client' started)"
  # Every CHILD_SA's down came after its up (per IKE SA id: the up line precedes the down line).
  awk '$1 == "up-client" { up[$2] = NR } $1 == "down-client" { if (!($2 in up)) { print "down before up: " $2; bad = 1 } }
       END { exit bad }' "$WORK/$s/started" || fail "$s: a down script started before its up"
  if [ -s "$WORK/$s/errors" ]; then
    head -20 "$WORK/$s/errors" >&2
    fail "$s: $(wc -l <"$WORK/$s/errors") aikectl calls from scripts failed"
  fi
  grep -q "WARN  \[updown\]" "$WORK/$s/aiked.log" && fail "$s: an updown script failed or timed out"
done
left=$(pgrep -f "$WORK/[ab]/(updown.sh|token)" | tr '\n' ' ')
[ -z "$left" ] || fail "script or aikectl processes left: $left"
for s in a b; do
  pid=$(cat "$WORK/$s/aiked.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "aiked $s did not exit within 30 s of SIGTERM"
  # (when run against a sanitizer build by hand)
  grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/$s/aiked.log" && fail "sanitizer report in $s's log"
done
echo "ok: 0 IKE SAs on both sides; $((2 * N)) scripts ran and ended on each side; none left running"
echo "timings (N=$N, max_parallel=$PAR): one aikectl call ${one_call} ms; initiate $(secs "$t0" "$t_init") s;" \
     "up scripts drained $(secs "$t0" "$t1") s; terminate --all $(secs "$t2" "$t_term") s;" \
     "down scripts drained $(secs "$t2" "$t3") s; total $(secs "$t0" "$t3") s"
echo "updown_stress: all passed"
