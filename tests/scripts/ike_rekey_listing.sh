#!/usr/bin/env bash
# list-sas shows the old IKE SA of a rekey while it waits for its DELETE exchange (aiked <->
# aiked, kernel = "null"). An nftables rule in B's namespace drops INFORMATIONAL requests, so
# A's DELETE of the old SA after `rekey --ike-id` does not get through: meanwhile A lists the old
# SA under `retiring` as DELETING (its DELETE is out), B as REKEYED (waiting for it), both with
# the old SPIs, in JSON and text, while the IKE SA itself shows the new SPIs and stats still
# count one IKE SA. Once the rule is gone, A's retransmission completes the DELETE and both
# lists are empty again.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
command -v jq >/dev/null || { echo "SKIP: jq is missing"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft (Debian package nftables) is missing"; exit 77; }
ns_setup ikelist
A=$WORK/a
B=$WORK/b

config() {  # config DIR LISTEN REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
  aiked_daemon_section "$1" "$2" | sed -e 's/^timeout = .*/timeout = "3s"/'
  aiked_psk_secret ike-rekey-listing-secret
  aiked_psk_conn site "$2" "$3" "$4" "$5"
  aiked_child site net "$6" "$7"
}
config "$A" 10.250.0.1 10.250.0.2 a.test b.test 10.1.0.0/24 10.2.0.0/24 >"$A/aiked.toml"
config "$B" 10.250.0.2 10.250.0.1 b.test a.test 10.2.0.0/24 10.1.0.0/24 >"$B/aiked.toml"
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
ctl_a() { aikectl_in "$NS_A" "$A" "$@"; }
ctl_b() { aikectl_in "$NS_B" "$B" "$@"; }
out=$(ctl_a initiate --child net --timeout 10 2>&1) || fail "initiate: $out"
wait_until 10 aikectl_jq "$NS_B" "$B" 'length == 1' list-sas ||
  fail "B lists no IKE SA"
for s in a b; do
  [ "$(ctl_$s list-sas --json | jq -c '.[0].retiring')" = "[]" ] || fail "$s: retiring is not [] before any rekey"
done
old_a=$(ctl_a list-sas --json | jq -r '.[0].local_spi')
old_b=$(ctl_b list-sas --json | jq -r '.[0].local_spi')

# Drop INFORMATIONAL requests to B: exchange type 37 at octet 18 of the IKE header (UDP port
# 500, so it starts right after the 8-octet UDP header), the response flag (0x20, octet 19) clear.
ip netns exec "$NS_B" nft -f - <<'NFT' || fail "cannot install the nftables rule"
table inet aike_ikelist {
  chain input {
    type filter hook input priority 0;
    udp dport 500 @th,208,8 37 @th,216,8 & 0x20 == 0 counter drop
  }
}
NFT
out=$(ctl_a rekey --ike-id "$(ctl_a list-sas --json | jq '.[0].id')" --noblock 2>&1) || fail "rekey --ike-id: $out"
retiring() { [ "$(aikectl_in "$1" "$2" list-sas --json | jq '.[0].retiring | length')" = 1 ]; }
wait_until 5 retiring "$NS_A" "$A" || fail "A never listed the old IKE SA as retiring: $(ctl_a list-sas --json | jq -c '.[0]')"
wait_until 5 retiring "$NS_B" "$B" || fail "B never listed the old IKE SA as retiring: $(ctl_b list-sas --json | jq -c '.[0]')"
ja=$(ctl_a list-sas --json)
jb=$(ctl_b list-sas --json)
ta=$(ctl_a list-sas)
dropped=$(ip netns exec "$NS_B" nft list chain inet aike_ikelist input | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
ip netns exec "$NS_B" nft delete table inet aike_ikelist
echo "while the DELETE was held back ($dropped request(s) dropped): A $(jq -c '.[0].retiring' <<<"$ja"), B $(jq -c '.[0].retiring' <<<"$jb")"
[ "${dropped:-0}" -ge 1 ] || fail "the nftables rule dropped nothing"
jq -e --arg a "$old_a" --arg b "$old_b" '.[0].retiring == [{"local_spi": $a, "remote_spi": $b, "state": "DELETING", "kind": "old"}]' <<<"$ja" >/dev/null ||
  fail "A's retiring entry: $(jq -c '.[0].retiring' <<<"$ja"), want the old SPIs $old_a/$old_b, DELETING"
jq -e --arg a "$old_a" --arg b "$old_b" '.[0].retiring == [{"local_spi": $b, "remote_spi": $a, "state": "REKEYED", "kind": "old"}]' <<<"$jb" >/dev/null ||
  fail "B's retiring entry: $(jq -c '.[0].retiring' <<<"$jb"), want the old SPIs $old_b/$old_a, REKEYED"
[ "$(jq -r '.[0].local_spi' <<<"$ja")" != "$old_a" ] || fail "A's IKE SA still shows the old SPI"
[ "$(jq -r '.[0].local_spi' <<<"$jb")" != "$old_b" ] || fail "B's IKE SA still shows the old SPI"
grep -qx "  old IKE SA $old_a\* $old_b, DELETING" <<<"$ta" || fail "A's text listing has no line for the old IKE SA: $ta"
[ "$(ctl_a stats --json | jq .ike_sas)" = 1 ] || fail "stats counts the old IKE SA as an IKE SA of its own"
[ "$(jq length <<<"$ja")" = 1 ] || fail "A lists $(jq length <<<"$ja") IKE SAs"
echo "ok: the old IKE SA is listed as retiring on both sides until its DELETE completes"

for s in a b; do
  wait_until 10 aikectl_jq "$([ $s = a ] && echo "$NS_A" || echo "$NS_B")" "$WORK/$s" '.[0].retiring == []' list-sas || fail "$s still lists a retiring IKE SA after the DELETE went through"
done
grep -q "old IKE SA .* gone: deleted by peer" "$B/aiked.log" || fail "B's old SA did not go by A's DELETE"
echo "ok: the retransmitted DELETE went through; nothing retiring is listed any more"
aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
