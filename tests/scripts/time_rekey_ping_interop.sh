#!/usr/bin/env bash
# CHILD_SA rekeying by time with the userspace data plane against strongSwan's charon with
# kernel-libipsec: a continuous ping loses no packet across rekeys started by aiked and by
# charon. Two connections (two IKE SAs, told apart by aiked's identity): on `ra` aiked's CHILD_SA
# has rekey_time = 4s (rand_time 1s) and charon's none, so aiked starts every rekey; on `rb`
# charon's has rekey_time = 4s and aiked's 1h. aiked's side pings charon's through each (1,000
# echo requests, 20 ms apart, both at once): each CHILD_SA must be rekeyed by time at least
# three times by the side meant to, not one ping may be lost, and afterwards both sides agree on
# the current SPIs.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
. "$(dirname "$0")/lib/dataplane.sh"
need_tun
[ -x /usr/lib/ipsec/charon ] || { echo "SKIP: strongSwan's charon is not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is missing"; exit 77; }
AIKE_CONTROL_PORT=${AIKE_CONTROL_PORT:-4661}
ns_setup trpingx
A=$WORK/a
B=$WORK/b
PINGS=1000

# --- charon (B), kernel-libipsec
{
  echo "connections {"
  swanctl_psk_conn ra b.test a1.test na 10.2.0.1/32 10.1.0.1/32 aes256gcm16 "rekey_time = 0" "rekey_time = 0
       life_time = 2h"
  swanctl_psk_conn rb b.test a2.test nb 10.2.0.1/32 10.1.1.1/32 aes256gcm16 "rekey_time = 0" "rekey_time = 4s
       rand_time = 1s
       life_time = 2h"
  echo "}"
  swanctl_psk_secret time-rekey-interop-secret
} >"$B/swanctl.conf"
charon_start "$NS_B" "$B"
wait_until 5 ip -n "$NS_B" link show ipsec0 || fail "charon's kernel-libipsec made no ipsec0 device"
ip -n "$NS_B" link set ipsec0 up
ip -n "$NS_B" route add 10.1.0.1/32 dev ipsec0 src 10.2.0.1 || fail "route on B"
ip -n "$NS_B" route add 10.1.1.1/32 dev ipsec0 src 10.2.0.1 || fail "route on B"

# --- aiked (A), userspace backend
conn() {  # conn NAME CHILD ID LOCAL_TS REKEY_TIME
  aiked_psk_conn "$1" 10.250.0.1 10.250.0.2 "$3" b.test
  aiked_child "$1" "$2" "$4" 10.2.0.1/32 aes256gcm16 "rekey_time = \"$5\"
rand_time = \"1s\"
life_time = \"2h\""
}
{
  aiked_daemon_section "$A" 10.250.0.1 userspace
  printf '[kernel]\ntun_name = "trpingx-us0"\n\n'
  aiked_psk_secret time-rekey-interop-secret
  conn ra na a1.test 10.1.0.1/32 4s
  conn rb nb a2.test 10.1.1.1/32 1h
} >"$A/aiked.toml"
aiked_start "$NS_A" "$A"
for c in na nb; do
  out=$(aikectl_in "$NS_A" "$A" initiate --child "$c" --timeout 10 2>&1) || fail "initiate $c: $out"
done

aiked_spis() {  # aiked_spis CONN: "IN OUT" of aiked's newest CHILD_SA of CONN
  aikectl_in "$NS_A" "$A" list-sas --ike "$1" --json | jq -r '[.[].children[]] | .[-1] | "\(.spi_in) \(.spi_out)"'
}
# charon_spis CHILD: "IN OUT" of charon's installed CHILD_SAs named CHILD, one line each
charon_spis() {
  swanctl_in "$B" --list-sas --raw 2>/dev/null | grep -o "$1-[0-9]* {[^}]*state=INSTALLED[^}]*}" |
    sed -n 's/.*spi-in=\([0-9a-f]*\).*spi-out=\([0-9a-f]*\).*/\1 \2/p'
}
aiked_timed() { grep -c "CHILD_SA na{[0-9]*}: rekey_time reached, rekeying" "$A/aiked.log"; }
# charon rekeys only nb by time; each rekey it starts is a CREATE_CHILD_SA request with REKEY_SA.
charon_timed() { grep -c "generating CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA)" "$B/charon.log"; }
first_ra=$(aiked_spis ra)
first_rb=$(aiked_spis rb)
ping_from "$NS_A" 10.1.0.1 10.2.0.1 || fail "no ping through ra before the test"
ping_from "$NS_A" 10.1.1.1 10.2.0.1 || fail "no ping through rb before the test"
before_a=$(aiked_timed)
before_c=$(charon_timed)

ping_ra_rb $PINGS

by_a=$(($(aiked_timed) - before_a))
by_c=$(($(charon_timed) - before_c))
echo "time-based rekeys during the pings: ra by aiked $by_a, rb by charon $by_c" \
  "(aiked rekeyed rb $(grep -c 'CHILD_SA nb{[0-9]*}: rekey_time reached' "$A/aiked.log") time(s))"
for c in ra rb; do echo "ping through $c: $(grep transmitted "$WORK/ping.$c")"; done
[ "$by_a" -ge 3 ] || fail "aiked rekeyed ra only $by_a times by time during the pings"
[ "$by_c" -ge 3 ] || fail "charon rekeyed rb only $by_c times by time during the pings"
[ "$(grep -c 'CHILD_SA nb{[0-9]*}: rekey_time reached' "$A/aiked.log")" = 0 ] || fail "aiked rekeyed rb by time (rekey_time = 1h)"
for c in ra rb; do
  got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.$c")
  [ "$got" = "$PINGS" ] || fail "$((PINGS - ${got:-0})) of $PINGS pings through $c lost across the rekeys"
done
agree() {  # agree CONN CHILD: aiked's newest CHILD_SA of CONN is charon's only installed one
  local a c
  a=$(aiked_spis "$1") && c=$(charon_spis "$2") || return 1
  [ "$(wc -l <<<"$c")" = 1 ] || return 1
  set -- $a $c
  [ $# = 4 ] || return 1
  [ "$1" = "$4" ] && [ "$2" = "$3" ] &&
    [ "$(aikectl_in "$NS_A" "$A" list-sas --json | jq '[.[].children[]] | length')" = 2 ]
}
wait_until 10 agree ra na || fail "aiked and charon disagree on ra: aiked $(aiked_spis ra), charon $(charon_spis na)"
wait_until 10 agree rb nb || fail "aiked and charon disagree on rb: aiked $(aiked_spis rb), charon $(charon_spis nb)"
[ "$(aiked_spis ra)" != "$first_ra" ] || fail "ra still has its first SPIs"
[ "$(aiked_spis rb)" != "$first_rb" ] || fail "rb still has its first SPIs"
echo "ok: $PINGS of $PINGS pings through each CHILD_SA across $by_a rekeys by aiked and $by_c by charon"
aiked_stop "$A"
echo "PASS"
