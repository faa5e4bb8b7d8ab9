#!/usr/bin/env bash
# Configuration reload between two aiked (A initiates, B responds), `aikectl load` and SIGHUP:
# a connection added by a reload comes up by itself (start_action = "start"); a connection
# removed by a reload takes its established SA down on both sides (the DELETE reached B); a
# configuration with an error is refused with exit code 1, names file:line:column and the key,
# and changes neither the connections nor the SAs; settings that need a restart are named and
# kept; SIGHUP reloads the daemon's own file the same way.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }
ns_setup reload
A=$WORK/a
B=$WORK/b

# conn NAME CHILD [EXTRA CHILD LINES]: a PSK connection of A to B.
conn() {
  aiked_psk_conn "$1" 10.250.0.1 10.250.0.2 a.test b.test 'unique = "never"'
  aiked_child "$1" "$2" 10.1.0.0/24 10.2.0.0/24 aes256gcm16 "${3:-}"
}
a_config() {  # a_config CONN-DEFINITIONS...: A's whole file
  aiked_daemon_section "$A"
  aiked_psk_secret reload-secret
  for c in "$@"; do echo "$c"; done
}

# B: responds to A on one connection, keeps every SA (unique = "never").
{
  aiked_peer_daemon "$B" 10.250.0.2 '{ default = "info", ike = "debug" }'
  aiked_psk_secret reload-secret
  aiked_psk_conn fromA 10.250.0.2 10.250.0.1 b.test a.test 'unique = "never"'
  aiked_child fromA net 10.2.0.0/24 10.1.0.0/24
} >"$B/aiked.toml"
aiked_start "$NS_B" "$B"

a_config "$(conn base net)" >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

count_a() { aikectl_in "$NS_A" "$A" list-sas --ike "$1" --json | jq '[.[] | select(.state == "ESTABLISHED")] | length'; }
count_b() { aikectl_in "$NS_B" "$B" list-sas --json | jq '[.[] | select(.state == "ESTABLISHED")] | length'; }
a_has() { [ "$(count_a "$1")" = "$2" ]; }
b_has() { [ "$(count_b)" = "$1" ]; }
spis_a() { aikectl_in "$NS_A" "$A" list-sas --json | jq -c '[.[] | .local_spi] | sort'; }
spis_b() { aikectl_in "$NS_B" "$B" list-sas --json | jq -c '[.[] | .remote_spi] | sort'; }
conns_a() { aikectl_in "$NS_A" "$A" list-conns --json | jq -c '[.[] | .name]'; }

# 0. An SA of the connection A started with.
aikectl_in "$NS_A" "$A" initiate --ike base --timeout 10 >/dev/null || fail "initiate base"
b_has 1 || fail "B has no SA after A initiated"

# 1. Add a connection by reload: its start_action = "start" child comes up by itself.
a_config "$(conn base net)" "$(conn added anet 'start_action = "start"')" >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load) || fail "load (add) exited $?: $out"
grep -q "1 added, 0 removed, 0 changed, 1 unchanged" <<<"$out" || fail "load (add) output: $out"
grep -q "initiating: added/anet" <<<"$out" || fail "load (add) does not say it initiates added/anet: $out"
[ "$(conns_a)" = '["base","added"]' ] || fail "list-conns after adding: $(conns_a)"
wait_until 10 a_has added 1 || { aikectl_in "$NS_A" "$A" stats; aikectl_in "$NS_B" "$B" stats; fail "the added connection did not come up"; }
wait_until 5 b_has 2 || fail "B does not have the added connection's SA"
a_has base 1 || fail "the SA of the unchanged connection is gone"
echo "ok: a connection added by reload comes up (start_action = start); the existing SA stays"

# 2. Change a connection: its SA stays (it keeps the sa::connection it was made with).
a_config "$(conn base net 'mode = "transport"')" "$(conn added anet 'start_action = "start"')" >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load --json) || fail "load (change) exited $?: $out"
[ "$(jq -c .changed <<<"$out")" = '["base"]' ] || fail "load (change): $out"
[ "$(jq -c .initiated <<<"$out")" = '[]' ] || fail "a changed connection was started again: $out"
[ "$(jq .sas_matched <<<"$out")" = 0 ] || fail "load (change) deleted SAs: $out"
a_has base 1 || fail "the SA of the changed connection is gone"
echo "ok: a changed connection keeps its SA"

