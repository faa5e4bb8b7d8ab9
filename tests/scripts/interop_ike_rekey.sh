#!/usr/bin/env bash
# Interop with strongSwan's charon: IKE SA rekeying (RFC 7296 §1.3.2, §2.18). The IKE SA is
# rekeyed by aiked (`aikectl rekey --ike`) and by charon (`swanctl --rekey --ike`), then by
# aiked's rekey_time timer and by charon's. After each rekey both sides must show the same new
# IKE SPIs, the old ones must be gone on both sides, the CHILD_SA must be unchanged, and it must
# still be rekeyable over the new IKE SA. Then both rekey at once (RFC 7296 §2.8.2): forced with
# packet filters, and asked of both at the same moment a few times; each time both must end
# with one IKE SA, the same on both sides, the CHILD_SA unchanged.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup ikerekey

# name:aiked-id:local-subnet:aiked-ike-lifetimes:charon-ike-lifetimes
CONNS=(
  "ike:a1.test:10.1.0.0/24:rekey_time = \"0\":rekey_time = 0"
  "atimed:a2.test:10.1.1.0/24:rekey_time = \"12s\"\nrand_time = \"2s\"\nover_time = \"60s\":rekey_time = 0"
  "ctimed:a3.test:10.1.2.0/24:rekey_time = \"0\":rekey_time = 12s\n          rand_time = 2s\n          over_time = 60s"
)

{
  echo "connections {"
  for c in "${CONNS[@]}"; do
    IFS=: read -r name id lnet _ clife <<<"$c"
    swanctl_psk_conn "$name" b.test "$id" "$name" 10.2.0.0/24 "$lnet" aes256gcm16 "$(printf '%b' "$clife")" "rekey_time = 0"
  done
  echo "}"
  swanctl_psk_secret interop-ike-rekey-secret
} >"$WORK/b/swanctl.conf"
charon_start "$NS_B" "$WORK/b"

{
  aiked_daemon_section "$WORK/a"
  aiked_psk_secret interop-ike-rekey-secret
  for c in "${CONNS[@]}"; do
    IFS=: read -r name id lnet alife _ <<<"$c"
    aiked_psk_conn "$name" 10.250.0.1 10.250.0.2 "$id" b.test "$(printf '%b' "$alife")"
    aiked_child "$name" "$name" "$lnet" 10.2.0.0/24 aes256gcm16 'rekey_time = "0"'
  done
} >"$WORK/a/aiked.toml"
# The forced collisions below hold messages back for a while (longer on a busy machine): give
# aiked a retransmission budget like charon's (about 12 s) so it does not give the SA up.
sed -i 's/^tries = 2$/tries = 4/' "$WORK/a/aiked.toml"
aiked_start "$NS_A" "$WORK/a"

initiate_expect_same "${CONNS[@]%%:*}"
echo "ok: three IKE SAs with one CHILD_SA each"

field() {
  aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$1" --json | jq -r ".[-1].$2"
}

