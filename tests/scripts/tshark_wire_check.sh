#!/usr/bin/env bash
# tshark_wire_check.sh BUILD_DIR: an independent check of what the engine puts on the wire.
#
# write_ike_pcap runs IKE_SA_INIT + IKE_AUTH (PSK, one CHILD_SA) + INFORMATIONAL DELETE between
# two engines for three IKE suites and writes the datagrams as a pcap, plus the IKE SA keys in the
# format of Wireshark's "ikev2_decryption_table". tshark (Debian's Wireshark, not written here)
# then dissects the capture twice: without keys (the cleartext parts) and with the keys (it
# decrypts every SK payload and checks its ICV). Any malformed packet, any expert info, a missing
# payload or an integrity check that is not "[correct]" fails the test, with tshark's output.
# Exit 77 (skipped) only when tshark is not installed.
set -uo pipefail
build=${1:?usage: tshark_wire_check.sh BUILD_DIR}
command -v tshark >/dev/null 2>&1 || { echo "tshark not installed: skipped"; exit 77; }

tool="$build/tests/write_ike_pcap"
[ -x "$tool" ] || { echo "FAIL: $tool not built" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" "$work/ike.pcap" "$work/keys.txt" || { echo "FAIL: write_ike_pcap failed" >&2; exit 1; }

# tshark reads the UAT from its personal configuration directory ($XDG_CONFIG_HOME/wireshark);
# an empty temporary one also keeps the user's own preferences out of the check.
mkdir -p "$work/plain/wireshark" "$work/keyed/wireshark"
cp "$work/keys.txt" "$work/keyed/wireshark/ikev2_decryption_table"
dissect() {  # dissect CONFIG_HOME OUT
  HOME="$1" XDG_CONFIG_HOME="$1" tshark -n -r "$work/ike.pcap" -V >"$2" 2>"$2.err"
}
dissect "$work/plain" "$work/plain.txt" || { cat "$work/plain.txt.err" >&2; echo "FAIL: tshark failed" >&2; exit 1; }
dissect "$work/keyed" "$work/keyed.txt" || { cat "$work/keyed.txt.err" >&2; echo "FAIL: tshark failed" >&2; exit 1; }

failures=()
fail() { failures+=("$1"); }

# The text tshark printed for frame N of a dissection.
frame() { awk -v n="$2" '/^Frame [0-9]+:/ { f = ($2 == n ":") } f' "$1"; }

# expect FILE N PATTERN...: every (fixed-string) pattern occurs in frame N.
expect() {
  local file=$1 n=$2 text
  shift 2
  text=$(frame "$file" "$n")
  [ -n "$text" ] || { fail "frame $n missing in $(basename "$file")"; return; }
  for p in "$@"; do
    grep -qF -- "$p" <<<"$text" || fail "frame $n ($(basename "$file")): no \"$p\""
  done
}

# --- whole-capture checks, both dissections ---
suites=("aes256gcm16-prfsha256-x25519" "aes128-sha256-modp2048" "aes256-sha384-ecp384")
frames_per_suite=6  # INIT req/resp, AUTH req/resp, INFORMATIONAL req/resp
for f in "$work/plain.txt" "$work/keyed.txt"; do
  n=$(grep -c '^Frame [0-9]*:' "$f")
  [ "$n" -eq $((${#suites[@]} * frames_per_suite)) ] || fail "$(basename "$f"): $n frames, expected $((${#suites[@]} * frames_per_suite))"
  for bad in "Malformed" "[Malformed Packet" "Expert Info (Error" "Expert Info (Warning" "incorrect"; do
    if grep -qF -- "$bad" "$f"; then fail "$(basename "$f"): tshark reports \"$bad\""; fi
  done
  if [ -s "$f.err" ] && grep -v 'Running as user "root"' "$f.err" | grep -q .; then
    fail "$(basename "$f"): tshark wrote to stderr: $(cat "$f.err")"
  fi
done
# With the keys every SK payload (two per exchange after IKE_SA_INIT) is decrypted and verified.
encrypted=$((${#suites[@]} * 4))
correct=$(grep -c 'Integrity Checksum Data: .*\[correct\]' "$work/keyed.txt")
[ "$correct" -eq "$encrypted" ] || fail "keyed: $correct integrity checks reported [correct], expected $encrypted"
decrypted=$(grep -c 'Decrypted Data (' "$work/keyed.txt")
[ "$decrypted" -eq "$encrypted" ] || fail "keyed: $decrypted SK payloads decrypted, expected $encrypted"
if grep -qF 'Decrypted Data' "$work/plain.txt"; then fail "plain: decrypted without keys?"; fi

# --- per exchange ---
for i in "${!suites[@]}"; do
  s=${suites[$i]}
  base=$((i * frames_per_suite + 1))
  case $s in
    aes256gcm16-*) encr="Transform ID (ENCR): AES-GCM with a 16 octet ICV (20)" integ="" ;;
    aes128-sha256-*) encr="Transform ID (ENCR): ENCR_AES_CBC (12)" integ="Transform ID (INTEG): AUTH_HMAC_SHA2_256_128 (12)" ;;
    aes256-sha384-*) encr="Transform ID (ENCR): ENCR_AES_CBC (12)" integ="Transform ID (INTEG): AUTH_HMAC_SHA2_384_192 (13)" ;;
  esac
  case $s in
    *-x25519) group="DH Group #: Curve25519 (31)" ;;
    *-modp2048) group="DH Group #: 2048 bit MODP group (14)" ;;
    *-ecp384) group="DH Group #: 384-bit random ECP group (20)" ;;
  esac
  init=("Exchange type: IKE_SA_INIT (34)" "Payload: Security Association (33)" "$encr" "${integ:-Transform ID (PRF)}"
        "Payload: Key Exchange (34)" "$group" "Payload: Nonce (40)"
        "Payload: Notify (41) - NAT_DETECTION_SOURCE_IP" "Payload: Notify (41) - NAT_DETECTION_DESTINATION_IP")
  expect "$work/plain.txt" $base "${init[@]}" "Response: Request" "Responder SPI: 0000000000000000" \
    "Notify (41) - SIGNATURE_HASH_ALGORITHMS"
  expect "$work/plain.txt" $((base + 1)) "${init[@]}" "Response: Response"
  for k in 2 3 4 5; do
    expect "$work/plain.txt" $((base + k)) "Payload: Encrypted and Authenticated (46)"
  done

  ok="Integrity Checksum Data:"
  expect "$work/keyed.txt" $((base + 2)) "Exchange type: IKE_AUTH (35)" "Response: Request" \
    "Payload: Identification - Initiator (35)" "ID_FQDN: moon.example" "Payload: Authentication (39)" \
    "Authentication Method: Shared Key Message Integrity Code (2)" "Payload: Security Association (33)" \
    "Protocol ID: ESP (3)" "Payload: Traffic Selector - Initiator (44)" "Payload: Traffic Selector - Responder (45)" \
    "Starting Addr: 10.1.0.0" "Starting Addr: 10.2.0.0" "$ok"
  expect "$work/keyed.txt" $((base + 3)) "Exchange type: IKE_AUTH (35)" "Response: Response" \
    "Payload: Identification - Responder (36)" "ID_FQDN: sun.example" "Payload: Authentication (39)" \
    "Payload: Security Association (33)" "Protocol ID: ESP (3)" "Payload: Traffic Selector - Initiator (44)" \
    "Payload: Traffic Selector - Responder (45)" "$ok"
  expect "$work/keyed.txt" $((base + 4)) "Exchange type: INFORMATIONAL (37)" "Response: Request" \
    "Payload: Delete (42)" "Protocol ID: IKE (1)" "$ok"
  expect "$work/keyed.txt" $((base + 5)) "Exchange type: INFORMATIONAL (37)" "Response: Response" \
    "Decrypted Data (" "$ok"
  # Each encrypted frame's ICV line must itself say [correct] (not only some frame's).
  for k in 2 3 4 5; do
    frame "$work/keyed.txt" $((base + k)) | grep -q 'Integrity Checksum Data: .*\[correct\]' ||
      fail "frame $((base + k)) (keyed): integrity check not reported [correct]"
  done
done

if [ ${#failures[@]} -ne 0 ]; then
  echo "===== tshark -V with the decryption table =====" >&2
  cat "$work/keyed.txt" >&2
  echo "===== decryption table =====" >&2
  cat "$work/keys.txt" >&2
  echo "===== tshark_wire_check: ${#failures[@]} problem(s) =====" >&2
  printf 'FAIL: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "tshark_wire_check: $(tshark --version 2>/dev/null | head -1): ${#suites[@]} suites, $encrypted SK payloads decrypted, all ICVs correct, no malformed packets"
