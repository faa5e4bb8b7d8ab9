# Command line of the daemon benchmarks (bench/daemon_vs_charon.sh, bench/rekey_bench.sh). Sourced.

# bench_options HELP_LINES DEFAULT_NS ARGS...: parses -b, --charon-max, --no-charon, --no-aiked,
# --max-half-open, --perf, -h (prints lines HELP_LINES of $0, a sed range such as 2,29) and the
# numbers of SAs (DEFAULT_NS, words, when none is given) into BUILD, CHARON_MAX, NO_CHARON,
# NO_AIKED, MAX_HALF_OPEN, PERF_DIR and NS_LIST; then checks for root and the programs and sets
# AIKED, AIKECTL, VICI and CHARON. Exits 2 on a bad argument or a missing program.
bench_options() {
  local help=$1 defaults=$2 f
  shift 2
  BUILD=build
  CHARON_MAX=
  PERF_DIR=
  NO_CHARON=
  NO_AIKED=
  MAX_HALF_OPEN=1000
  NS_LIST=()
  while [ $# -gt 0 ]; do
    case $1 in
      -b) BUILD=$2; shift 2 ;;
      --charon-max) CHARON_MAX=$2; shift 2 ;;
      --no-charon) NO_CHARON=1; shift ;;
      --no-aiked) NO_AIKED=1; shift ;;
      --max-half-open) [[ $2 =~ ^[0-9]+$ ]] || { echo "--max-half-open needs a number" >&2; exit 2; }
                       MAX_HALF_OPEN=$2; shift 2 ;;
      --perf) PERF_DIR=$(mkdir -p "$2" && cd "$2" && pwd) || exit 2; shift 2 ;;
      -h|--help) sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      -*) echo "unknown option $1" >&2; exit 2 ;;
      *) [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ] || { echo "not a number of SAs: $1" >&2; exit 2; }
         NS_LIST+=("$1"); shift ;;
    esac
  done
  # shellcheck disable=SC2206  # the defaults are words
  [ ${#NS_LIST[@]} -gt 0 ] || NS_LIST=($defaults)
  BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build directory" >&2; exit 2; }
  AIKED=$BUILD/aiked
  AIKECTL=$BUILD/aikectl
  VICI=$BUILD/bench/vici_load
  CHARON=/usr/lib/ipsec/charon
  for f in "$AIKED" "$AIKECTL"; do [ -x "$f" ] || { echo "missing $f (build it first)" >&2; exit 2; }; done
  [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
  if [ -z "$NO_CHARON" ]; then
    for f in "$VICI" "$CHARON" "$(command -v swanctl)"; do
      [ -x "$f" ] || { echo "missing $f (use --no-charon to run aiked alone)" >&2; exit 2; }
    done
  fi
}
