#!/usr/bin/env bash
# aikectl processes that share a process id are still answered.
#
# CAF 0.17 names a node by host and process id only. Process ids wrap on busy hosts (updown
# scripts start aikectl tens of thousands of times) and PID namespaces hand out the same ids at
# once; aiked then sent some answers down the wrong connection and the caller waited forever
# (the stress test lost 2 of 20,000 calls that way). Here four PID namespaces start every aikectl
# under the same process id (ns_last_pid), 4 x 200 calls in parallel; every call must be answered,
# and aiked must stop cleanly once it has forgotten those nodes.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/interop.sh"
ns_setup ctlnode
A=$WORK/a
command -v unshare >/dev/null || { echo "SKIP: needs unshare"; exit 77; }
unshare --pid --fork --mount-proc sh -c 'echo 499 >/proc/sys/kernel/ns_last_pid' 2>/dev/null ||
  { echo "SKIP: cannot set ns_last_pid in a new PID namespace"; exit 77; }

aiked_daemon_section "$A" >"$A/aiked.toml"
aiked_start "$NS_A" "$A"

# calls LOOP COUNT: COUNT calls of `aikectl stats`, each as process 500 of a new PID namespace.
cat >"$WORK/calls.sh" <<SCRIPT
#!/bin/sh
ok=0; lost=0; i=0
while [ \$i -lt \$2 ]; do
  i=\$((i + 1))
  echo 499 >/proc/sys/kernel/ns_last_pid
  if timeout 20 '$AIKECTL' --uri 'tcp://127.0.0.1:$(ctl_port)' --token-file '$A/token' stats >/dev/null 2>>'$WORK/errors'; then
    ok=\$((ok + 1))
  else
    lost=\$((lost + 1))
  fi
done
echo "\$1 \$ok \$lost"
SCRIPT
chmod 755 "$WORK/calls.sh"

loops=()
for l in 1 2 3 4; do
  ip netns exec "$NS_A" unshare --pid --fork --mount-proc "$WORK/calls.sh" "$l" 200 >"$WORK/loop.$l" &
  loops+=($!)
done
wait "${loops[@]}"
ok=0
lost=0
for l in 1 2 3 4; do
  read -r _ o n <"$WORK/loop.$l" || fail "loop $l did not report"
  ok=$((ok + o))
  lost=$((lost + n))
done
[ "$lost" = 0 ] || fail "$lost of $((ok + lost)) calls under one shared process id went unanswered within 20 s"
[ "$ok" = 800 ] || fail "only $ok of 800 calls answered"
kill -0 "$(cat "$A/aiked.pid")" || fail "aiked ended"
echo "ok: 800 aikectl calls from four PID namespaces under one process id, all answered"

# The control actor forgets departed aikectl nodes every 10 s (actors/control/departed_nodes);
# after such a sweep aiked must still stop cleanly on SIGTERM (it crashed in CAF's shutdown
# when the sweep left CAF's per-node helpers alive).
sleep 11
pid=$(cat "$A/aiked.pid")
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "aiked exited with status $rc on SIGTERM after forgetting departed nodes"
grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$A/aiked.log" && fail "sanitizer report in aiked.log"
echo "ok: aiked stopped cleanly after forgetting the departed aikectl nodes"
