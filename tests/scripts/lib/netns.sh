# Helpers for tests that run aiked and strongSwan's charon in network namespaces.
# Source this file; every test gets its own namespaces and folder, and `cleanup` (set as an EXIT
# trap by ns_setup) ends only the processes the test started and removes its namespaces.
#   A: 10.250.0.1 (inner 10.1.0.1, 10.1.1.1)   B: 10.250.0.2 (inner 10.2.0.1)

AIKE_BUILD=${AIKE_BUILD:?set AIKE_BUILD to the build directory}
AIKED=$AIKE_BUILD/aiked
AIKECTL=$AIKE_BUILD/aikectl
STARTED_PIDS=()

fail() {
  echo "FAIL: $*" >&2
  dump_logs
  exit 1
}

dump_logs() {
  [ -n "${WORK:-}" ] || return 0
  for f in "$WORK"/*/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f (last 40 lines)" >&2
    tail -40 "$f" >&2
  done
}

cleanup() {
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

# ns_setup NAME: makes namespaces aa-NAME-PID / ab-NAME-PID joined by a veth pair. With
# AIKE_NS_TAG set, its value goes into the names too (aa-TAG-NAME-PID), for parallel runs.
ns_setup() {
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
  local tag="${AIKE_NS_TAG:+$AIKE_NS_TAG-}$1-$$"
  NS_A="aa-$tag"
  NS_B="ab-$tag"
  WORK=$(mktemp -d "/tmp/aike-$1.XXXXXX")
  mkdir -p "$WORK/a" "$WORK/b"
  trap cleanup EXIT
  ip netns add "$NS_A" && ip netns add "$NS_B" || fail "cannot create network namespaces"
  ip link add veth0 netns "$NS_A" type veth peer name veth0 netns "$NS_B" || fail "cannot create veth pair"
  ip -n "$NS_A" addr add 10.250.0.1/24 dev veth0
  ip -n "$NS_B" addr add 10.250.0.2/24 dev veth0
  ip -n "$NS_A" addr add 10.1.0.1/32 dev lo
  ip -n "$NS_A" addr add 10.1.1.1/32 dev lo
  ip -n "$NS_B" addr add 10.2.0.1/32 dev lo
  for n in "$NS_A" "$NS_B"; do
    ip -n "$n" link set lo up
    ip -n "$n" link set veth0 up
  done
}

# charon_start NS DIR: charon with DIR/strongswan.conf and DIR/swanctl.conf, a private /run.
# CHARON_EXTRA: more lines for the charon { } section of strongswan.conf.
# CHARON_REUSE_IKESA=yes lets charon put a CHILD_SA it initiates on an existing IKE SA.
charon_start() {
  local ns=$1 dir=$2
  rm -f "$dir/charon.vici"  # a killed charon leaves its socket behind
  cat >"$dir/strongswan.conf" <<CONF
charon {
  load_modular = no
  plugins {
    vici { socket = unix://$dir/charon.vici }
    kernel-libipsec { load = yes }
  }
  load = random nonce kdf hmac sha1 sha2 aes gcm chapoly openssl pem pkcs1 pkcs8 x509 pubkey curve25519 kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = no
  filelog { log { path = $dir/charon.log
                  default = 1
                  ike = 2
                  cfg = 2 } }
  retransmit_timeout = 1.0
  retransmit_tries = 3
  reuse_ikesa = ${CHARON_REUSE_IKESA:-no}
  block_threshold = 100000
  cookie_threshold = 100000
  init_limit_half_open = 0
  ${CHARON_EXTRA:-}
}
CONF
  ip netns exec "$ns" unshare -m --propagation private sh -c \
    "mount -t tmpfs tmpfs /run && STRONGSWAN_CONF='$dir/strongswan.conf' exec /usr/lib/ipsec/charon" \
    >"$dir/charon.out" 2>&1 &
  STARTED_PIDS+=($!)
  echo $! >"$dir/charon.pid"
  for _ in $(seq 1 100); do [ -S "$dir/charon.vici" ] && break; sleep 0.1; done
  [ -S "$dir/charon.vici" ] || fail "charon did not start"
  swanctl --load-all --uri "unix://$dir/charon.vici" --file "$dir/swanctl.conf" >"$dir/load.log" 2>&1 ||
    fail "swanctl --load-all: $(cat "$dir/load.log")"
}

swanctl_in() {
  local dir=$1
  shift
  swanctl "$@" --uri "unix://$dir/charon.vici"
}

# aiked_start NS DIR: aiked with DIR/aiked.toml (which must set control_token = DIR/token).
aiked_start() {
  local ns=$1 dir=$2
  "$AIKED" --check-config -c "$dir/aiked.toml" >"$dir/check.log" 2>&1 || fail "config invalid: $(cat "$dir/check.log")"
  ip netns exec "$ns" "$AIKED" -c "$dir/aiked.toml" >"$dir/aiked.log" 2>&1 &
  STARTED_PIDS+=($!)
  echo $! >"$dir/aiked.pid"
  for _ in $(seq 1 100); do [ -s "$dir/token" ] && break; sleep 0.1; done
  [ -s "$dir/token" ] || fail "aiked did not start"
}

# aiked_stop DIR: SIGTERM, wait for a clean exit, and fail on any sanitizer report in its log
# (the same scripts run against the ASan+UBSan build).
aiked_stop() {
  local dir=$1 pid
  pid=$(cat "$dir/aiked.pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "aiked did not exit within 15 s of SIGTERM"
  if grep -qE "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$dir/aiked.log"; then
    grep -E -A20 "AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:" "$dir/aiked.log" | head -60 >&2
    fail "sanitizer report in $dir/aiked.log"
  fi
}

# ctl_port [OFFSET]: this run's control port, AIKE_CONTROL_PORT (4510, aiked's default, when it is
# unset), plus OFFSET for a further daemon on the same loopback. Parallel runs set
# AIKE_CONTROL_PORT (and AIKE_NS_TAG) so that their endpoints never collide.
ctl_port() {
  echo $((${AIKE_CONTROL_PORT:-4510} + ${1:-0}))
}

# aikectl_at NS DIR URI ARGS...: aikectl in NS with DIR/token against the control endpoint URI
# (tcp://HOST:PORT), for a daemon that does not listen on 127.0.0.1:$(ctl_port).
aikectl_at() {
  local ns=$1 dir=$2 uri=$3
  shift 3
  ip netns exec "$ns" "$AIKECTL" --token-file "$dir/token" --uri "$uri" "$@"
}

# aikectl_in NS DIR ARGS...: aikectl against 127.0.0.1:$(ctl_port), where the configurations of
# aiked_conf.sh / interop.sh put the control endpoint.
aikectl_in() {
  local ns=$1 dir=$2
  shift 2
  aikectl_at "$ns" "$dir" "tcp://127.0.0.1:$(ctl_port)" "$@"
}

# aikectl_jq NS DIR FILTER ARGS...: succeeds when FILTER (jq -e) holds for the JSON answer of
# `aikectl_in NS DIR ARGS... --json`; for wait_until, e.g.
#   wait_until 10 aikectl_jq "$NS_B" "$B" 'length == 1' list-sas
aikectl_jq() {
  local ns=$1 dir=$2 filter=$3
  shift 3
  aikectl_in "$ns" "$dir" "$@" --json | jq -e "$filter" >/dev/null
}

# wait_until SECONDS COMMAND...: polls until COMMAND succeeds.
wait_until() {
  local t=$1
  shift
  for _ in $(seq 1 $((t * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
