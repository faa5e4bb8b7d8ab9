#!/usr/bin/env bash
# CHILD_SA rekeying by time with the userspace data plane, aiked <-> aiked: a continuous ping
# loses no packet across rekeys started by each side. Two connections between the same two
# daemons: on `ra` A's CHILD_SA has rekey_time = 4s (rand_time 1s) and B's 1h, so A starts every
# rekey; on `rb` it is the other way round. A pings B through each (1,000 echo requests, 20 ms
# apart, both at once from 10.1.0.1 and 10.1.1.1): each CHILD_SA must be rekeyed by time at
# least three times by the side meant to, not one ping may be lost, and afterwards both sides
# agree on the current SPIs.
# Namespaces aa-[TAG-]trping-PID / ab-..., TUN device trping-us0, control port AIKE_CONTROL_PORT
# (default 4660) inside the namespaces.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
. "$(dirname "$0")/lib/dataplane.sh"
need_tun
command -v jq >/dev/null || { echo "SKIP: jq is missing"; exit 77; }
AIKE_CONTROL_PORT=${AIKE_CONTROL_PORT:-4660}
ns_setup trping
A=$WORK/a
B=$WORK/b
PINGS=1000

# conn NAME CHILD LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS REKEY_TIME RAND_TIME
conn() {
  aiked_psk_conn "$1" "$3" "$4" "$5" "$6"
  aiked_child "$1" "$2" "$7" "$8" aes256gcm16 "rekey_time = \"$9\"
rand_time = \"${10}\"
life_time = \"2h\""
}
config() {  # config DIR LISTEN REMOTE SIDE
  aiked_daemon_section "$1" "$2" userspace
  printf '[kernel]\ntun_name = "trping-us0"\n\n'
  aiked_psk_secret time-rekey-secret
  # A has an identity per connection, so B finds the right connection for each IKE SA.
  if [ "$4" = a ]; then
    conn ra na "$2" "$3" a1.test b.test 10.1.0.1/32 10.2.0.1/32 4s 1s
    conn rb nb "$2" "$3" a2.test b.test 10.1.1.1/32 10.2.0.1/32 1h 1s
  else
    conn ra na "$2" "$3" b.test a1.test 10.2.0.1/32 10.1.0.1/32 1h 1s
    conn rb nb "$2" "$3" b.test a2.test 10.2.0.1/32 10.1.1.1/32 4s 1s
  fi
}
config "$A" 10.250.0.1 10.250.0.2 a >"$A/aiked.toml"
config "$B" 10.250.0.2 10.250.0.1 b >"$B/aiked.toml"
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
for c in na nb; do
  out=$(aikectl_in "$NS_A" "$A" initiate --child "$c" --timeout 10 2>&1) || fail "initiate $c: $out"
done

spis() {  # spis NS DIR CONN: "IN OUT" of the newest CHILD_SA of CONN
  aikectl_in "$1" "$2" list-sas --ike "$3" --json | jq -r '[.[].children[]] | .[-1] | "\(.spi_in) \(.spi_out)"'
}
timed() {  # timed DIR CHILD: time-based rekeys that side started on CHILD
  grep -c "CHILD_SA $2{[0-9]*}: rekey_time reached, rekeying" "$1/aiked.log"
}
first_ra=$(spis "$NS_A" "$A" ra)
first_rb=$(spis "$NS_A" "$A" rb)
ping_from "$NS_A" 10.1.0.1 10.2.0.1 || fail "no ping through ra before the test"
ping_from "$NS_A" 10.1.1.1 10.2.0.1 || fail "no ping through rb before the test"
before_a=$(timed "$A" na)
before_b=$(timed "$B" nb)

ping_ra_rb $PINGS
# A rekey that was running when the pings ended may still be finishing its DELETE.
settle() {
  local a b
  a=$(spis "$NS_A" "$A" "$1") && b=$(spis "$NS_B" "$B" "$1") || return 1
  set -- $a $b
  [ "$1" = "$4" ] && [ "$2" = "$3" ] &&
    [ "$(aikectl_in "$NS_A" "$A" list-sas --json | jq '[.[].children[]] | length')" = 2 ] &&
    [ "$(aikectl_in "$NS_B" "$B" list-sas --json | jq '[.[].children[]] | length')" = 2 ]
}

by_a=$(($(timed "$A" na) - before_a))
by_b=$(($(timed "$B" nb) - before_b))
echo "time-based rekeys during the pings: ra by A $by_a (by B $(timed "$B" na)), rb by B $by_b (by A $(timed "$A" nb))"
for c in ra rb; do
  echo "ping through $c: $(grep transmitted "$WORK/ping.$c")"
done
[ "$by_a" -ge 3 ] || fail "A rekeyed ra only $by_a times by time during the pings"
[ "$by_b" -ge 3 ] || fail "B rekeyed rb only $by_b times by time during the pings"
[ "$(timed "$B" na)" = 0 ] && [ "$(timed "$A" nb)" = 0 ] || fail "a side with rekey_time = 1h rekeyed by time"
for c in ra rb; do
  got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.$c")
  [ "$got" = "$PINGS" ] || fail "$((PINGS - ${got:-0})) of $PINGS pings through $c lost across the rekeys"
done
wait_until 10 settle ra || fail "A and B disagree on ra's CHILD_SA: A $(spis "$NS_A" "$A" ra), B $(spis "$NS_B" "$B" ra)"
wait_until 10 settle rb || fail "A and B disagree on rb's CHILD_SA: A $(spis "$NS_A" "$A" rb), B $(spis "$NS_B" "$B" rb)"
[ "$(spis "$NS_A" "$A" ra)" != "$first_ra" ] || fail "ra still has its first SPIs"
[ "$(spis "$NS_A" "$A" rb)" != "$first_rb" ] || fail "rb still has its first SPIs"
for f in replay_drops auth_failures other_drops; do
  for c in ra rb; do
    v=$(child_counter "$NS_A" "$A" "$c" "$f")
    [ "$v" = 0 ] || fail "$f = $v on A's current CHILD_SA of $c"
  done
done
echo "ok: $PINGS of $PINGS pings through each CHILD_SA across $by_a rekeys by A and $by_b by B"
aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
