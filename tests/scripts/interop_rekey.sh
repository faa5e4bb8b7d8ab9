#!/usr/bin/env bash
# Interop with strongSwan's charon: CHILD_SA rekeying (RFC 7296 §1.3.3). A CHILD_SA without PFS
# and one with PFS (x25519) are rekeyed by aiked (`aikectl rekey --child-id`) and by charon
# (`swanctl --rekey --child`); then a timed rekey by each side (short rekey_time). After each
# rekey both sides must show the same new SPIs, aiked's reqid must be unchanged, and the old
# SPIs must be gone on both sides.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup rekey

# name:aiked-id:local-subnet:remote-subnet:esp:aiked-child-lifetimes:charon-child-lifetimes
CHILDREN=(
  "plain:a1.test:10.1.0.0/24:10.2.0.0/24:aes256gcm16::"
  "pfs:a2.test:10.1.1.0/24:10.2.0.0/24:aes256gcm16-x25519::"
  "atimed:a3.test:10.1.2.0/24:10.2.0.0/24:aes256gcm16:rekey_time = \"12s\"\nrand_time = \"2s\"\nlife_time = \"60s\":"
  "ctimed:a4.test:10.1.3.0/24:10.2.0.0/24:aes256gcm16::rekey_time = 12s"
)

# --- charon (B): one responder connection per child, told apart by aiked's identity ---
{
  echo "connections {"
  for c in "${CHILDREN[@]}"; do
    IFS=: read -r name id lnet rnet esp _ clife <<<"$c"
    swanctl_psk_conn "$name" b.test "$id" "$name" "$rnet" "$lnet" "$esp" "" "$clife"
  done
  echo "}"
  swanctl_psk_secret interop-rekey-secret
} >"$WORK/b/swanctl.conf"
charon_start "$NS_B" "$WORK/b"

# --- aiked (A) ---
{
  aiked_daemon_section "$WORK/a"
  aiked_psk_secret interop-rekey-secret
  for c in "${CHILDREN[@]}"; do
    IFS=: read -r name id lnet rnet esp alife _ <<<"$c"
    aiked_psk_conn "$name" 10.250.0.1 10.250.0.2 "$id" b.test
    aiked_child "$name" "$name" "$lnet" "$rnet" "$esp" "$(printf '%b' "$alife")"
  done
} >"$WORK/a/aiked.toml"
aiked_start "$NS_A" "$WORK/a"

initiate_expect_same "${CHILDREN[@]%%:*}"
echo "ok: four IKE SAs with one CHILD_SA each"

# child_field CONN FIELD: a field of aiked's (only) CHILD_SA of CONN.
child_field() {
  aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$1" --json | jq -r ".[-1].children[0].$2"
}

# rekeyed CONN OLD_IN OLD_OUT REQID: true once both sides show exactly one new CHILD_SA that
# matches, with aiked's reqid kept, and neither side shows the old SPIs any more.
rekeyed() {
  local conn=$1 old_in=$2 old_out=$3 reqid=$4 a raw n cin cout
  a=$(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$conn" --json) || return 1
  n=$(jq '.[-1].children | length' <<<"$a")
  [ "$n" = 1 ] || return 1
  cin=$(jq -r '.[-1].children[0].spi_in' <<<"$a")
  cout=$(jq -r '.[-1].children[0].spi_out' <<<"$a")
  [ "$cin" != "$old_in" ] && [ "$cout" != "$old_out" ] || return 1
  [ "$(jq -r '.[-1].children[0].state' <<<"$a")" = INSTALLED ] || return 1
  [ "$(jq -r '.[-1].children[0].reqid' <<<"$a")" = "$reqid" ] || return 1
  raw=$(swanctl_in "$WORK/b" --list-sas --ike "$conn" --raw 2>&1) || return 1
  grep -q "spi-in=$cout" <<<"$raw" && grep -q "spi-out=$cin" <<<"$raw" || return 1
  ! grep -q "spi-in=$old_out" <<<"$raw" && ! grep -q "spi-out=$old_in" <<<"$raw" || return 1
  [ "$(grep -o 'state=INSTALLED' <<<"$raw" | wc -l)" = 1 ] || return 1
}

# expect_rekey CONN WHO SECONDS: runs the rekey WHO asks for (aiked, charon, or "timer" = wait)
# and checks the outcome within SECONDS.
expect_rekey() {
  local conn=$1 who=$2 secs=$3 old_in old_out reqid id out
  old_in=$(child_field "$conn" spi_in)
  old_out=$(child_field "$conn" spi_out)
  reqid=$(child_field "$conn" reqid)
  id=$(child_field "$conn" id)
  case $who in
    aiked) out=$(aikectl_in "$NS_A" "$WORK/a" rekey --child-id "$id") || fail "aikectl rekey --child-id $id: $out" ;;
    charon) swanctl_in "$WORK/b" --rekey --child "$conn" >"$WORK/b/rekey.log" 2>&1 ||
              fail "swanctl --rekey --child $conn: $(cat "$WORK/b/rekey.log")" ;;
    timer) ;;
  esac
  wait_until "$secs" rekeyed "$conn" "$old_in" "$old_out" "$reqid" ||
    fail "$conn: no clean rekey by $who within $secs s (old SPIs $old_in/$old_out): aiked $(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "$conn" --json | jq -c '.[-1].children'); charon $(swanctl_in "$WORK/b" --list-sas --ike "$conn" --raw 2>&1)"
  echo "ok: $conn rekeyed by $who ($old_in/$old_out -> $(child_field "$conn" spi_in)/$(child_field "$conn" spi_out), reqid $reqid)"
}