# ike_rekeyed CONN OLD_L OLD_R CIN COUT: true once aiked shows one established IKE SA of CONN
# with new SPIs, charon shows exactly one IKE SA of CONN with the same SPIs and none of the old
# ones, and the CHILD_SA is the same on both sides (CIN/COUT: aiked's SPIs).
ike_rekeyed() {
  local conn=$1 old_l=$2 old_r=$3 cin=$4 cout=$5 a l r raw
  a=$(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$conn" --json) || return 1
  [ "$(jq 'length' <<<"$a")" = 1 ] || return 1
  [ "$(jq -r '.[0].state' <<<"$a")" = ESTABLISHED ] || return 1
  l=$(jq -r '.[0].local_spi' <<<"$a")
  r=$(jq -r '.[0].remote_spi' <<<"$a")
  [ "$l" != "$old_l" ] && [ "$r" != "$old_r" ] && [ "$l" != "$old_r" ] || return 1
  [ "$(jq -r '.[0].children | length' <<<"$a")" = 1 ] || return 1
  [ "$(jq -r '.[0].children[0].spi_in' <<<"$a")" = "$cin" ] || return 1
  [ "$(jq -r '.[0].children[0].spi_out' <<<"$a")" = "$cout" ] || return 1
  raw=$(swanctl_in "$WORK/b" --list-sas --ike "$conn" --raw 2>&1) || return 1
  [ "$(grep -o 'initiator-spi=' <<<"$raw" | wc -l)" = 1 ] || return 1
  grep -q "$l" <<<"$raw" && grep -q "$r" <<<"$raw" || return 1
  ! grep -q "$old_l" <<<"$raw" && ! grep -q "$old_r" <<<"$raw" || return 1
  grep -q "state=ESTABLISHED" <<<"$raw" && grep -q "spi-in=$cout" <<<"$raw" && grep -q "spi-out=$cin" <<<"$raw" || return 1
}

# expect_ike_rekey CONN WHO SECONDS
expect_ike_rekey() {
  local conn=$1 who=$2 secs=$3 old_l old_r cin cout out
  old_l=$(field "$conn" local_spi)
  old_r=$(field "$conn" remote_spi)
  cin=$(field "$conn" children[0].spi_in)
  cout=$(field "$conn" children[0].spi_out)
  case $who in
    aiked) out=$(aikectl_in "$NS_A" "$WORK/a" rekey --ike "$conn") || fail "aikectl rekey --ike $conn: $out"
           # blocks until the new IKE SA is in use and the old one deleted
           grep -qx "rekeyed 1 / 1" <<<"$out" || fail "aikectl rekey --ike $conn said: $out" ;;
    charon) swanctl_in "$WORK/b" --rekey --ike "$conn" >"$WORK/b/rekey.log" 2>&1 ||
              fail "swanctl --rekey --ike $conn: $(cat "$WORK/b/rekey.log")" ;;
    timer) ;;
  esac
  wait_until "$secs" ike_rekeyed "$conn" "$old_l" "$old_r" "$cin" "$cout" ||
    fail "$conn: no clean IKE rekey by $who within $secs s (old SPIs $old_l/$old_r): aiked $(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$conn" --json | jq -c .); charon $(swanctl_in "$WORK/b" --list-sas --ike "$conn" --raw 2>&1)"
  echo "ok: $conn IKE SA rekeyed by $who ($old_l/$old_r -> $(field "$conn" local_spi)/$(field "$conn" remote_spi)), CHILD_SA $cin/$cout unchanged"
}

