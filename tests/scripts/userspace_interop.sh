#!/usr/bin/env bash
# aiked with kernel = "userspace" against strongSwan's charon with its kernel-libipsec plugin
# (userspace ESP over its TUN device ipsec0; both always carry ESP in UDP on port 4500). For
# ESP aes256gcm16 and aes128-sha256: ping passes from each side's inner subnet to the other's, a
# TCP transfer (iperf3) passes both ways, and charon's packet counters (swanctl --list-sas --raw)
# agree with aiked's (list-sas --json).
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
. "$(dirname "$0")/lib/dataplane.sh"
need_tun
[ -x /usr/lib/ipsec/charon ] || { echo "SKIP: strongSwan's charon is not installed"; exit 77; }
ns_setup usinterop
A=$WORK/a
B=$WORK/b

ESP=(aes256gcm16 aes128-sha256)
# How aiked names them in list-sas.
SHOWN=(aes256gcm16 aes128-sha256)

# --- charon (B), kernel-libipsec ---
{
  echo "connections {"
  swanctl_psk_conn resp b.test a.test net 10.2.0.0/24 10.1.0.0/24,10.1.1.0/24 "$(IFS=,; echo "${ESP[*]}")"
  echo "}"
  swanctl_psk_secret userspace-interop-secret
} >"$B/swanctl.conf"
charon_start "$NS_B" "$B"
wait_until 5 ip -n "$NS_B" link show ipsec0 || fail "charon's kernel-libipsec made no ipsec0 device"
# The shared charon configuration installs no routes: send A's subnets into ipsec0 by hand.
ip -n "$NS_B" link set ipsec0 up
ip -n "$NS_B" route add 10.1.0.0/24 dev ipsec0 src 10.2.0.1 || fail "route on B"
ip -n "$NS_B" route add 10.1.1.0/24 dev ipsec0 src 10.2.0.1 || fail "route on B"

# --- aiked (A), userspace backend ---
{
  aiked_daemon_section "$A" 10.250.0.1 userspace
  aiked_psk_secret userspace-interop-secret
  i=0
  for e in "${ESP[@]}"; do
    i=$((i + 1))
    aiked_psk_conn "c$i" 10.250.0.1 10.250.0.2 a.test b.test
    aiked_child "c$i" "net$i" "10.1.0.0/24 10.1.1.0/24" 10.2.0.0/24 "$e"
  done
} >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

# charon_counter FIELD: packets-in / packets-out of charon's (only) CHILD_SA.
charon_counter() {
  swanctl_in "$B" --list-sas --raw | grep -o "$1=[0-9]*" | head -1 | cut -d= -f2
}

i=0
for e in "${ESP[@]}"; do
  i=$((i + 1))
  out=$(aikectl_in "$NS_A" "$A" initiate --child "net$i" --timeout 10) || fail "aiked -> charon ESP $e: $out"
  sas=$(aikectl_in "$NS_A" "$A" list-sas --ike "c$i" --json)
  [ "$(jq -r '.[-1].children[0].proposal' <<<"$sas")" = "${SHOWN[$((i - 1))]}" ] || fail "ESP $e: negotiated $sas"
  raw=$(swanctl_in "$B" --list-sas --raw)
  grep -q "encap=yes" <<<"$raw" || fail "charon's CHILD_SA is not UDP-encapsulated: $raw"

  for src in 10.1.0.1 10.1.1.1; do
    ping_from "$NS_A" "$src" 10.2.0.1 || fail "ESP $e: ping $src -> 10.2.0.1"
    ping_from "$NS_B" 10.2.0.1 "$src" || fail "ESP $e: ping 10.2.0.1 -> $src"
  done
  # Paced traffic: both sides count exactly the same packets (12 pings above each way, plus 20).
  ip netns exec "$NS_A" ping -n -q -c 20 -i 0.02 -I 10.1.0.1 10.2.0.1 >/dev/null || fail "ESP $e: ping -c 20"
  for pair in "packets_out packets-in" "packets_in packets-out"; do
    set -- $pair
    a=$(child_counter "$NS_A" "$A" "c$i" "$1")
    c=$(charon_counter "$2")
    [ "$a" = 32 ] && [ "$c" = 32 ] || fail "ESP $e: after 32 pings each way, aiked $1 = $a, charon $2 = $c"
  done
  lost_a=$(udp_rcvbuf_errors "$NS_A")
  lost_b=$(udp_rcvbuf_errors "$NS_B")
  mbit=$(iperf_transfer "$NS_B" 10.2.0.1 "$NS_A" 10.1.0.1 5M "$B") || fail "ESP $e: iperf3 aiked -> charon"
  echo "ESP $e: iperf3 aiked -> charon (5 MB, TCP): $mbit Mbit/s"
  mbit=$(iperf_transfer "$NS_A" 10.1.1.1 "$NS_B" 10.2.0.1 5M "$A") || fail "ESP $e: iperf3 charon -> aiked"
  echo "ESP $e: iperf3 charon -> aiked (5 MB, TCP): $mbit Mbit/s"

  a_out=$(child_counter "$NS_A" "$A" "c$i" packets_out)
  a_in=$(child_counter "$NS_A" "$A" "c$i" packets_in)
  c_in=$(charon_counter packets-in)
  c_out=$(charon_counter packets-out)
  lost_a=$(($(udp_rcvbuf_errors "$NS_A") - lost_a))
  lost_b=$(($(udp_rcvbuf_errors "$NS_B") - lost_b))
  echo "ESP $e: packets aiked out $a_out / charon in $c_in (+$lost_b lost to charon's full socket buffer)," \
    "charon out $c_out / aiked in $a_in (+$lost_a lost to aiked's)"
  [ "$a_out" -gt 1000 ] || fail "ESP $e: aiked sent only $a_out packets"
  counters_agree "$a_out" "$c_in" "$lost_b" || fail "ESP $e: aiked out $a_out vs charon in $c_in + $lost_b lost"
  counters_agree "$c_out" "$a_in" "$lost_a" || fail "ESP $e: charon out $c_out vs aiked in $a_in + $lost_a lost"

  aikectl_in "$NS_A" "$A" terminate --ike "c$i" --timeout 10 >/dev/null || fail "terminate c$i"
  wait_until 5 sh -c "! swanctl --list-sas --raw --uri unix://$B/charon.vici | grep -q child-sas" ||
    fail "charon still has a CHILD_SA after terminate"
  echo "ok: ESP $e"
done
aiked_stop "$A"
echo "PASS"