# 3. Remove the connection with an established SA: DELETE sent, the SA gone on both sides.
base_spi=$(aikectl_in "$NS_A" "$A" list-sas --ike base --json | jq -r '.[0].local_spi')
added_spi=$(aikectl_in "$NS_A" "$A" list-sas --ike added --json | jq -r '.[0].local_spi')
a_config "$(conn added anet 'start_action = "start"')" >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load --json) || fail "load (remove) exited $?: $out"
[ "$(jq -c .removed <<<"$out")" = '["base"]' ] || fail "load (remove): $out"
[ "$(jq .sas_matched <<<"$out")" = 1 ] && [ "$(jq .sas_deleted <<<"$out")" = 1 ] || fail "load (remove) counts: $out"
[ "$(count_a base)" = 0 ] || fail "A still lists the removed connection's SA"
wait_until 5 b_has 1 || fail "B still has the removed connection's SA (no DELETE arrived)"
[ "$(spis_b)" = "[\"$added_spi\"]" ] || fail "B kept the wrong SA: $(spis_b), expected $added_spi (removed $base_spi)"
grep -q "connection 'base' was removed by a reload" "$A/aiked.log" || fail "no log line for the removed connection"
[ "$(conns_a)" = '["added"]' ] || fail "list-conns after removing: $(conns_a)"
out=$(aikectl_in "$NS_A" "$A" initiate --ike base 2>&1) && fail "a removed connection can still be initiated: $out"
echo "ok: removing a connection by reload deletes its SA on both sides"

# 4. A configuration with an error changes nothing and names file:line:column and the key.
conns_before=$(aikectl_in "$NS_A" "$A" list-conns --json)
spis_before=$(spis_a)
a_config "$(conn added anet 'start_action = "start"')" "$(conn broken bnet)" >"$WORK/bad.toml"
line=$(grep -n '^proposals' "$WORK/bad.toml" | tail -1 | cut -d: -f1)
sed -i "${line}s/.*/proposals = [\"aes257-sha256-modp2048\"]/" "$WORK/bad.toml"
(cd "$WORK" && aikectl_in "$NS_A" "$A" load --file bad.toml >"$WORK/bad.out" 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "load of a broken file exited $rc, expected 1: $(cat "$WORK/bad.out")"
grep -q "^$WORK/bad.toml:$line:[0-9]*: connections.broken.proposals: " "$WORK/bad.out" ||
  fail "the problem does not name file:line:column and key: $(cat "$WORK/bad.out")"
grep -q "nothing was changed" "$WORK/bad.out" || fail "no 'nothing was changed': $(cat "$WORK/bad.out")"
[ "$(aikectl_in "$NS_A" "$A" list-conns --json)" = "$conns_before" ] || fail "list-conns changed after a refused load"
[ "$(spis_a)" = "$spis_before" ] || fail "SAs changed after a refused load: $(spis_a) vs $spis_before"
out=$(aikectl_in "$NS_A" "$A" load --file "$WORK/bad.toml" --json)
[ "$(jq -r '.problems[0].key' <<<"$out")" = connections.broken.proposals ] || fail "JSON problems: $out"
[ "$(jq -r '.problems[0].line' <<<"$out")" = "$line" ] || fail "JSON problem line: $out"
out=$(aikectl_in "$NS_A" "$A" load --file "$WORK/missing.toml" 2>&1)
[ $? = 1 ] && grep -q "missing.toml" <<<"$out" || fail "load of a missing file: $out"
echo "ok: a broken configuration is refused with exit 1 ($(head -1 "$WORK/bad.out"))"

# 5. Settings that need a restart keep their running values and are named.
a_config "$(conn added anet 'start_action = "start"')" | sed 's/^\[daemon\]$/[daemon]\nworkers = 7/' >"$A/aiked.toml"
out=$(aikectl_in "$NS_A" "$A" load) || fail "load (workers) exited $?: $out"
grep -q "^warning: daemon.workers: changed in the file but takes effect only after a restart" <<<"$out" ||
  fail "no restart warning: $out"
grep -q "WARN.*reload: daemon.workers" "$A/aiked.log" || fail "the restart warning is not logged"
echo "ok: a setting that needs a restart is named and kept"

# 6. SIGHUP: the daemon's own file, the same way; a broken file is refused and logged.
a_config "$(conn added anet 'start_action = "start"')" "$(conn hup hnet)" >"$A/aiked.toml"
kill -HUP "$(cat "$A/aiked.pid")"
conns_has_hup() { [ "$(conns_a)" = '["added","hup"]' ]; }
wait_until 5 conns_has_hup || fail "SIGHUP did not load the new file: $(conns_a)"
wait_until 5 grep -q "reloaded $A/aiked.toml" "$A/aiked.log" || fail "no reload log line after SIGHUP"
echo 'oops = 1' >>"$A/aiked.toml"
kill -HUP "$(cat "$A/aiked.pid")"
wait_until 5 grep -q "reload of $A/aiked.toml refused" "$A/aiked.log" || fail "a broken file on SIGHUP is not logged"
grep -q "aiked.toml:[0-9]*:[0-9]*: connections.hup.children.hnet.oops: " "$A/aiked.log" || fail "the SIGHUP problem does not name the key"
conns_has_hup || fail "a broken file on SIGHUP changed the connections: $(conns_a)"
a_has added 1 || fail "a broken file on SIGHUP touched the SAs"
echo "ok: SIGHUP reloads the daemon's file; a broken one changes nothing"

aiked_stop "$A"
aiked_stop "$B"
echo "reload: all passed"