# child_rekeyed CONN OLD_IN: aiked's CHILD_SA has a new inbound SPI that charon knows as outbound.
child_rekeyed() {
  local a cin cout raw
  a=$(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$1" --json) || return 1
  [ "$(jq -r '.[0].children | length' <<<"$a")" = 1 ] || return 1
  cin=$(jq -r '.[0].children[0].spi_in' <<<"$a")
  cout=$(jq -r '.[0].children[0].spi_out' <<<"$a")
  [ "$cin" != "$2" ] || return 1
  raw=$(swanctl_in "$WORK/b" --list-sas --ike "$1" --raw 2>&1) || return 1
  grep -q "spi-out=$cin" <<<"$raw" && grep -q "spi-in=$cout" <<<"$raw" && ! grep -q "spi-out=$2" <<<"$raw"
}

expect_child_rekey() {
  local conn=$1 old out
  old=$(field "$conn" children[0].spi_in)
  out=$(aikectl_in "$NS_A" "$WORK/a" rekey --child "$conn") || fail "aikectl rekey --child $conn: $out"
  wait_until 10 child_rekeyed "$conn" "$old" || fail "$conn: CHILD_SA not rekeyed over the new IKE SA"
  echo "ok: $conn CHILD_SA rekeyed over the new IKE SA"
}

expect_ike_rekey ike aiked 10
grep -q "IKE SA rekeyed: " "$WORK/a/aiked.log" || fail "aiked did not log its IKE rekey"
expect_child_rekey ike
expect_ike_rekey ike charon 10
expect_child_rekey ike
expect_ike_rekey ike aiked 10
expect_ike_rekey ike charon 10
# Timed: aiked's atimed after 10..12 s, charon's ctimed after 10..12 s (both over_times are long,
# so a rekey delayed by the packet filters below does not make either side expire the SA: life_time is enforced).
expect_ike_rekey atimed timer 30
grep -q "IKE SA rekey_time reached" "$WORK/a/aiked.log" || fail "aiked's rekey of atimed was not started by its timer"
expect_ike_rekey ctimed timer 30
expect_child_rekey atimed

# aiked_settled: every IKE rekey in aiked's log has seen its old SA go, and every redundant SA
# of a collision that aiked deletes is deleted (so a next rekey is not postponed). A redundant SA
# that charon is to delete may wait longer: when charon never learnt it (an answer held back, and
# aiked's DELETE of the old SA came first), charon drops it without a DELETE, and aiked forgets
# it at the next rekey.
aiked_settled() {
  local log=$WORK/a/aiked.log
  [ "$(grep -c 'IKE SA rekeyed: ' "$log")" = "$(grep -c 'old IKE SA .* gone' "$log")" ] &&
    [ "$(grep -c 'is redundant, we delete it' "$log")" = "$(grep -c 'redundant IKE SA .* gone: deleted$' "$log")" ]
}

# expect_settled CONN OLD_L OLD_R CIN COUT WHAT: one agreed IKE SA with new SPIs, and it stays so.
expect_settled() {
  wait_until 30 ike_rekeyed "$@" ||
    fail "$1: $6 left no single agreed IKE SA: aiked $(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$1" --json | jq -c .); charon $(swanctl_in "$WORK/b" --list-sas --ike "$1" --raw 2>&1)"
  wait_until 30 aiked_settled || fail "$1: $6: aiked kept an old or redundant IKE SA"
  sleep 2
  wait_until 1 ike_rekeyed "$@" || fail "$1: $6 did not stay settled"
}

# Both sides rekey the IKE SA at once (§2.8.2), forced with packet filters as in
# interop_rekey.sh, in two ways. "charon first": charon's request reaches aiked while aiked's own
# is held back for 0.3 s, and aiked's answers are held back for 1.5 s, so charon's exchange
# completes first and charon applies the nonce rule first. "both held": both first requests are
# dropped, so neither side has seen the other's when it sends its own (charon does not start a
# rekey of an IKE SA it is answering a rekey for); their retransmissions after 1 s pass, are both
# answered, and the answers are held back until 1.7 s; the next retransmissions get them, aiked's
# (1.5 s later) before charon's (1.8 s later), so aiked decides first. Each time
# both exchanges complete; the new SA made with the lowest of the four nonces is redundant and
# deleted by the side that started it, the other takes over the CHILD_SA on both sides.
filter() {
  ip netns exec "$1" nft delete table inet aike_ikerekey 2>/dev/null
  [ "$2" = off ] && return 0
  ip netns exec "$1" nft -f - <<NFT || fail "nft in $1"
table inet aike_ikerekey {
  chain input {
    type filter hook input priority 0;
    udp dport 4500 $2 drop
  }
}
NFT
}
RESPONSES="@th,248,8 & 0x20 != 0"
if command -v nft >/dev/null; then
  for round in "charon first" "both held" "charon first" "both held" "both held" "both held"; do
    old_l=$(field ike local_spi)
    old_r=$(field ike remote_spi)
    cin=$(field ike children[0].spi_in)
    cout=$(field ike children[0].spi_out)
    collisions=$(grep -c "IKE SA rekey collision: the peer rekeys" "$WORK/a/aiked.log")
    filter "$NS_B" ""
    if [ "$round" = "charon first" ]; then filter "$NS_A" "$RESPONSES"; else filter "$NS_A" ""; fi
    aikectl_in "$NS_A" "$WORK/a" rekey --ike ike --noblock >"$WORK/a/collide.log" 2>&1 ||
      fail "aikectl rekey: $(cat "$WORK/a/collide.log")"
    swanctl_in "$WORK/b" --rekey --ike ike >"$WORK/b/collide.log" 2>&1 || fail "swanctl --rekey: $(cat "$WORK/b/collide.log")"
    if [ "$round" = "charon first" ]; then
      sleep 0.3
      filter "$NS_B" off
      sleep 1.2
    else
      sleep 0.3
      filter "$NS_B" "$RESPONSES"
      filter "$NS_A" "$RESPONSES"
      sleep 1.4
      filter "$NS_B" off
    fi
    filter "$NS_A" off
    expect_settled ike "$old_l" "$old_r" "$cin" "$cout" "forced simultaneous IKE rekeys ($round)"
    [ "$(grep -c "IKE SA rekey collision: the peer rekeys" "$WORK/a/aiked.log")" -gt "$collisions" ] ||
      fail "ike: aiked saw no simultaneous IKE rekey ($round)"
    ! grep -q "IKE SA rekey from peer declined for now" "$WORK/a/aiked.log" ||
      fail "ike: aiked declined charon's rekey instead of resolving the collision"
    echo "ok: forced simultaneous IKE rekeys of ike ($round) settled on one new IKE SA ($(field ike local_spi)/$(field ike remote_spi)); aiked: $(grep 'IKE SA rekey collision: ' "$WORK/a/aiked.log" | grep -v 'the peer rekeys' | tail -1 | sed 's/.*collision: //')"
  done
  # Who applies the nonce rule first depends on timing; say how it went.
  echo "ok: aiked decided by the nonce rule $(grep -c 'lowest nonce and is redundant' "$WORK/a/aiked.log") time(s), learnt charon's decision $(grep -c 'the peer deleted the old SA before our rekey completed\|gone: the peer deleted it as redundant' "$WORK/a/aiked.log") time(s)"
  expect_child_rekey ike
