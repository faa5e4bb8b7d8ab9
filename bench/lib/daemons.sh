# Shared by the daemon benchmarks (bench/daemon_vs_charon.sh, bench/rekey_bench.sh): two network
# namespaces joined by a veth pair, A = 10.250.0.1 (initiator), B = 10.250.0.2 (responder), helpers
# for timing and CPU accounting, and the set-up of aiked (kernel = "null") and of strongSwan's
# charon (kernel-libipsec) with one PSK connection "c" and one child "net". Sourced, not run.
#
# The caller sets AIKED, AIKECTL, CHARON, PERF_DIR (may be empty) and BENCH_NAME (for messages),
# then calls bench_netns_setup. Only processes in STARTED_PIDS are ended, by PID, at exit.

# BENCH_TAG / BENCH_CONTROL_PORT: names and the control port, so parallel runs never collide.
# BENCH_AIKED_WORKERS: CAF worker threads of each aiked (default: one per core). PERF_FREQ: perf samples/s.
NS_A="bench-${BENCH_TAG:-x}-a-$$"
NS_B="bench-${BENCH_TAG:-x}-b-$$"
WORK=$(mktemp -d /tmp/aike-bench.XXXXXX)
STARTED_PIDS=()

cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "${BENCH_NAME:-bench}: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.1f", a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# cpu_ticks PID...: user + system time of these processes (all threads), in clock ticks
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }
TICK=$(getconf CLK_TCK)
# cpu_per_sa TICKS N: microseconds of CPU per IKE SA
cpu_per_sa() { awk -v t="$1" -v n="$2" -v hz="$TICK" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }'; }

bench_netns_setup() {
  ip netns add "$NS_A" && ip netns add "$NS_B" || die "cannot create network namespaces"
  ip link add veth0 netns "$NS_A" type veth peer name veth0 netns "$NS_B" || die "cannot create veth pair"
  ip -n "$NS_A" addr add 10.250.0.1/24 dev veth0
  ip -n "$NS_B" addr add 10.250.0.2/24 dev veth0
  # inner addresses inside the traffic selectors: charon's kernel-libipsec routes each CHILD_SA's
  # policy through its TUN device from such an address, and fails the CHILD_SA without one
  ip -n "$NS_A" addr add 10.1.0.1/32 dev lo
  ip -n "$NS_B" addr add 10.2.0.1/32 dev lo
  for n in "$NS_A" "$NS_B"; do
    ip -n "$n" link set lo up
    ip -n "$n" link set veth0 up
  done
}

# stop_pid PID: SIGTERM, wait up to 60 s (a daemon with 100,000 SAs takes a while), then SIGKILL.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "warning: PID $pid did not exit within 60 s, killing it" >&2
  kill -9 "$pid" 2>/dev/null
}

# perf_start NAME PIDS: perf record of PIDS (comma-separated) into PERF_DIR/NAME.data, if --perf.
PERF_PID=
perf_start() {
  [ -n "$PERF_DIR" ] || return 0
  # PERF_RECORD_ARGS replaces the sampling options (e.g. "-e probe_libc:malloc -g" to count calls).
  # shellcheck disable=SC2086
  perf record -q ${PERF_RECORD_ARGS:--F ${PERF_FREQ:-499} --call-graph dwarf,8192} -p "$2" -o "$PERF_DIR/$1.data" >"$PERF_DIR/$1.log" 2>&1 &
  PERF_PID=$!
  STARTED_PIDS+=($PERF_PID)
  sleep 1  # perf needs a moment to attach
}
perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null
  wait "$PERF_PID" 2>/dev/null
  PERF_PID=
}

# ---------------------------------------------------------------- aiked
# The configuration pieces the script tests use too.
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/scripts/lib/aiked_conf.sh"
aiked_conf() {  # DIR LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_peer_daemon "$1" "$2" '"warning"' "control = \"127.0.0.1:${BENCH_CONTROL_PORT:-4510}\"
half_open_cookie_threshold = 100000000
${BENCH_AIKED_WORKERS:+workers = $BENCH_AIKED_WORKERS}"
  aiked_psk_secret bench-psk-secret
  aiked_psk_conn c "$2" "$3" "$4" "$5" 'unique = "never"'
  aiked_child c net "$6" "$7"
}

aiked_start() {  # NS DIR
  local ns=$1 dir=$2
  "$AIKED" --check-config -c "$dir/aiked.toml" >"$dir/check.log" 2>&1 || die "aiked config invalid: $(cat "$dir/check.log")"
  rm -f "$dir/token"
  ip netns exec "$ns" "$AIKED" -c "$dir/aiked.toml" >"$dir/aiked.log" 2>&1 &
  STARTED_PIDS+=($!)
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do [ -s "$dir/token" ] && break; sleep 0.1; done
  [ -s "$dir/token" ] || die "aiked did not start: $(tail -5 "$dir/aiked.log")"
}

# bench_aiked_pair DIR_A DIR_B: both aiked's folders and configurations (A 10.1.0.0/24 <->
# B 10.2.0.0/24), B started first, then A.
bench_aiked_pair() {
  local a=$1 b=$2
  mkdir -p "$a" "$b"
  aiked_conf "$a" 10.250.0.1 10.250.0.2 a.test b.test 10.1.0.0/24 10.2.0.0/24 >"$a/aiked.toml"
  aiked_conf "$b" 10.250.0.2 10.250.0.1 b.test a.test 10.2.0.0/24 10.1.0.0/24 >"$b/aiked.toml"
  aiked_start "$NS_B" "$b"
  aiked_start "$NS_A" "$a"
}

