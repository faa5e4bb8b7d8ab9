#!/usr/bin/env bash
# Interop with strongSwan's charon, PSK, both directions, the proposal matrix of the daemon issue:
# aiked initiates each suite to charon, then charon initiates each suite to aiked. Both sides
# must show the same IKE SPIs and CHILD_SA SPIs, and a CHILD_SA with two local subnets must come
# up as one CHILD_SA carrying both selectors.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup psk

SUITES=(aes256gcm16-prfsha256-x25519 aes128-sha256-modp2048 aes256-sha384-ecp384 chacha20poly1305-prfsha512-curve448)
# The same suites as aiked prints them (the PRF always written, curve448 as x448).
SHOWN=(aes256gcm16-prfsha256-x25519 aes128-sha256-prfsha256-modp2048 aes256-sha384-prfsha384-ecp384 chacha20poly1305-prfsha512-x448)

# --- charon (B) ---
{
  echo "connections {"
  swanctl_psk_conn resp b.test a.test net 10.2.0.0/24 10.1.0.0/24,10.1.1.0/24 aes256gcm16,aes128-sha256 "" "" \
    "$(IFS=,; echo "${SUITES[*]}")"
  i=0
  for s in "${SUITES[@]}"; do
    i=$((i + 1))
    swanctl_psk_conn "init$i" "b$i.test" a.test "cnet$i" 10.2.0.0/24 10.1.0.0/24 aes256gcm16 "" "" "$s"
  done
  echo "}"
  swanctl_psk_secret interop-psk-secret
} >"$WORK/b/swanctl.conf"
charon_start "$NS_B" "$WORK/b"

# --- aiked (A) ---
{
  aiked_daemon_section "$WORK/a"
  aiked_psk_secret interop-psk-secret
  aiked_psk_conn peer 10.250.0.1 10.250.0.2 a.test %any 'unique = "never"' "${SUITES[*]}"
  aiked_child peer rnet 10.1.0.0/24 10.2.0.0/24
  i=0
  for s in "${SUITES[@]}"; do
    i=$((i + 1))
    aiked_psk_conn "out$i" 10.250.0.1 10.250.0.2 a.test b.test 'unique = "never"' "$s"
    aiked_child "out$i" "net$i" "10.1.0.0/24 10.1.1.0/24" 10.2.0.0/24
  done
} >"$WORK/a/aiked.toml"
aiked_start "$NS_A" "$WORK/a"

# --- aiked initiates every suite ---
i=0
for s in "${SUITES[@]}"; do
  i=$((i + 1))
  out=$(aikectl_in "$NS_A" "$WORK/a" initiate --child "net$i" --timeout 10) || fail "aiked -> charon $s: $out"
  expect_same_sas "$NS_A" "$WORK/a" "$WORK/b" "out$i" "${SHOWN[$((i - 1))]}"
  # Two local subnets, one CHILD_SA carrying both.
  ts=$(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "out$i" --json | jq -r '.[0].children[0].local_ts | join(" ")')
  [ "$ts" = "10.1.0.0/24 10.1.1.0/24" ] || fail "expected both local subnets in one CHILD_SA, got '$ts'"
  n=$(aikectl_in "$NS_A" "$WORK/a" list-sas --ike "out$i" --json | jq '.[0].children | length')
  [ "$n" = 1 ] || fail "expected one CHILD_SA, got $n"
  echo "ok: aiked -> charon $s"
done

# --- charon initiates every suite ---
i=0
for s in "${SUITES[@]}"; do
  i=$((i + 1))
  swanctl_in "$WORK/b" --initiate --child "cnet$i" --timeout 10 >"$WORK/b/initiate$i.log" 2>&1 ||
    fail "charon -> aiked $s: $(tail -5 "$WORK/b/initiate$i.log")"
  expect_same_sas "$NS_A" "$WORK/a" "$WORK/b" "peer" "${SHOWN[$((i - 1))]}" "init$i"
  echo "ok: charon -> aiked $s"
done
aiked_stop "$WORK/a"
echo "interop_psk: all passed"