else
  echo "skipped: forced simultaneous IKE rekeys need nft"
fi

# Asked of both sides at the same moment, without filters: the requests cross on the wire (a
# collision) or one rekey completes before the other starts (two rekeys in a row). Either way
# both end with one IKE SA, the same on both sides, and the CHILD_SA unchanged.
for round in 1 2 3 4 5 6; do
  old_l=$(field ike local_spi)
  old_r=$(field ike remote_spi)
  cin=$(field ike children[0].spi_in)
  cout=$(field ike children[0].spi_out)
  aikectl_in "$NS_A" "$WORK/a" rekey --ike ike --noblock >"$WORK/a/together.log" 2>&1 &
  pid_a=$!
  swanctl_in "$WORK/b" --rekey --ike ike >"$WORK/b/together.log" 2>&1 &
  pid_b=$!
  wait "$pid_a" || fail "aikectl rekey --ike ike --noblock: $(cat "$WORK/a/together.log")"
  wait "$pid_b" || fail "swanctl --rekey --ike ike: $(cat "$WORK/b/together.log")"
  expect_settled ike "$old_l" "$old_r" "$cin" "$cout" "IKE rekeys asked of both at once (round $round)"
  echo "ok: IKE rekeys of ike asked of both at once (round $round) settled on $(field ike local_spi)/$(field ike remote_spi)"
done
echo "ok: $(grep -c "IKE SA rekey collision: the peer rekeys" "$WORK/a/aiked.log") IKE rekey collisions in aiked's log in all"
expect_child_rekey ike

# A DELETE over the newest SA still works from aiked.
out=$(aikectl_in "$NS_A" "$WORK/a" terminate --ike ike --timeout 10) || fail "terminate --ike ike: $out"
wait_until 5 sh -c "! swanctl --list-sas --ike ike --uri unix://$WORK/b/charon.vici --raw | grep -q initiator-spi" ||
  fail "charon still has IKE SA ike after aiked's DELETE"
n=$(aikectl_in "$NS_A" "$WORK/a" list-sas --json | jq '[.[] | select(.state == "ESTABLISHED")] | length')
[ "$n" = 2 ] || fail "expected 2 established IKE SAs left, got $n"
aiked_stop "$WORK/a"
echo "interop_ike_rekey: all passed"
