# Interop helpers on top of netns.sh: aiked config boilerplate and SA comparison with charon.
# Brings lib/aiked_conf.sh (the pieces of aiked configurations) along.
. "$(dirname "${BASH_SOURCE[0]}")/aiked_conf.sh"

# aiked_daemon_section DIR [LISTEN] [KERNEL]: the [daemon] table every interop config starts with
# (LISTEN 10.250.0.1 and KERNEL "null" unless given). The control endpoint is
# 127.0.0.1:$(ctl_port) (4510 unless AIKE_CONTROL_PORT says otherwise).
aiked_daemon_section() {
  local dir=$1
  cat <<CONF
[daemon]
listen = ["${2:-10.250.0.1}"]
kernel = "${3:-null}"
control = "127.0.0.1:$(ctl_port)"
control_token = "$dir/token"
log = { default = "info", ike = "debug" }
[daemon.retransmit]
timeout = "1s"
base = 1.5
tries = 2

CONF
}

# charon_sa_field DIR IKE_NAME FIELD: a field of charon's IKE SA (from swanctl --list-sas --raw).
charon_sas_json() {
  swanctl_in "$1" --list-sas --raw 2>/dev/null
}

# expect_same_sas NS_A DIR_A DIR_B AIKE_CONN PROPOSAL [CHARON_CONN]: the newest aiked SA of
# AIKE_CONN and charon's SA show the same IKE SPIs and CHILD_SA SPIs, both ESTABLISHED/INSTALLED.
expect_same_sas() {
  local ns=$1 da=$2 db=$3 conn=$4 prop=$5 cconn=${6:-resp}
  local a
  a=$(aikectl_in "$ns" "$da" list-sas --ike "$conn" --json) || fail "list-sas failed"
  local state lspi rspi cin cout cstate aprop
  state=$(jq -r '.[-1].state' <<<"$a")
  lspi=$(jq -r '.[-1].local_spi' <<<"$a")
  rspi=$(jq -r '.[-1].remote_spi' <<<"$a")
  aprop=$(jq -r '.[-1].proposal' <<<"$a")
  cin=$(jq -r '.[-1].children[0].spi_in' <<<"$a")
  cout=$(jq -r '.[-1].children[0].spi_out' <<<"$a")
  cstate=$(jq -r '.[-1].children[0].state' <<<"$a")
  [ "$state" = ESTABLISHED ] || fail "$conn: aiked state $state"
  [ "$cstate" = INSTALLED ] || fail "$conn: aiked CHILD_SA state $cstate"
  [ "$aprop" = "$prop" ] || fail "$conn: negotiated '$aprop', expected '$prop'"
  local raw
  raw=$(swanctl_in "$db" --list-sas --ike "$cconn" --raw 2>&1)
  grep -q "$lspi" <<<"$raw" || fail "charon does not show IKE SPI $lspi: $raw"
  grep -q "$rspi" <<<"$raw" || fail "charon does not show IKE SPI $rspi: $raw"
  grep -q "spi-in=$cout" <<<"$raw" || fail "charon's inbound SPI is not aiked's outbound $cout: $raw"
  grep -q "spi-out=$cin" <<<"$raw" || fail "charon's outbound SPI is not aiked's inbound $cin: $raw"
  grep -q "state=ESTABLISHED" <<<"$raw" || fail "charon's IKE SA is not ESTABLISHED: $raw"
  grep -q "state=INSTALLED" <<<"$raw" || fail "charon's CHILD_SA is not INSTALLED: $raw"
}

# initiate_expect_same NAME...: aiked (in NS_A, $WORK/a) initiates the CHILD_SA NAME of its
# connection NAME to charon ($WORK/b, connection NAME), and expect_same_sas checks both sides.
initiate_expect_same() {
  local name out
  for name in "$@"; do
    out=$(aikectl_in "$NS_A" "$WORK/a" initiate --child "$name" --timeout 10) || fail "aiked -> charon $name: $out"
    expect_same_sas "$NS_A" "$WORK/a" "$WORK/b" "$name" "aes256gcm16-prfsha256-x25519" "$name"
  done
}

# swanctl_psk_conn NAME LOCAL_ID REMOTE_ID CHILD LOCAL_TS REMOTE_TS [ESP] [EXTRA] [CHILD_EXTRA]
#   [PROPOSALS]: one charon connection (B, 10.250.0.2, to A, 10.250.0.1) for the connections { }
# section of swanctl.conf, PSK both ways, one child; TS comma-separated as swanctl takes them, ESP
# default aes256gcm16, EXTRA / CHILD_EXTRA more settings (lines) of the connection / the child,
# PROPOSALS default aes256gcm16-prfsha256-x25519.
swanctl_psk_conn() {
  cat <<CONF
  $1 { local_addrs = 10.250.0.2
       remote_addrs = 10.250.0.1
       proposals = ${10:-aes256gcm16-prfsha256-x25519}
       ${8:-}
       local { auth = psk
               id = $2 }
       remote { auth = psk
                id = $3 }
       children { $4 { local_ts = $5
                       remote_ts = $6
                       esp_proposals = ${7:-aes256gcm16}
                       ${9:-} } } }
CONF
}

# swanctl_psk_secret SECRET: the secrets { } section of swanctl.conf with one PSK.
swanctl_psk_secret() {
  echo "secrets { ike-1 { secret = $1 } }"
}
