# Data-plane helpers for tests that move packets through tunnels (source after netns.sh).

# need_tun: skip (77) when this machine has no /dev/net/tun, the only reason a userspace
# data-plane test may not run.
need_tun() {
  [ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun is absent (load the tun module) — no userspace ESP tests"; exit 77; }
}

# ping_from NS SRC DST: three pings from inner address SRC to DST.
ping_from() {
  ip netns exec "$1" ping -n -q -c 3 -i 0.2 -W 2 -I "$2" "$3" >/dev/null 2>&1
}

# ping_ra_rb COUNT: COUNT pings 20 ms apart from NS_A, from 10.1.0.1 and from 10.1.1.1 to 10.2.0.1
# at once (through the connections ra and rb of the time_rekey_ping tests); waits for both, the
# summaries in $WORK/ping.ra and $WORK/ping.rb.
ping_ra_rb() {
  local p1 p2
  ip netns exec "$NS_A" ping -n -q -c "$1" -i 0.02 -W 2 -I 10.1.0.1 10.2.0.1 >"$WORK/ping.ra" 2>&1 &
  p1=$!
  ip netns exec "$NS_A" ping -n -q -c "$1" -i 0.02 -W 2 -I 10.1.1.1 10.2.0.1 >"$WORK/ping.rb" 2>&1 &
  p2=$!
  STARTED_PIDS+=($p1 $p2)
  wait $p1
  wait $p2
}

# iperf_transfer NS_SERVER SERVER_ADDR NS_CLIENT CLIENT_ADDR BYTES DIR: a TCP transfer of BYTES
# (iperf3 -n, e.g. 5M) from the client to the server; prints the receiver's Mbit/s. The server
# answers one client and exits; DIR keeps its output.
iperf_transfer() {
  local nss=$1 saddr=$2 nsc=$3 caddr=$4 n=$5 dir=$6
  ip netns exec "$nss" iperf3 -s -1 -B "$saddr" -p 5299 >"$dir/iperf-server.log" 2>&1 &
  local spid=$!
  STARTED_PIDS+=($spid)
  for _ in $(seq 1 50); do
    ip netns exec "$nss" ss -ltn 2>/dev/null | grep -q "$saddr:5299" && break
    sleep 0.1
  done
  ip netns exec "$nsc" timeout 60 iperf3 -c "$saddr" -B "$caddr" -p 5299 -n "$n" --json >"$dir/iperf-client.json" 2>&1 ||
    { kill "$spid" 2>/dev/null; return 1; }
  wait "$spid" 2>/dev/null
  jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$dir/iperf-client.json"
}

# child_counter NS DIR CONN FIELD: a counter of the newest IKE SA's first CHILD_SA of CONN.
child_counter() {
  aikectl_in "$1" "$2" list-sas --ike "$3" --json | jq -r ".[-1].children[0].$4"
}

# counters_agree SENT RECEIVED LOST: what one side sent is what the other received plus what the
# receiving namespace dropped for a full UDP receive buffer (a TCP burst can overflow a slow
# receiver's socket; TCP sends those packets again), nothing else. aiked's NAT-T socket takes UDP
# GRO, and a dropped GRO buffer of several ESP packets counts once in UdpRcvbufErrors: with drops,
# at least LOST packets are missing; without, none.
counters_agree() {
  if [ "$3" -eq 0 ]; then [ $(($1 - $2)) -eq 0 ]; else [ $(($1 - $2)) -ge "$3" ]; fi
}

# udp_rcvbuf_errors NS: UDP datagrams the namespace dropped so far for a full receive buffer.
udp_rcvbuf_errors() {
  ip netns exec "$1" nstat -az UdpRcvbufErrors 2>/dev/null | awk '$1 == "UdpRcvbufErrors" { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}
