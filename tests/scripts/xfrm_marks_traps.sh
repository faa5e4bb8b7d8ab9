#!/usr/bin/env bash
# kernel = "xfrm": XFRM marks and trap policies across reloads, read back with `ip xfrm policy`.
#  1. A CHILD_SA with mark_in = "0x10/0xff", mark_out = "0x20" and one with mark_in = mark_out =
#     "%unique": the in/fwd policies carry mark_in, the out policy mark_out; %unique gives the
#     CHILD_SA's reqid as mark value. (The kernel here has XFRM but no ESP: the SAs are refused,
#     the policies stay — which is all this test reads.)
#  2. `aikectl load` with a start_action = "trap" connection added (its trap policy appears),
#     changed (remote_ts: the old policy goes, the new one appears, the same reqid), removed (gone).
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup marks
A=$WORK/a
B=$WORK/b
ip -n "$NS_A" xfrm policy list >/dev/null 2>&1 || { echo "SKIP: no XFRM in this kernel"; exit 77; }

site() {  # site LOCAL REMOTE LOCAL_ID REMOTE_ID START NET_TS UNIQ_TS NET_EXTRA UNIQ_EXTRA (TS: "local|remote")
  aiked_psk_conn site "$1" "$2" "$3" "$4"
  aiked_child site net "${6%|*}" "${6#*|}" aes256gcm16 "start_action = \"$5\"
$8"
  aiked_child site uniq "${7%|*}" "${7#*|}" aes256gcm16 "start_action = \"$5\"
$9"
}
trapconn() {  # trapconn REMOTE_TS
  aiked_psk_conn lazy 10.250.0.1 10.250.0.2 a.test b.test
  aiked_child lazy t 10.1.5.0/24 "$1" aes256gcm16 'start_action = "trap"'
}
a_config() {  # a_config [EXTRA CONNECTION]
  aiked_daemon_section "$A" | sed -e 's/^kernel = "null"/kernel = "xfrm"/'
  printf '[secrets.psk]\nsecret = "marks-secret"\n\n'
  site 10.250.0.1 10.250.0.2 a.test b.test start "10.1.0.0/24|10.2.0.0/24" "10.1.1.0/24|10.2.0.0/24" 'mark_in = "0x10/0xff"
mark_out = "0x20"' 'mark_in = "%unique"
mark_out = "%unique"'
  echo "${1:-}"
}
a_config >"$A/aiked.toml"
{ aiked_daemon_section "$B" | sed -e 's/^listen = .*/listen = ["10.250.0.2"]/'
  printf '[secrets.psk]\nsecret = "marks-secret"\n\n'
  site 10.250.0.2 10.250.0.1 b.test a.test none "10.2.0.0/24|10.1.0.0/24" "10.2.0.0/24|10.1.1.0/24" '' ''; } >"$B/aiked.toml"

aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"

# policy_lines SRC DST: "DIR MARK/MASK REQID PRIORITY" of each of A's policies with that selector
# (MARK "-" when it has none).
policy_lines() {
  ip -n "$NS_A" xfrm policy list | awk -v sel="src $1 dst $2" '
    function flush() { if (on) print dir, (mark == "" ? "-" : mark), reqid, prio; on = 0; dir = mark = reqid = prio = "" }
    /^src / { flush(); on = (index($0, sel) == 1); next }
    on && /dir / { for (i = 1; i <= NF; i++) { if ($i == "dir") dir = $(i+1); if ($i == "priority") prio = $(i+1) } }
    on && /^\tmark / { mark = $2 }
    on && /reqid/ { for (i = 1; i <= NF; i++) if ($i == "reqid") reqid = $(i+1) }
    END { flush() }' | sort
}
count_lines() { [ "$(policy_lines "$1" "$2" | wc -l)" = "$3" ]; }

# --- 1. marks ---
wait_until 15 count_lines 10.2.0.0/24 10.1.0.0/24 2 || fail "net: no in/fwd policies: $(ip -n "$NS_A" xfrm policy)"
wait_until 15 count_lines 10.2.0.0/24 10.1.1.0/24 2 || fail "uniq: no in/fwd policies: $(ip -n "$NS_A" xfrm policy)"
net=$(policy_lines 10.1.0.0/24 10.2.0.0/24; policy_lines 10.2.0.0/24 10.1.0.0/24)
echo "$net" | grep -q "^out 0x20/0xffffffff " || fail "net: out policy without mark 0x20/0xffffffff: $net"
echo "$net" | grep -q "^in 0x10/0xff " || fail "net: in policy without mark 0x10/0xff: $net"
echo "$net" | grep -q "^fwd 0x10/0xff " || fail "net: fwd policy without mark 0x10/0xff: $net"
echo "ok: net's policies carry their direction's mark (in/fwd 0x10/0xff, out 0x20/0xffffffff)"
uniq=$(policy_lines 10.1.1.0/24 10.2.0.0/24; policy_lines 10.2.0.0/24 10.1.1.0/24)
[ "$(echo "$net" | wc -l)" = 3 ] || fail "net: not 3 policies: $net"
[ "$(echo "$uniq" | wc -l)" = 3 ] || fail "uniq: not 3 policies: $uniq"
while read -r dir mark reqid prio; do
  [ "$mark" = "$(printf '0x%x/0xffffffff' "$reqid")" ] || fail "uniq: $dir policy mark $mark is not its reqid $reqid"
