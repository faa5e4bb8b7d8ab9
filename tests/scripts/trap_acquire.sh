#!/usr/bin/env bash
# start_action = "trap" with kernel = "xfrm": aiked installs an out trap policy (aike's trap
# priority band, a reqid in aike's range) for the child at start; a ping into the remote subnet
# makes the kernel send an acquire, and aiked initiates the IKE SA to a second aiked
# (kernel = "null", responder) in the other namespace. The kernel here has XFRM but no ESP: the
# acquire does not need ESP (it fires before any SA exists); the CHILD_SA's SAs are then refused,
# which aiked reports, while the IKE SA is up.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup trap
A=$WORK/a
B=$WORK/b
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || { echo "SKIP: no XFRM in this kernel"; exit 77; }

conn() {  # conn LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS START
  aiked_psk_secret trap-acquire-secret
  aiked_psk_conn site "$1" "$2" "$3" "$4"
  aiked_child site net "$5" "$6" aes256gcm16 "start_action = \"$7\""
}
{ aiked_daemon_section "$A" | sed -e 's/^kernel = "null"/kernel = "xfrm"/'
  conn 10.250.0.1 10.250.0.2 a.test b.test '["10.1.0.0/24"]' '["10.2.0.0/24"]' trap; } >"$A/aiked.toml"
{ aiked_daemon_section "$B" | sed -e 's/^listen = .*/listen = ["10.250.0.2"]/'
  conn 10.250.0.2 10.250.0.1 b.test a.test '["10.2.0.0/24"]' '["10.1.0.0/24"]' none; } >"$B/aiked.toml"
ip -n "$NS_A" route add 10.2.0.0/24 via 10.250.0.2 || fail "route"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"

trap_policy() {  # the trap: out, 10.1.0.0/24 -> 10.2.0.0/24, priority in aike's trap band, aike's reqid
  ip -n "$NS_A" xfrm policy list | awk '
    /^src 10.1.0.0\/24 dst 10.2.0.0\/24/ { sel = 1; next }
    sel && /dir out priority/ { for (i = 1; i < NF; i++) if ($i == "priority") p = $(i+1); next }
    sel && /reqid/ { for (i = 1; i < NF; i++) if ($i == "reqid") r = $(i+1) }
    END { if (p >= 1516384 && p < 1565536 && r >= 169738240 && r < 186515456) { print r; exit 0 } exit 1 }'
}
wait_until 5 trap_policy || fail "no trap policy in NS_A: $(ip -n "$NS_A" xfrm policy)"
reqid=$(trap_policy)
grep -q "trap policies for site/net installed (reqid $reqid)" "$A/aiked.log" || fail "aiked did not log the trap"
aikectl_in "$NS_A" "$A" list-sas --json | jq -e 'length == 0' >/dev/null || fail "an SA exists before any packet"
echo "ok: trap policy installed at start (out 10.1.0.0/24 -> 10.2.0.0/24, trap band, reqid $reqid), no SA yet"

ip netns exec "$NS_A" ping -c 1 -W 1 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1  # dropped: there is no SA yet
wait_until 10 grep -q "acquire for site/net (packet 10.1.0.1 -> 10.2.0.1): initiating" "$A/aiked.log" ||
  fail "no acquire reached aiked (XfrmAcquireError=$(ip netns exec "$NS_A" awk '/XfrmAcquireError/ {print $2}' /proc/net/xfrm_stat))"
established() { aikectl_in "$NS_B" "$B" list-sas --json | jq -e '.[0].state == "ESTABLISHED"' >/dev/null; }
wait_until 10 established || fail "the acquire did not lead to an IKE SA: $(aikectl_in "$NS_B" "$B" list-sas)"
echo "ok: a ping into 10.2.0.0/24 made the kernel send an acquire; aiked initiated and the IKE SA is ESTABLISHED"

# A second packet while the SA exists does not start another IKE SA.
ip netns exec "$NS_A" ping -c 1 -W 1 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1
sleep 1
[ "$(aikectl_in "$NS_B" "$B" list-sas --json | jq length)" = 1 ] || fail "a second acquire started another IKE SA"
# (The acquire itself leaves a larval "proto esp" state in the SAD; keyed SAs show "aead".)
if wait_until 5 grep -q "installing CHILD_SA net.*failed" "$A/aiked.log"; then
  echo "ok (partly): this kernel refuses ESP states, so the CHILD_SA's SAs were refused and reported: $(grep -o 'failed: .*' "$A/aiked.log" | head -1 | cut -c1-120)"
else
  [ "$(ip -n "$NS_A" xfrm state list | grep -c aead)" = 2 ] || fail "A: neither 2 keyed ESP SAs nor a report: $(ip -n "$NS_A" xfrm state)"
  echo "ok: the kernel holds the CHILD_SA's two ESP SAs"
fi

aiked_stop "$A"
[ -z "$(ip -n "$NS_A" xfrm policy list | grep -E 'priority 15[0-6][0-9]{4}')" ] ||
  fail "aike policies left after a clean stop: $(ip -n "$NS_A" xfrm policy)"
echo "ok: a clean stop removes the trap policy"
aiked_stop "$B"
echo "trap_acquire: all passed"