actl() {  # NS DIR ARGS...
  local ns=$1 dir=$2
  shift 2
  ip netns exec "$ns" "$AIKECTL" --uri "tcp://127.0.0.1:${BENCH_CONTROL_PORT:-4510}" --token-file "$dir/token" "$@"
}
astat() { actl "$1" "$2" stats --json | jq -r ".$3"; }  # NS DIR FIELD

# wait_field NS DIR FIELD VALUE TIMEOUT_S: polls stats until FIELD == VALUE; prints the seconds taken.
wait_field() {
  local ns=$1 dir=$2 field=$3 want=$4 t0 v
  t0=$(now)
  while :; do
    v=$(astat "$ns" "$dir" "$field")
    [ "$v" = "$want" ] && { elapsed "$t0" "$(now)"; return 0; }
    [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -ge "$5" ] && { echo "timeout($field=$v)"; return 1; }
    sleep 0.05
  done
}

# aiked_initiate_paced NS DIR N H: `aikectl initiate --count K --noblock` in steps, keeping at most
# H of the SAs started here not yet established (the same pacing vici_load does for charon).
# Prints "UP EPOCH_OF_LAST_CHANGE"; gives up when nothing changed for 30 s.
aiked_initiate_paced() {
  local ns=$1 dir=$2 n=$3 h=$4 started=0 up last=-1 tl k pending
  tl=$(now)
  while :; do
    up=$(astat "$ns" "$dir" ike_sas_established 2>/dev/null)
    # a control request can time out on an overloaded machine: ask again
    [[ $up =~ ^[0-9]+$ ]] || { sleep 0.1; continue; }
    if [ "$up" != "$last" ]; then last=$up; tl=$(now); fi
    [ "$up" -ge "$n" ] && break
    [ "$(elapsed "$tl" "$(now)" | cut -d. -f1)" -ge 30 ] && break
    pending=$((started - up))
    if [ "$started" -lt "$n" ] && [ "$pending" -lt "$h" ]; then
      k=$((h - pending))
      [ $k -gt $((n - started)) ] && k=$((n - started))
      actl "$ns" "$dir" initiate --ike c --count "$k" --noblock >/dev/null || echo "warning: aikectl initiate --count $k failed" >&2
      started=$((started + k))
    else
      sleep 0.02
    fi
  done
  echo "$up $tl"
}

# ---------------------------------------------------------------- charon
charon_conf() {  # DIR
  cat <<CONF
charon {
  load_modular = no
  load = random nonce kdf hmac sha1 sha2 aes gcm openssl pem pkcs1 x509 pubkey curve25519 kernel-libipsec kernel-netlink socket-default vici
  plugins {
    vici { socket = unix://$1/charon.vici }
    kernel-libipsec { load = yes }
  }
  install_routes = no
  # little logging, like aiked's log = "warning"
  filelog { log { path = $1/charon.log
                  default = 0 } }
  syslog { daemon { default = -1 } }
  # many IKE SAs from one peer address (the defaults allow 5 half-open per peer)
  reuse_ikesa = no
  block_threshold = 100000000
  cookie_threshold = 100000000
  cookie_threshold_ip = 100000000
  init_limit_half_open = 0
  # hash table sized for 100,000 IKE SAs, as strongSwan advises for many SAs (the default is 1
  # bucket, i.e. a linear list)
  ikesa_table_size = 65536
  ikesa_table_segments = 16
}
CONF
}

swan_conf() {  # LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  cat <<CONF
connections {
  c {
    local_addrs = $1
    remote_addrs = $2
    proposals = aes256gcm16-prfsha256-x25519
    unique = never
    local { auth = psk
            id = $3 }
    remote { auth = psk
             id = $4 }
    children { net { local_ts = $5
                     remote_ts = $6
                     esp_proposals = aes256gcm16 } }
  }
}
secrets { ike-1 { id-1 = a.test
                  id-2 = b.test
                  secret = bench-psk-secret } }
CONF
}

# charon_start NS DIR: charon in NS with a private /run (its pid file path is compiled in).
charon_start() {
  local ns=$1 dir=$2
  rm -f "$dir/charon.vici"
  ip netns exec "$ns" unshare -m --propagation private sh -c \
    "mount -t tmpfs tmpfs /run && STRONGSWAN_CONF='$dir/strongswan.conf' exec $CHARON" >"$dir/charon.out" 2>&1 &
  STARTED_PIDS+=($!)
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do [ -S "$dir/charon.vici" ] && break; sleep 0.1; done
  [ -S "$dir/charon.vici" ] || die "charon did not start: $(tail -5 "$dir/charon.out")"
  # ip netns exec, unshare and sh all exec: the PID we started is charon's.
  [ "$(cat "/proc/$(cat "$dir/pid")/comm")" = charon ] || die "PID $(cat "$dir/pid") is not charon"
  swanctl --load-all --uri "unix://$dir/charon.vici" --file "$dir/swanctl.conf" >"$dir/load.log" 2>&1 ||
    die "swanctl --load-all: $(cat "$dir/load.log")"
}

# bench_charon_pair DIR_A DIR_B: both charons' folders and configurations (as bench_aiked_pair),
# B started first, then A.
bench_charon_pair() {
  local a=$1 b=$2
  mkdir -p "$a" "$b"
  charon_conf "$a" >"$a/strongswan.conf"
  charon_conf "$b" >"$b/strongswan.conf"
  swan_conf 10.250.0.1 10.250.0.2 a.test b.test 10.1.0.0/24 10.2.0.0/24 >"$a/swanctl.conf"
  swan_conf 10.250.0.2 10.250.0.1 b.test a.test 10.2.0.0/24 10.1.0.0/24 >"$b/swanctl.conf"
  charon_start "$NS_B" "$b"
  charon_start "$NS_A" "$a"
}

rss_of() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

