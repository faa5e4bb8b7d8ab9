# Pieces of aiked TOML configurations for the script tests (source after netns.sh). Each function
# prints one table or a few; a test puts the pieces together into DIR/aiked.toml. Lists of
# addresses, selectors and proposals are given as words ("10.1.0.0/24 10.1.1.0/24") or as a TOML
# array ('["10.1.0.0/24", "10.1.1.0/24"]').

# toml_list WORDS: the words as a TOML array of strings, ["a", "b"]; a TOML array stays as it is.
toml_list() {
  local out="" w ws
  case $1 in "["*) echo "$1"; return ;; esac
  read -ra ws <<<"$1"
  for w in "${ws[@]}"; do out+="${out:+, }\"$w\""; done
  echo "[$out]"
}

# aiked_peer_daemon DIR LISTEN LOG [EXTRA]: the [daemon] table of an aiked <-> aiked test:
# kernel "null", control_token DIR/token, LOG the log table ('{ default = "info" }'), EXTRA more
# lines. The control endpoint is 127.0.0.1:$(ctl_port) (see netns.sh) unless EXTRA sets one.
aiked_peer_daemon() {
  local extra=${4:-}
  echo "[daemon]"
  echo "listen = [\"$2\"]"
  echo 'kernel = "null"'
  case $'\n'"$extra" in
    *$'\n'"control ="*) ;;
    *) echo "control = \"127.0.0.1:$(ctl_port)\"" ;;
  esac
  echo "control_token = \"$1/token\""
  echo "log = $3"
  [ -z "$extra" ] || echo "$extra"
}

# aiked_psk_secret SECRET [IDS]: the [secrets.psk] table (for the identities IDS, else for all).
aiked_psk_secret() {
  echo "[secrets.psk]"
  [ -z "${2:-}" ] || echo "ids = $(toml_list "$2")"
  echo "secret = \"$1\""
  echo
}

# aiked_psk_conn NAME LOCAL REMOTE LOCAL_ID REMOTE_ID [EXTRA] [PROPOSALS]: [connections.NAME]
# with PSK authentication both ways; EXTRA more lines for the connection's table, PROPOSALS the
# IKE proposals (default aes256gcm16-prfsha256-x25519). Children follow with aiked_child.
aiked_psk_conn() {
  cat <<CONF
[connections.$1]
local_addrs = $(toml_list "$2")
remote_addrs = $(toml_list "$3")
proposals = $(toml_list "${7:-aes256gcm16-prfsha256-x25519}")
${6:-}
[connections.$1.local]
auth = "psk"
id = "$4"
[connections.$1.remote]
auth = "psk"
id = "$5"
CONF
}

# aiked_child CONN CHILD LOCAL_TS REMOTE_TS [ESP] [EXTRA]: [connections.CONN.children.CHILD];
# ESP the ESP proposals (default aes256gcm16), EXTRA more lines (lifetimes).
aiked_child() {
  cat <<CONF
[connections.$1.children.$2]
local_ts = $(toml_list "$3")
remote_ts = $(toml_list "$4")
esp_proposals = $(toml_list "${5:-aes256gcm16}")
${6:-}

CONF
}

# aiked_pair_conf FUNC [ARGS...]: writes both configurations of an aiked <-> aiked test,
#   FUNC a 10.250.0.1 10.250.0.2 a.test b.test 1 2 [ARGS...] >$WORK/a/aiked.toml
#   FUNC b 10.250.0.2 10.250.0.1 b.test a.test 2 1 [ARGS...] >$WORK/b/aiked.toml
# (NAME LOCAL REMOTE LOCAL_ID REMOTE_ID, then the second octets of the local and remote networks).
aiked_pair_conf() {
  local f=$1
  shift
  "$f" a 10.250.0.1 10.250.0.2 a.test b.test 1 2 "$@" >"$WORK/a/aiked.toml"
  "$f" b 10.250.0.2 10.250.0.1 b.test a.test 2 1 "$@" >"$WORK/b/aiked.toml"
}

# aiked_pair_start: starts B's aiked, then A's (from $WORK/b and $WORK/a), and defines
# ctl_a / ctl_b ARGS... (aikectl against each).
aiked_pair_start() {
  aiked_start "$NS_B" "$WORK/b"
  aiked_start "$NS_A" "$WORK/a"
  ctl_a() { aikectl_in "$NS_A" "$WORK/a" "$@"; }
  ctl_b() { aikectl_in "$NS_B" "$WORK/b" "$@"; }
}
