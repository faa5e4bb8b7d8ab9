#!/usr/bin/env bash
# The control plane end to end: `aikectl monitor` streams events and log lines; a blocking
# terminate of many SAs prints progress and true counts; a control endpoint off loopback talks
# mutual TLS (a client without a certificate from control_ca is refused); garbage and clients that
# vanish mid-request change nothing; usage errors exit 2 and refusals 3.
set -u
AIKE_BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/aiked_conf.sh"
ns_setup ctl
A=$WORK/a
B=$WORK/b

side() {  # side NAME LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_NET REMOTE_NET EXTRA_DAEMON_LINES
  aiked_peer_daemon "$WORK/$1" "$2" '{ default = "info", ike = "info" }' "$8"
  aiked_psk_conn load "$2" "$3" "$4" "$5" 'unique = "never"'
  aiked_child load net "10.$6.0.0/24" "10.$7.0.0/24"
  aiked_psk_secret control-plane-secret "a.test b.test"
}

# TLS material for the control channel: a CA, the daemon's certificate, a client certificate,
# and a client certificate from another CA that must be refused.
mkdir -p "$WORK/pki" && cd "$WORK/pki" || fail "no pki folder"
mkca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=$1" >/dev/null 2>&1 || fail "openssl: cannot make CA $1"
}
mkcert() {  # mkcert NAME CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" \
    >/dev/null 2>&1 && openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -out "$1.pem" >/dev/null 2>&1 || fail "openssl: cannot make certificate $1"
}
mkca ctlca
mkca otherca
mkcert daemon ctlca
mkcert admin ctlca
mkcert stranger otherca
cd - >/dev/null || exit 1

# A's control endpoint is on its veth address (off loopback, so TLS), B's on 127.0.0.1:$(ctl_port).
CTL_A=10.250.0.1:$(ctl_port)
side a 10.250.0.1 10.250.0.2 a.test b.test 1 2 "control = \"$CTL_A\"
control_cert = \"$WORK/pki/daemon.pem\"
control_key = \"$WORK/pki/daemon.key\"
control_ca = \"$WORK/pki/ctlca.pem\"" >"$A/aiked.toml"
side b 10.250.0.2 10.250.0.1 b.test a.test 2 1 "" >"$B/aiked.toml"
aiked_start "$NS_B" "$B"
aiked_start "$NS_A" "$A"
grep -q "TLS, client certificates required" "$A/aiked.log" || fail "aiked A does not say its control endpoint uses TLS"

TLS=(--cert "$WORK/pki/admin.pem" --key "$WORK/pki/admin.key" --ca "$WORK/pki/ctlca.pem")
ctl_a() { aikectl_at "$NS_A" "$A" "tcp://$CTL_A" "${TLS[@]}" "$@"; }
ctl_b() { aikectl_in "$NS_B" "$B" "$@"; }

# --- TLS: the right client certificate works; none, or one from another CA, is refused.
out=$(ctl_a version) || fail "aikectl over TLS failed: $out"
echo "$out" | grep -q "^aiked " || fail "unexpected version output: $out"
aikectl_at "$NS_A" "$A" "tcp://$CTL_A" version >"$WORK/plain.out" 2>&1
rc=$?
[ $rc -eq 3 ] || fail "a client without TLS got exit code $rc (want 3): $(cat "$WORK/plain.out")"
aikectl_at "$NS_A" "$A" "tcp://$CTL_A" --cert "$WORK/pki/stranger.pem" --key "$WORK/pki/stranger.key" \
  --ca "$WORK/pki/ctlca.pem" version >"$WORK/stranger.out" 2>&1
rc=$?
[ $rc -eq 3 ] || fail "a client certificate from another CA got exit code $rc (want 3): $(cat "$WORK/stranger.out")"
kill -0 "$(cat "$A/aiked.pid")" || fail "aiked A died after refused TLS clients"
echo "ok: control over mutual TLS; a plain client and a foreign certificate are refused (exit 3)"

# --- usage errors are exit 2, on stderr
ctl_b terminate >"$WORK/usage.out" 2>"$WORK/usage.err"
rc=$?
[ $rc -eq 2 ] || fail "terminate without a selector: exit $rc, want 2"
[ -s "$WORK/usage.err" ] || fail "the usage error was not printed on stderr"
ctl_b list-sas --bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown flag must exit 2"
ctl_b monitor --no-events >/dev/null 2>&1
[ $? -eq 2 ] || fail "monitor --no-events without --log must exit 2"

