#!/usr/bin/env bash
# Interop with strongSwan's charon over an SA's life: DELETE from either side removes the SA on
# both; encap = true makes the peer see a NAT and IKE move to port 4500; 10,000 malformed
# datagrams at ports 500 and 4500 leave aiked alive and charon still gets an SA; when charon is
# killed, aiked notices within dpd_delay plus its retransmission budget and clears (and, with
# dpd_action = restart, brings the connection up again once charon is back).
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup life
A=$WORK/a
B=$WORK/b

{
  echo "connections {"
  swanctl_psk_conn resp b.test a.test net 10.2.0.0/24 10.1.0.0/24
  swanctl_psk_conn init b-init.test a.test cnet 10.2.0.0/24 10.1.0.0/24
  echo "}"
  swanctl_psk_secret lifecycle-secret
} >"$B/swanctl.conf"
charon_start "$NS_B" "$B"

conn() {  # conn NAME CHILD EXTRA [REMOTE_ID]: one aiked connection to charon
  aiked_psk_conn "$1" 10.250.0.1 10.250.0.2 a.test "${4:-b.test}" "unique = \"never\"
$3"
  aiked_child "$1" "$2" 10.1.0.0/24 10.2.0.0/24
}
{
  aiked_daemon_section "$A"
  aiked_psk_secret lifecycle-secret
  conn plain net ""
  conn encap enet 'encap = true'
  conn dead dnet $'dpd_delay = "2s"\ndpd_action = "clear"'
  conn again anet $'dpd_delay = "2s"\ndpd_action = "restart"\nkeyingtries = 0'
  conn responder rnet "" "b-init.test"
} >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

count_aiked() { aikectl_in "$NS_A" "$A" list-sas --ike "$1" --json | jq length; }
count_charon() { swanctl_in "$B" --list-sas --ike "$1" --raw 2>/dev/null | grep -c "state=ESTABLISHED"; }
# For wait_until, which runs its command again and again (a $(...) argument would be fixed once).
aiked_has() { [ "$(count_aiked "$1")" = "$2" ]; }
charon_has() { [ "$(count_charon "$1")" -ge "$2" ]; }
charon_has_none() { [ "$(count_charon "$1")" = 0 ]; }

# 1. DELETE from aiked.
aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 >/dev/null || fail "initiate net"
[ "$(count_charon resp)" = 1 ] || fail "charon has no SA after aiked initiated"
out=$(aikectl_in "$NS_A" "$A" terminate --ike plain --timeout 10) || fail "terminate: $out"
[ "$(count_aiked plain)" = 0 ] || fail "aiked still lists the SA after terminate"
wait_until 5 charon_has_none resp || fail "charon still has the SA after aiked's DELETE"
echo "ok: DELETE from aiked removes the SA on both sides"

# 2. DELETE from charon.
swanctl_in "$B" --initiate --child cnet --timeout 10 >/dev/null 2>&1 || fail "charon initiate"
[ "$(count_aiked responder)" = 1 ] || fail "aiked has no SA after charon initiated"
swanctl_in "$B" --terminate --ike init --timeout 10 >/dev/null 2>&1 || fail "charon terminate"
wait_until 5 aiked_has responder 0 || fail "aiked still has the SA after charon's DELETE"
echo "ok: DELETE from charon removes the SA on both sides"

# 3. encap = true: charon must see us behind a NAT, and IKE runs on 4500.
aikectl_in "$NS_A" "$A" initiate --child enet --timeout 10 >/dev/null || fail "initiate enet"
port=$(aikectl_in "$NS_A" "$A" list-sas --ike encap --json | jq -r '.[0].remote_port')
[ "$port" = 4500 ] || fail "encap: remote port is $port, expected 4500"
enc=$(aikectl_in "$NS_A" "$A" list-sas --ike encap --json | jq -r '.[0].children[0].encap')
[ "$enc" = true ] || fail "encap: CHILD_SA not UDP-encapsulated"
grep -q "remote host is behind NAT" "$B/charon.log" || fail "encap: charon did not detect the (faked) NAT"
aikectl_in "$NS_A" "$A" terminate --ike encap >/dev/null
echo "ok: encap = true moves IKE to port 4500 and the peer sees a NAT"

# 4. Garbage at both ports, then a fresh SA from charon still works.
ip netns exec "$NS_B" "$AIKE_BUILD/tests/ike_garbage" 10.250.0.1 500 5000 >/dev/null || fail "garbage sender (500)"
ip netns exec "$NS_B" "$AIKE_BUILD/tests/ike_garbage" 10.250.0.1 4500 5000 natt >/dev/null || fail "garbage sender (4500)"
kill -0 "$(cat "$A/aiked.pid")" || fail "aiked died from garbage"
swanctl_in "$B" --initiate --child cnet --timeout 10 >/dev/null 2>&1 || fail "charon could not initiate after the garbage"
[ "$(count_aiked responder)" = 1 ] || fail "no SA after garbage"
drops=$(aikectl_in "$NS_A" "$A" stats --json | jq '[.drops[]] | add')
[ "${drops:-0}" -ge 9000 ] || fail "expected about 10,000 counted drops, got $drops"
lines=$(grep -c "INFO  \[ike\] dropped datagram" "$A/aiked.log")
[ "$lines" -lt 100 ] || fail "drops are not rate-limited in the log ($lines lines)"
swanctl_in "$B" --terminate --ike init >/dev/null 2>&1
echo "ok: 10,000 garbage datagrams dropped ($drops counted, $lines log lines), aiked alive, charon still connects"

# 5. DPD: kill charon; aiked clears within dpd_delay + retransmission budget (2 + 1 + 1.5 + 2.25 s).
aikectl_in "$NS_A" "$A" initiate --child dnet --timeout 10 >/dev/null || fail "initiate dnet"
aikectl_in "$NS_A" "$A" initiate --child anet --timeout 10 >/dev/null || fail "initiate anet"
kill -9 "$(cat "$B/charon.pid")"
start=$(date +%s)
wait_until 15 aiked_has dead 0 || fail "aiked did not clear the SA of a dead peer"
echo "ok: dead peer cleared after $(( $(date +%s) - start )) s (dpd_action = clear)"
grep -q "did not answer" "$A/aiked.log" || fail "no log line naming the dead peer"
# dpd_action = restart: a new attempt to the same peer appears.
wait_until 15 grep -q "restarting 'again'" "$A/aiked.log" || fail "dpd_action = restart did not restart"
charon_start "$NS_B" "$B"
wait_until 20 charon_has resp 1 || fail "restarted connection did not come up once charon was back"
echo "ok: dpd_action = restart brought the connection up again"
aiked_stop "$A"
echo "interop_lifecycle: all passed"
