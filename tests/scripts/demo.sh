#!/usr/bin/env bash
# The README's first command, run non-interactively against this build (packages are already
# installed by the test command): every step of the demo must succeed.
set -uo pipefail
build=${1:?usage: demo.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: the demo needs root for network namespaces"; exit 77; fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$root/scripts/demo" --no-setup --build-dir "$build" >"$out" 2>&1; then
  cat "$out"
  echo "FAIL: the demo failed" >&2
  exit 1
fi
cat "$out"
for expect in "engine self-check" "ESTABLISHED" "INSTALLED" " 0% packet loss" "3 packets" "set up in" "terminated in" "demo done"; do
  grep -q "$expect" "$out" || { echo "FAIL: the demo's output lacks '$expect'" >&2; exit 1; }
done
echo "PASS: demo"