expect_rekey plain aiked 10
expect_rekey plain charon 10
expect_rekey pfs aiked 10
grep -q "rekeyed {[0-9]*} with SPIs .* (PFS group 31)" "$WORK/a/aiked.log" || fail "no PFS in aiked's rekey of pfs"
n_pfs=$(grep -c "(PFS group 31)" "$WORK/a/aiked.log")
expect_rekey pfs charon 10
[ "$(grep -c "(PFS group 31)" "$WORK/a/aiked.log")" -gt "$n_pfs" ] || fail "charon's rekey of pfs used no PFS"
# Twice more from each side: the SA keeps working as a rekey target.
expect_rekey plain aiked 10
expect_rekey plain charon 10

# Timed rekeys: aiked's child atimed rekeys itself after 10..12 s, charon's ctimed after ~12 s.
expect_rekey atimed timer 30
grep -q "atimed{[0-9]*}: rekey_time reached" "$WORK/a/aiked.log" || fail "aiked's rekey of atimed was not started by its timer"
expect_rekey ctimed timer 30

# Both sides at once (§2.8.1), made certain with packet filters in the namespaces:
#  1. B drops all IKE from A, A drops IKE responses. aiked sends its rekey request (lost), then
#     charon sends its own; aiked gets it while its own is outstanding and answers (lost).
#  2. B accepts again. aiked's retransmission reaches charon while charon's request is
#     outstanding; charon answers (lost at A). charon's retransmission makes aiked resend its
#     cached answer, which charon now gets: charon holds both new SAs and applies the nonce rule.
#  3. A accepts again: aiked's next retransmission brings charon's cached answer, and aiked
#     applies the nonce rule too. One new CHILD_SA must remain on both sides.
# filter NS RULE|off: an input rule for UDP 4500 in NS (the flags octet of the IKE header lies
# after the UDP header, the non-ESP marker and 19 octets of header: bit offset 248).
filter() {
  ip netns exec "$1" nft delete table inet aike_rekey 2>/dev/null
  [ "$2" = off ] && return 0
  ip netns exec "$1" nft -f - <<NFT || fail "nft in $1"
table inet aike_rekey {
  chain input {
    type filter hook input priority 0;
    udp dport 4500 $2 drop
  }
}
NFT
}
if ! command -v nft >/dev/null; then
  echo "SKIP: the simultaneous rekey needs nft"
  aiked_stop "$WORK/a"
  exit 77
fi
for round in 1 2 3; do
  old_in=$(child_field plain spi_in)
  old_out=$(child_field plain spi_out)
  reqid=$(child_field plain reqid)
  id=$(child_field plain id)
  before=$(grep -c "rekey collision on CHILD_SA plain" "$WORK/a/aiked.log")
  filter "$NS_B" ""
  filter "$NS_A" "@th,248,8 & 0x20 != 0"
  # --noblock: the answer would wait for the rekey, which the filter holds back on purpose.
  aikectl_in "$NS_A" "$WORK/a" rekey --noblock --child-id "$id" >"$WORK/a/collide.log" 2>&1 || fail "aikectl rekey: $(cat "$WORK/a/collide.log")"
  swanctl_in "$WORK/b" --rekey --child plain >"$WORK/b/collide.log" 2>&1 || fail "swanctl --rekey: $(cat "$WORK/b/collide.log")"
  sleep 0.3
  filter "$NS_B" off
  sleep 1.2
  filter "$NS_A" off
  wait_until 15 rekeyed plain "$old_in" "$old_out" "$reqid" ||
    fail "plain: simultaneous rekey round $round left no single agreed CHILD_SA: aiked $(aikectl_in "$NS_A" "$WORK/a" list-sas --ike plain --json | jq -c '.[-1].children'); charon $(swanctl_in "$WORK/b" --list-sas --ike plain --raw 2>&1)"
  sleep 2  # nothing may change afterwards (a redundant SA deleted late, a stray rekey)
  wait_until 1 rekeyed plain "$old_in" "$old_out" "$reqid" || fail "plain: round $round did not stay settled"
  [ "$(grep -c "rekey collision on CHILD_SA plain" "$WORK/a/aiked.log")" -gt "$before" ] ||
    fail "plain: round $round was no collision for aiked"
done
grep -q "CHILD_REKEY collision with CHILD_REKEY" "$WORK/b/charon.log" || fail "charon saw no rekey collision"
echo "ok: simultaneous rekeys of plain (forced collisions) resolved by the nonce rule 3 times"

# Nothing was dropped or lost on the way: every IKE SA is still up with one CHILD_SA.
n=$(aikectl_in "$NS_A" "$WORK/a" list-sas --json | jq '[.[] | select(.state == "ESTABLISHED") | .children | length] | add')
[ "$n" = 4 ] || fail "expected 4 CHILD_SAs on 4 established IKE SAs, got $n"
aiked_stop "$WORK/a"
echo "interop_rekey: all passed"
