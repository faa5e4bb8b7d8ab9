#!/usr/bin/env bash
# Reloading a configuration with raw public keys (several connections naming the same keys)
# 10,000 times keeps aiked's resident memory flat, and so does alternating between two files
# that give the raw-key connections different identities (the same key must not be stored again
# under a changed identity). The daemon's credential cache must hold each key once throughout.
# The requests go over one control connection (tests/tools/ctl_repeat): 10,000 aikectl processes
# would take minutes of process and CAF start-up.
#   RELOADS (default 10000; 2000 in an ASan build), WARMUP (default 200), MAX_GROWTH_KIB (default 1024) may be set.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
REPEAT=$AIKE_BUILD/tests/ctl_repeat
[ -x "$REPEAT" ] || fail "$REPEAT is not built"
KEYS=$(cd "$(dirname "$0")/../data/config" && pwd)
# ASan's quarantine keeps freed memory resident: there RSS says nothing, only the cache size and
# the sanitizer's own reports are checked, and 2,000 reloads do (10,000 take minutes under ASan).
asan=0
grep -q "^AIKE_SANITIZE:BOOL=ON" "$AIKE_BUILD/CMakeCache.txt" 2>/dev/null && asan=1
RELOADS=${RELOADS:-$([ "$asan" = 1 ] && echo 2000 || echo 10000)}
WARMUP=${WARMUP:-200}
MAX_GROWTH_KIB=${MAX_GROWTH_KIB:-1024}
ns_setup reloadmem
A=$WORK/a

# raw_config ID: five connections that all use moon_raw.key and trust sun_raw.pub and moon_raw.pub.
raw_config() {
  aiked_daemon_section "$A"
  for i in 1 2 3 4 5; do
    cat <<CONF
[connections.raw$i]
local_addrs = ["10.250.0.1"]
remote_addrs = ["10.250.0.$((i + 1))"]
[connections.raw$i.local]
auth = "pubkey"
id = "$1"
private_key = "$KEYS/moon_raw.key"
pubkeys = ["$KEYS/moon_raw.pub"]
[connections.raw$i.remote]
id = "peer$i.$1"
pubkeys = ["$KEYS/sun_raw.pub", "$KEYS/moon_raw.pub"]
[connections.raw$i.children.net]
remote_ts = ["10.2.$i.0/24"]

CONF
  done
}
raw_config moon.example >"$A/aiked.toml"
raw_config moon-renamed.example >"$A/renamed.toml"
aiked_start "$NS_A" "$A"
pid=$(cat "$A/aiked.pid")
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# reloads N REQUEST...: N loads over one connection; prints the last JSON answer.
reloads() {
  local n=$1
  shift
  ip netns exec "$NS_A" "$REPEAT" 127.0.0.1 "$(ctl_port)" "$A/token" "$n" "$@" 2>"$WORK/repeat.err" ||
    fail "reload failed: $(cat "$WORK/repeat.err")"
}

check_run() {  # check_run NAME REQUEST...
  local name=$1
  shift
  local out before after start secs growth
  out=$(reloads "$WARMUP" "$@")
  before=$(rss_kib)
  start=$(date +%s.%N)
  out=$(reloads "$RELOADS" "$@")
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  after=$(rss_kib)
  growth=$((after - before))
  [ "$(jq .ok <<<"$out")" = true ] || fail "$name: last reload: $out"
  # moon_raw.key, moon_raw.pub, sun_raw.pub: each stored once, however many connections and reloads name it.
  [ "$(jq .credentials <<<"$out")" = 3 ] || fail "$name: the credential cache holds $(jq .credentials <<<"$out") entries, expected 3"
  echo "$name: $RELOADS reloads in ${secs}s, VmRSS ${before} KiB after $WARMUP warm-up reloads -> ${after} KiB (${growth} KiB)"
  if [ "$asan" = 0 ] && [ "$growth" -gt "$MAX_GROWTH_KIB" ]; then
    fail "$name: resident memory grew by $growth KiB over $RELOADS reloads (limit $MAX_GROWTH_KIB KiB)"
  fi
}

check_run "same file" load json file="$A/aiked.toml"
check_run "identities alternating" load json file="$A/aiked.toml" -- load json file="$A/renamed.toml"
[ "$asan" = 1 ] && echo "(ASan build: resident memory reported, not checked)"
kill -0 "$pid" || fail "aiked died"
aiked_stop "$A"
echo "reload_memory: all passed"
