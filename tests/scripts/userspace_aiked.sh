#!/usr/bin/env bash
# Two aiked with kernel = "userspace" (ESP in UDP over a TUN device, no kernel ESP needed) in two
# network namespaces. One CHILD_SA carries two local subnets of A (10.1.0.0/24, 10.1.1.0/24) to
# B's 10.2.0.0/24: ping passes from each inner address of A to B and back, a TCP transfer
# (iperf3) passes, and A's outbound packet counter agrees with B's inbound one (and back).
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
. "$(dirname "$0")/lib/dataplane.sh"
need_tun
ns_setup userspace
A=$WORK/a
B=$WORK/b

daemon() {  # daemon DIR LISTEN
  aiked_daemon_section "$1" "$2" userspace
  printf '[kernel]\ntun_name = "aike-us0"\ntun_mtu = 1400\nreplay_window = 128\n\n'
  aiked_psk_secret userspace-aiked-secret
}
conn() {  # conn LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_psk_conn site "$1" "$2" "$3" "$4"
  aiked_child site net "$5" "$6"
}
{ daemon "$A" 10.250.0.1; conn 10.250.0.1 10.250.0.2 a.test b.test '["10.1.0.0/24", "10.1.1.0/24"]' '["10.2.0.0/24"]'; } >"$A/aiked.toml"
# Where the kernel refuses ESP states (as on the CI machines), B runs kernel = "auto", which must
# then choose the userspace backend and say why; elsewhere B runs "userspace" like A.
B_KERNEL=userspace
if ! ip -n "$NS_B" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1000 mode tunnel \
  aead 'rfc4106(gcm(aes))' 0x0102030405060708091011121314151617181920 128 2>/dev/null; then
  B_KERNEL=auto
fi
ip -n "$NS_B" xfrm state flush 2>/dev/null
{ daemon "$B" 10.250.0.2 | sed "s/^kernel = \"userspace\"/kernel = \"$B_KERNEL\"/"; conn 10.250.0.2 10.250.0.1 b.test a.test '["10.2.0.0/24"]' '["10.1.0.0/24", "10.1.1.0/24"]'; } >"$B/aiked.toml"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
grep -q 'kernel = "userspace": aiked carries ESP itself' "$A/aiked.log" || fail "A does not log the userspace backend"
if [ "$B_KERNEL" = auto ]; then
  grep -q 'kernel = "auto": using the userspace ESP backend over TUN device aike-us0, because the kernel refuses ESP' \
    "$B/aiked.log" || fail "B (kernel = auto) does not say it chose the userspace backend and why"
  echo "kernel = \"auto\" chose the userspace backend: ok"
fi
ip -n "$NS_A" link show aike-us0 | grep -q "mtu 1400" || fail "A: no TUN device aike-us0 with MTU 1400"

aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 >/dev/null || fail "initiate net"
sas=$(aikectl_in "$NS_A" "$A" list-sas --json)
[ "$(jq -r '.[-1].children | length' <<<"$sas")" = 1 ] || fail "expected one CHILD_SA: $sas"
[ "$(jq -r '.[-1].children[0].encap' <<<"$sas")" = true ] || fail "the CHILD_SA is not UDP-encapsulated: $sas"
[ "$(jq -r '.[-1].local_port' <<<"$sas")" = 4500 ] || fail "IKE did not move to the NAT-T port: $sas"
routes=$(ip -n "$NS_B" route show dev aike-us0)
grep -q "10.1.0.0/24" <<<"$routes" && grep -q "10.1.1.0/24" <<<"$routes" || fail "B: routes through the TUN device: $routes"

for src in 10.1.0.1 10.1.1.1; do
  ping_from "$NS_A" "$src" 10.2.0.1 || fail "ping $src -> 10.2.0.1"
  ping_from "$NS_B" 10.2.0.1 "$src" || fail "ping 10.2.0.1 -> $src"
done
echo "ping A <-> B through both subnets: ok"
# Paced traffic: both sides count exactly the same packets (12 pings each way above).
for pair in "$NS_A $A $NS_B $B" "$NS_B $B $NS_A $A"; do
  set -- $pair
  o=$(child_counter "$1" "$2" site packets_out)
  n=$(child_counter "$3" "$4" site packets_in)
  [ "$o" = 12 ] && [ "$n" = 12 ] || fail "after 12 pings each way: out $o, in $n"
done

lost_a=$(udp_rcvbuf_errors "$NS_A")
lost_b=$(udp_rcvbuf_errors "$NS_B")
mbit=$(iperf_transfer "$NS_B" 10.2.0.1 "$NS_A" 10.1.0.1 5M "$B") || fail "iperf3 A -> B: $(cat "$B/iperf-client.json")"
echo "iperf3 A -> B (5 MB, TCP): $mbit Mbit/s"
mbit=$(iperf_transfer "$NS_A" 10.1.1.1 "$NS_B" 10.2.0.1 5M "$A") || fail "iperf3 B -> A: $(cat "$A/iperf-client.json")"
echo "iperf3 B -> A (5 MB, TCP): $mbit Mbit/s"

a_out=$(child_counter "$NS_A" "$A" site packets_out)
a_in=$(child_counter "$NS_A" "$A" site packets_in)
b_out=$(child_counter "$NS_B" "$B" site packets_out)
b_in=$(child_counter "$NS_B" "$B" site packets_in)
lost_a=$(($(udp_rcvbuf_errors "$NS_A") - lost_a))
lost_b=$(($(udp_rcvbuf_errors "$NS_B") - lost_b))
echo "packets: A out $a_out / B in $b_in (+$lost_b lost to a full socket buffer), B out $b_out / A in $a_in (+$lost_a)"
[ "$a_out" -gt 1000 ] || fail "A sent only $a_out packets through the tunnel"
counters_agree "$a_out" "$b_in" "$lost_b" || fail "A out $a_out vs B in $b_in + $lost_b lost"
counters_agree "$b_out" "$a_in" "$lost_a" || fail "B out $b_out vs A in $a_in + $lost_a lost"
for f in replay_drops auth_failures; do
  [ "$(child_counter "$NS_B" "$B" site $f)" = 0 ] || fail "B: $f not 0"
done
aikectl_in "$NS_A" "$A" list-sas | grep -q "bytes, .* packets" || fail "list-sas text shows no counters"

aiked_stop "$A"
ip -n "$NS_A" link show aike-us0 >/dev/null 2>&1 && fail "A: TUN device left after stop"
aiked_stop "$B"
echo "PASS"
