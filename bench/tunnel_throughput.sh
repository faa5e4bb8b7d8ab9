#!/usr/bin/env bash
# Data-plane benchmark (docs/benchmarks.md, "Userspace ESP"): one tunnel between two network
# namespaces, ESP aes256gcm16 in UDP, first aiked <-> aiked with kernel = "userspace", then
# strongSwan's charon <-> charon with kernel-libipsec, in the same run. For each: flood ping
# (ping -f, 56-octet payload) packets per second, iperf3 TCP Mbit/s over SECONDS and the CPU
# seconds the two daemons used during the iperf3 run (from /proc/PID/stat). A program that prints
# figures, never a test.
#
#   bench/tunnel_throughput.sh [BUILD_DIR] [SECONDS]     (defaults: build 10)
#
# Needs root, /dev/net/tun, iperf3 and charon with kernel-libipsec (libcharon-extra-plugins).
# Only the processes it starts are ended (by PID); namespaces and work folder are removed at exit.
set -u
AIKE_BUILD=$(cd "${1:-build}" && pwd)
SECS=${2:-10}
HERE=$(dirname "$0")
. "$HERE/../tests/scripts/lib/netns.sh"
. "$HERE/../tests/scripts/lib/interop.sh"
. "$HERE/../tests/scripts/lib/dataplane.sh"
need_tun
ns_setup tunbench
A=$WORK/a
B=$WORK/b

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# measure LABEL PID_A PID_B: ping flood and iperf3 from 10.1.0.1 (A) to 10.2.0.1 (B).
measure() {
  local label=$1 pa=$2 pb=$3 out t0a t0b t1a t1b hz mbit pps
  out=$(ip netns exec "$NS_A" ping -n -q -f -c 20000 -I 10.1.0.1 10.2.0.1 2>&1)
  pps=$(awk -F'[ ,]+' '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i == "time") { gsub("ms", "", $(i+1)); printf "%d", $4 * 1000 / $(i+1) } }' <<<"$out")
  hz=$(getconf CLK_TCK)
  t0a=$(cpu_ticks "$pa"); t0b=$(cpu_ticks "$pb")
  ip netns exec "$NS_B" iperf3 -s -1 -B 10.2.0.1 -p 5299 >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  sleep 0.5
  ip netns exec "$NS_A" iperf3 -c 10.2.0.1 -B 10.1.0.1 -p 5299 -t "$SECS" --json >"$WORK/iperf.json" 2>&1
  t1a=$(cpu_ticks "$pa"); t1b=$(cpu_ticks "$pb")
  mbit=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$WORK/iperf.json")
  local cpu_a cpu_b
  cpu_a=$(awk -v d=$((t1a - t0a)) -v hz="$hz" -v s="$SECS" 'BEGIN { printf "%.2f", d / hz / s }')
  cpu_b=$(awk -v d=$((t1b - t0b)) -v hz="$hz" -v s="$SECS" 'BEGIN { printf "%.2f", d / hz / s }')
  echo "$label: ping -f ${pps} packets/s ($(grep -o '[0-9]*% packet loss' <<<"$out")); iperf3 TCP ${mbit} Mbit/s;" \
    "CPU (cores) sender ${cpu_a}, receiver ${cpu_b}"
}

# --- aiked <-> aiked, userspace ---
for side in a b; do
  dir=$WORK/$side
  if [ $side = a ]; then me=10.250.0.1 peer=10.250.0.2 lid=a.test rid=b.test lts='["10.1.0.0/24"]' rts='["10.2.0.0/24"]'
  else me=10.250.0.2 peer=10.250.0.1 lid=b.test rid=a.test lts='["10.2.0.0/24"]' rts='["10.1.0.0/24"]'; fi
  {
    aiked_daemon_section "$dir" | sed -e 's/^kernel = "null"/kernel = "userspace"/' -e "s/^listen = .*/listen = [\"$me\"]/" \
      -e 's/ike = "debug"/ike = "info"/'
    cat <<CONF
[secrets.psk]
secret = "bench-secret"
[connections.t]
local_addrs = ["$me"]
remote_addrs = ["$peer"]
proposals = ["aes256gcm16-prfsha256-x25519"]
[connections.t.local]
auth = "psk"
id = "$lid"
[connections.t.remote]
auth = "psk"
id = "$rid"
[connections.t.children.net]
local_ts = $lts
remote_ts = $rts
esp_proposals = ["aes256gcm16"]
CONF
  } >"$dir/aiked.toml"
done
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 >/dev/null || fail "initiate"
measure "aiked <-> aiked (userspace)" "$(cat "$A/aiked.pid")" "$(cat "$B/aiked.pid")"
aiked_stop "$A"
aiked_stop "$B"

# --- charon <-> charon, kernel-libipsec ---
for side in a b; do
  dir=$WORK/$side
  if [ $side = a ]; then me=10.250.0.1 peer=10.250.0.2 lid=a.test rid=b.test lts=10.1.0.0/24 rts=10.2.0.0/24
  else me=10.250.0.2 peer=10.250.0.1 lid=b.test rid=a.test lts=10.2.0.0/24 rts=10.1.0.0/24; fi
  cat >"$dir/swanctl.conf" <<CONF
connections { t { local_addrs = $me
                  remote_addrs = $peer
                  proposals = aes256gcm16-prfsha256-x25519
                  local { auth = psk
                          id = $lid }
                  remote { auth = psk
                           id = $rid }
                  children { net { local_ts = $lts
                                   remote_ts = $rts
                                   esp_proposals = aes256gcm16 } } } }
secrets { ike-1 { secret = bench-secret } }
CONF
done
charon_start "$NS_B" "$B"
charon_start "$NS_A" "$A"
swanctl_in "$A" --initiate --child net --timeout 10 >/dev/null 2>&1 || fail "charon initiate"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set ipsec0 up; done
ip -n "$NS_A" route add 10.2.0.0/24 dev ipsec0 src 10.1.0.1
ip -n "$NS_B" route add 10.1.0.0/24 dev ipsec0 src 10.2.0.1
measure "charon <-> charon (kernel-libipsec)" "$(cat "$A/charon.pid")" "$(cat "$B/charon.pid")"