# --- monitor: start one on B (events and info log lines, JSON) before any SA exists
# (aikectl itself, not through a function, so that $! is the monitor's own process)
ip netns exec "$NS_B" "$AIKECTL" --uri "tcp://127.0.0.1:$(ctl_port)" --token-file "$B/token" monitor --log info --json \
  >"$WORK/monitor.out" 2>&1 &
MON=$!
STARTED_PIDS+=($MON)
wait_until 10 grep -q "monitor connected" "$B/aiked.log" || fail "the monitor did not connect"

# --- garbage on the control port and a client that vanishes mid-request change nothing
ip netns exec "$NS_B" bash -c "head -c 4096 /dev/urandom >/dev/tcp/127.0.0.1/$(ctl_port)" 2>/dev/null
ip netns exec "$NS_B" bash -c "printf '\x00\x00\x00\x10garbage-garbage!' >/dev/tcp/127.0.0.1/$(ctl_port)" 2>/dev/null
ip netns exec "$NS_B" timeout -s KILL 0.05 "$AIKECTL" --uri "tcp://127.0.0.1:$(ctl_port)" --token-file "$B/token" list-sas >/dev/null 2>&1
ctl_b version >/dev/null || fail "aiked B stopped answering after garbage on its control port"

# --- 300 SAs, with progress lines (forced: stderr is not a terminal here)
N=300
out=$(ctl_a initiate --ike load --count $N --timeout 60 --progress 2>"$WORK/init.progress") ||
  fail "initiate --count $N failed: $out"
echo "$out" | grep -q "established $N / $N" || fail "initiate did not report $N / $N: $out"
wait_until 20 aikectl_jq "$NS_B" "$B" ".ike_sas_established == $N" stats ||
  fail "B does not see $N established SAs"

out=$(ctl_b terminate --all --timeout 60 --progress 2>"$WORK/term.progress") || fail "terminate --all failed: $out"
echo "$out" | grep -q "terminated $N / $N" || fail "terminate did not report $N / $N: $out"
# The first SA that ends (or comes up) is reported at once, then at most four lines a second.
grep -qE "^established [0-9,]+ / 300$" "$WORK/init.progress" || fail "no progress line during initiate"
grep -qE "^terminated [0-9,]+ / 300$" "$WORK/term.progress" || fail "no progress line during terminate"
a_has_no_sas() { ctl_a stats --json | jq -e '.ike_sas == 0' >/dev/null; }
wait_until 20 a_has_no_sas ||
  fail "A still has IKE SAs after B's terminate --all"
echo "ok: $N SAs up and terminated with true counts"

# --- the monitor saw the events and log lines, one JSON object per line
sleep 0.5
kill "$MON" 2>/dev/null
jq -e . "$WORK/monitor.out" >/dev/null 2>&1 || fail "monitor output is not JSON lines: $(head -3 "$WORK/monitor.out")"
logs=$(jq -r 'select(.event == "log") | .line' "$WORK/monitor.out" | grep -c "INFO")
[ "$logs" -gt 0 ] || fail "monitor --log info streamed no log lines"
ups=$(jq -r 'select(.event == "ike-up") | .id' "$WORK/monitor.out" | sort -u | wc -l)
downs=$(jq -r 'select(.event == "ike-down") | .id' "$WORK/monitor.out" | sort -u | wc -l)
echo "monitor: $ups ike-up, $downs ike-down, $logs log lines"
[ "$ups" -eq $N ] || fail "monitor saw $ups ike-up events, want $N"
[ "$downs" -eq $N ] || fail "monitor saw $downs ike-down events, want $N"
cups=$(jq -r 'select(.event == "child-up") | .child.id' "$WORK/monitor.out" | sort -u | wc -l)
[ "$cups" -eq $N ] || fail "monitor saw $cups child-up events, want $N"
kill -0 "$(cat "$B/aiked.pid")" || fail "aiked B died after its monitor went away"
ctl_b version >/dev/null || fail "aiked B stopped answering after its monitor went away"
echo "ok: monitor streamed every event and log lines as JSON"

aiked_stop "$A"
aiked_stop "$B"
echo "PASS"