done <<<"$uniq"
[ "$(echo "$uniq" | awk '{print $3}' | sort -u | wc -l)" = 1 ] || fail "uniq: policies with different reqids: $uniq"
[ "$(echo "$uniq" | awk '{print $3}' | head -1)" != "$(echo "$net" | awk '{print $3}' | head -1)" ] ||
  fail "uniq and net share a reqid"
echo "ok: %unique gives uniq's policies its reqid as mark ($(echo "$uniq" | head -1 | awk '{print $2}'))"

# --- SPIs reserved by the kernel (XFRM_MSG_ALLOCSPI) for A's address, refilled after use ---
grep -q "inbound SPIs for 10.250.0.1 are reserved by the kernel (XFRM_MSG_ALLOCSPI), 8 ahead" "$A/aiked.log" ||
  fail "no ALLOCSPI pool line in A's log"
larval() { ip -n "$NS_A" xfrm state list | grep -c "^src 0.0.0.0 dst 10.250.0.1"; }
wait_until 5 test "$(larval)" = 8 || fail "not 8 reserved SPIs in A's SAD: $(ip -n "$NS_A" xfrm state)"
echo "ok: the kernel holds 8 SPIs reserved for 10.250.0.1 (larval states from ALLOCSPI), refilled after the CHILD_SAs took theirs"

# --- 2. trap policies follow reloads ---
trap_line() { policy_lines 10.1.5.0/24 "$1"; }
a_config "$(trapconn 10.2.5.0/24)" >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load) || fail "load (add) exited $?: $out"
wait_until 5 count_lines 10.1.5.0/24 10.2.5.0/24 1 || fail "no trap policy after load (add): $(ip -n "$NS_A" xfrm policy)"
read -r dir mark reqid prio <<<"$(trap_line 10.2.5.0/24)"
[ "$dir" = out ] && [ "$prio" -ge 1516384 ] && [ "$prio" -lt 1565536 ] || fail "trap policy not in the trap band: $dir $prio"
echo "ok: load added the trap policy (out 10.1.5.0/24 -> 10.2.5.0/24, priority $prio, reqid $reqid)"
before=$(policy_lines 10.1.0.0/24 10.2.0.0/24)

a_config "$(trapconn 10.2.6.0/24)" >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load) || fail "load (change) exited $?: $out"
wait_until 5 count_lines 10.1.5.0/24 10.2.6.0/24 1 || fail "no new trap policy after load (change): $(ip -n "$NS_A" xfrm policy)"
count_lines 10.1.5.0/24 10.2.5.0/24 0 || fail "the old trap policy stayed: $(ip -n "$NS_A" xfrm policy)"
read -r _ _ reqid2 _ <<<"$(trap_line 10.2.6.0/24)"
[ "$reqid2" = "$reqid" ] || fail "the changed trap got reqid $reqid2, not its own $reqid"
grep -q "trap lazy/t changed by a reload: replacing its policies (reqid $reqid)" "$A/aiked.log" || fail "no log line for the change"
echo "ok: load with other remote_ts replaced the trap policy (10.2.5.0/24 -> 10.2.6.0/24, reqid $reqid kept)"

a_config >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load) || fail "load (remove) exited $?: $out"
wait_until 5 count_lines 10.1.5.0/24 10.2.6.0/24 0 || fail "the trap policy stayed after load (remove): $(ip -n "$NS_A" xfrm policy)"
grep -q "trap lazy/t is gone after a reload: removing its policies (reqid $reqid)" "$A/aiked.log" || fail "no log line for the removal"
[ "$(policy_lines 10.1.0.0/24 10.2.0.0/24)" = "$before" ] || fail "the reloads changed net's policies"
echo "ok: load without the connection removed its trap policy; the marked CHILD_SA policies are untouched"

aiked_stop "$A"
[ -z "$(ip -n "$NS_A" xfrm policy list | grep -E 'priority 15[0-6][0-9]{4}')" ] ||
  fail "aike policies left after a clean stop: $(ip -n "$NS_A" xfrm policy)"
echo "ok: a clean stop removes every marked policy"
aiked_stop "$B"
echo "xfrm_marks_traps: all passed"
