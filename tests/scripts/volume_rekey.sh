#!/usr/bin/env bash
# CHILD_SA rekeying by packet count with the userspace backend: two aiked with kernel =
# "userspace" and rekey_packets = 200 (so life_packets = 220, rand_packets = 20). 700 pings from
# A to B (700 packets each way through each CHILD_SA) must make the data path report soft
# expires, the CHILD_SA must be rekeyed at least three times (new SPIs in `aikectl list-sas
# --json`), no CHILD_SA may reach its hard limit, and not one ping may be lost across the rekeys
# (the old SA's inbound half opens late packets for a grace time after its removal).
# Namespaces aa-[TAG-]lifet-PID / ab-..., TUN device lifet-us0, control port AIKE_CONTROL_PORT
# (default 4650) inside the namespaces.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
. "$(dirname "$0")/lib/dataplane.sh"
need_tun
command -v jq >/dev/null || { echo "SKIP: jq is missing"; exit 77; }
AIKE_CONTROL_PORT=${AIKE_CONTROL_PORT:-4650}
ns_setup lifet
A=$WORK/a
B=$WORK/b

config() {  # config DIR LISTEN REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_daemon_section "$1" "$2" userspace
  printf '[kernel]\ntun_name = "lifet-us0"\n\n'
  aiked_psk_secret volume-rekey-secret
  aiked_psk_conn site "$2" "$3" "$4" "$5"
  aiked_child site net "$6" "$7" aes256gcm16 'rekey_packets = 200'
}
config "$A" 10.250.0.1 10.250.0.2 a.test b.test 10.1.0.0/24 10.2.0.0/24 >"$A/aiked.toml"
config "$B" 10.250.0.2 10.250.0.1 b.test a.test 10.2.0.0/24 10.1.0.0/24 >"$B/aiked.toml"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
aikectl_in "$NS_A" "$A" initiate --child net --timeout 10 >/dev/null || fail "initiate net"

spis() {  # spis NS DIR: "IN OUT" of the CHILD_SA net
  aikectl_in "$1" "$2" list-sas --ike site --json | jq -r '[.[].children[] | select(.name == "net")] | .[-1] | "\(.spi_in) \(.spi_out)"'
}
first_a=$(spis "$NS_A" "$A")
first_b=$(spis "$NS_B" "$B")
[ -n "$first_a" ] && [ "$first_a" != "null null" ] || fail "no CHILD_SA net on A"
echo "first CHILD_SA: A $first_a, B $first_b"

# 700 echo requests, 10 ms apart; ping's summary says how many replies came back.
out=$(ip netns exec "$NS_A" ping -n -q -c 700 -i 0.01 -W 2 -I 10.1.0.1 10.2.0.1 2>&1)
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
echo "ping: $(grep -E 'transmitted' <<<"$out")"
# Let the last rekey (if one was running) finish before counting.
sleep 1

now_a=$(spis "$NS_A" "$A")
now_b=$(spis "$NS_B" "$B")
echo "CHILD_SA now: A $now_a, B $now_b"
[ "$now_a" != "$first_a" ] || fail "A's CHILD_SA still has its first SPIs ($first_a): no rekey"
[ "$now_b" != "$first_b" ] || fail "B's CHILD_SA still has its first SPIs ($first_b): no rekey"
# A's inbound SPI is B's outbound one and back.
set -- $now_a
a_in=$1 a_out=$2
set -- $now_b
[ "$a_in" = "$2" ] && [ "$a_out" = "$1" ] || fail "the two sides disagree on the CHILD_SA: A $now_a, B $now_b"
children=$(aikectl_in "$NS_A" "$A" list-sas --ike site --json | jq '[.[].children[] | select(.name == "net")] | length')
[ "$children" = 1 ] || fail "A has $children CHILD_SAs named net after the rekeys (expected 1)"

soft_a=$(grep -c "reached its soft lifetime: rekeying the CHILD_SA" "$A/aiked.log")
soft_b=$(grep -c "reached its soft lifetime: rekeying the CHILD_SA" "$B/aiked.log")
rekeys=$(grep -ciE "CHILD_SA.*rekeyed|rekeyed.*CHILD_SA" "$A/aiked.log")
echo "soft expires reported: A $soft_a, B $soft_b; rekey log lines on A: $rekeys"
[ $((soft_a + soft_b)) -ge 3 ] || fail "700 packets each way at rekey_packets = 200 gave only $((soft_a + soft_b)) soft expires"
grep -q "reached its hard lifetime" "$A/aiked.log" "$B/aiked.log" && fail "a CHILD_SA reached its hard packet limit"
[ "$received" = 700 ] || fail "$((700 - ${received:-0})) of 700 pings lost across the rekeys"
echo "700 of 700 pings answered across the rekeys: ok"

for f in replay_drops auth_failures other_drops; do
  for side in "$NS_A $A" "$NS_B $B"; do
    set -- $side
    v=$(child_counter "$1" "$2" site "$f")
    [ "$v" = 0 ] || fail "$f = $v on the current CHILD_SA"
  done
done

aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
